"""Which files an import reads, and what it says about the rest: paths as given, folders
searched by content (a C-CDA named .txt is found, a scan is not taken for a record), missing
paths and folders with nothing to import reported instead of passed over."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phr_desktop.services.import_prepare import skip_reason
from phr_desktop.services.person import PersonCheck
from phr_desktop.vault.write_types import WriteCounts


@dataclass
class FileOutcome:
    path: str
    # imported, unchanged, failed, skipped (a file in a folder that is no record), or
    # other_person (held: it is, or may be, someone else's; nothing was stored)
    status: str
    counts: WriteCounts | None = None
    error: str | None = None  # why it failed, was skipped or was held
    person: PersonCheck | None = None  # why an other_person file was held

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "status": self.status}
        if self.counts:
            out["counts"] = self.counts.as_dict()
        if self.error:
            out["reason" if self.status == "skipped" else "error"] = self.error
        if self.person is not None and self.status == "other_person":
            out.update(self.person.as_dict())
        return out


@dataclass
class ImportPlan:
    # In the order given: a file to read, or what is said instead of reading one (a missing
    # path, a file in a folder that holds no records, a folder where nothing was found).
    steps: list[Path | FileOutcome] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        return [step for step in self.steps if isinstance(step, Path)]

    @property
    def notes(self) -> list[FileOutcome]:
        return [step for step in self.steps if isinstance(step, FileOutcome)]


def plan_import(paths: Sequence[Path]) -> ImportPlan:
    """Files as given, and the FHIR JSON and C-CDA files inside folders (recursively, in name
    order, told by their content); what is left out is said, with why."""
    plan = ImportPlan()
    for path in paths:
        if path.is_dir():
            found = scan_folder(path)
            plan.steps.extend(found.steps)
            if not found.files:
                others = f" ({len(found.notes)} other file(s) skipped)" if found.notes else ""
                plan.steps.append(
                    FileOutcome(
                        str(path),
                        "failed",
                        error=f"Nothing to import was found in {path}: it holds no FHIR JSON "
                        f"or C-CDA file{others}.",
                    )
                )
        elif not path.exists():
            plan.steps.append(
                FileOutcome(
                    str(path), "failed", error=f"{path} does not exist; check its name and folder."
                )
            )
        elif not path.is_file():  # a device or a pipe: /dev/zero would be read forever
            plan.steps.append(
                FileOutcome(
                    str(path), "failed", error=f"{path} is not a regular file; nothing was read."
                )
            )
        else:
            plan.steps.append(path)
    return plan


def scan_folder(folder: Path) -> ImportPlan:
    found = ImportPlan()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        reason = skip_reason(path)
        found.steps.append(
            path if reason is None else FileOutcome(str(path), "skipped", error=reason)
        )
    return found
