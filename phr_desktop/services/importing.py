"""Import FHIR files into a profile: every file is committed whole or not at all (small files
several to a transaction, `import_commits`), so a crash never leaves part of a file.

Every file received is kept byte for byte, also when it cannot be parsed; its resources are kept
raw and normalised into records. Here the run (its job row, steps, progress and cancel); files
are prepared ahead by `import_prefetch` and each is written by `import_write`.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from phr_desktop.services.import_commits import ImportCommits
from phr_desktop.services.import_plan import FileOutcome, plan_import
from phr_desktop.services.import_prefetch import Prefetcher
from phr_desktop.services.import_write import import_prepared_file
from phr_desktop.services.large_blocks import give_back_large_blocks
from phr_desktop.services.tasks import Cancelled, CancelToken, Progress, ProgressCallback
from phr_desktop.vault.database import bulk_writes
from phr_desktop.vault.stage_times import StageTimes
from phr_desktop.vault.timestamps import now_iso
from phr_desktop.vault.write_types import WriteCounts

if TYPE_CHECKING:
    from phr_desktop.services.session import Session


@dataclass
class ImportReport:
    files: list[FileOutcome] = field(default_factory=list)
    totals: WriteCounts = field(default_factory=WriteCounts)
    # Where the time went, by stage, the preparing (worker) stages included; not in as_dict.
    times: StageTimes = field(default_factory=StageTimes)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def skipped(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "skipped"]

    @property
    def other_person(self) -> list[FileOutcome]:
        """Files held because they are (or may be) another person's: nothing was stored."""
        return [f for f in self.files if f.status == "other_person"]

    def as_dict(self) -> dict[str, Any]:
        return {"files": [f.as_dict() for f in self.files], "totals": self.totals.as_dict()}


class _Job:
    """The import_jobs row: written outside the file transactions, so failures are recorded."""

    def __init__(self, session: Session, label: str) -> None:
        self.conn = session.vault.conn
        cur = self.conn.execute(
            "INSERT INTO import_jobs (kind, label, status, started_at) VALUES (?, ?, 'running', ?)",
            ("fhir_file", label, now_iso()),
        )
        self.id = int(cur.lastrowid or 0)

    def finish(self, status: str, report: ImportReport) -> None:
        errors = [{"path": f.path, "error": f.error} for f in report.failed]
        self.conn.execute(
            "UPDATE import_jobs SET status = ?, finished_at = ?, counts = ?, errors = ? "
            "WHERE id = ?",
            (
                status,
                now_iso(),
                orjson.dumps(report.totals.as_dict()).decode(),
                orjson.dumps(errors).decode(),
                self.id,
            ),
        )


def import_paths(
    session: Session,
    paths: Sequence[Path],
    *,
    source_name: str | None,
    progress: ProgressCallback,
    cancel: CancelToken,
    same_person: bool = False,
) -> ImportReport:
    """Import files; `same_person`: the patient confirmed that files held as another
    person's are theirs (their names are remembered as aliases)."""
    plan = plan_import(paths)
    files = plan.files
    report = ImportReport()
    job = _Job(session, f"{len(files)} file(s)")
    status = "failed"
    store_times, session.store.times = session.store.times, report.times
    # The writer receives and unpickles each file's large blocks: freed ones go back too.
    give_back_large_blocks()

    def committed(outcome: FileOutcome) -> None:
        report.files.append(outcome)
        if outcome.counts:
            report.totals.add(outcome.counts)

    commits = ImportCommits(session.vault.conn, committed, report.times)
    with (
        Prefetcher(files, report.times) as prefetcher,
        bulk_writes(session.vault.conn),
        _collector_paused(),
    ):
        try:
            index = 0
            for step in plan.steps:
                if isinstance(step, FileOutcome):
                    commits.note(step)
                    continue
                cancel.raise_if_cancelled()
                progress(Progress(index, len(files), f"Importing {step.name}"))
                import_prepared_file(
                    session, prefetcher.next(), source_name, progress, cancel, same_person,
                    commits,
                )  # fmt: skip
                index += 1
            commits.commit()
            progress(Progress(len(files), len(files), "Import finished"))
            status = "completed" if not report.failed else "completed_with_errors"
        except BaseException as exc:
            status = "cancelled" if isinstance(exc, Cancelled) else "failed"
            if isinstance(exc, Cancelled):
                commits.commit()  # the files written so far are whole
            else:
                commits.roll_back()
            raise
        finally:
            session.store.times = store_times
            job.finish(status, report)
    return report


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while files are written: the writer unpickles and builds
    millions of small tuples (no cycles; reference counting frees them), and the collector
    walked them again and again (measured: ~0.4 s of the writer's ~8 s at 100k resources).
    Process-wide, so only for the import's length; whatever cycles other threads make in
    the meantime are collected once it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
