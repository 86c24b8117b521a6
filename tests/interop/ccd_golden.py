"""Golden CCDs: the exports of a few fixed profiles, kept byte for byte in
tests/data/ccd_export/golden/, so that a change in *how* the CCD is written (streamed, batched,
reordered code) is proven not to change *what* is written.

Each case imports its files into a fresh profile and exports the CCD through the export
service, at a fixed instant and app version (the only parts of a CCD that change from one run
to the next). Regenerate the goldens only when a change to the CCD's content is intended:

    python -m tests.interop.ccd_golden
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

from phr_desktop.services import exporting
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.vault.keys import KdfParams

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
GOLDEN = TESTS / "data" / "ccd_export" / "golden"
GENERATED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
APP_VERSION = "golden"


@dataclass(frozen=True)
class GoldenCase:
    name: str
    files: tuple[Path, ...]
    # What the patient adds before exporting (notes on records), given the open session.
    prepare: Callable[[Session], None] = lambda session: None

    @property
    def golden(self) -> Path:
        return GOLDEN / f"{self.name}.xml"


def _note_on_the_newest_and_oldest(session: Session) -> None:
    records = [r for r in session.records() if r.record.kind.value != "patient"]
    session.add_note(records[0].id, "Felt well that day.\nWalked the dog.")
    session.add_note(records[-1].id, "Ask about this at the next visit.")


CASES = (
    GoldenCase(
        "demo",
        tuple(sorted((REPO / "resources" / "demo").glob("*.json"))),
        _note_on_the_newest_and_oldest,
    ),
    GoldenCase("rich_patient", (TESTS / "data" / "ccd_export" / "rich_patient.json",)),
    GoldenCase("fidelity_patient", (TESTS / "data" / "ccd_export" / "fidelity_patient.json",)),
    GoldenCase("empty", ()),
)


class _FixedClock(datetime):
    @classmethod
    def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
        return GENERATED_AT


def export_case(case: GoldenCase, session: Session, output: Path) -> bytes:
    """The case's CCD, exported through the service as the app and `phr export` do."""
    if case.files:
        report = session.import_paths(list(case.files))
        assert not report.failed, report.as_dict()
    case.prepare(session)
    with (
        mock.patch.object(exporting, "datetime", _FixedClock),
        mock.patch.object(exporting, "__version__", APP_VERSION),
    ):
        exporting.export(session, "ccda", output)
    return output.read_bytes()


def regenerate() -> None:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for case in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            session, _ = Profiles(Path(tmp)).create("golden", "golden", KdfParams.minimum())
            with session:
                document = export_case(case, session, Path(tmp) / "ccd.xml")
        case.golden.write_bytes(document)
        print(f"{case.golden.relative_to(REPO)}: {len(document):,} bytes", file=sys.stderr)


if __name__ == "__main__":
    regenerate()
