"""An import writes with a larger page cache than the app keeps open, and gives it back after.

Past the page cache, the pages of the indexes an import inserts into at random places are
read back and decrypted again for every insert that lands on them; the cache is raised only
while the files are written, so the app's memory is as before once the import ends, whether
it finished or was cancelled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from phr_desktop.services.errors import Cancelled
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import CancelToken, Progress
from phr_desktop.vault import database


def _bundle_file(folder: Path, name: str, labs: int) -> Path:
    patient = {
        "resourceType": "Patient",
        "id": f"p-{name}",
        "name": [{"given": ["Rebecca"], "family": "Larson"}],
        "birthDate": "1970-05-01",
    }
    results: list[dict[str, Any]] = [
        {
            "resourceType": "Observation",
            "id": f"o-{name}-{n}",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
            "effectiveDateTime": f"2021-03-{n % 28 + 1:02d}T10:00:00Z",
            "valueQuantity": {"value": 10 + n, "unit": "g/dL"},
        }
        for n in range(labs)
    ]
    entries = [{"resource": r} for r in (patient, *results)]
    path = folder / name
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    path.write_bytes(orjson.dumps(bundle))
    return path


def _cache_kib(session: Session) -> int:
    """The vault connection's page cache in KiB (SQLite reports a size as a negative number)."""
    size = int(session.vault.conn.execute("PRAGMA cache_size").fetchone()[0])
    assert size < 0, "the vault sets its page cache by size, not by a count of pages"
    return -size


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    return [_bundle_file(tmp_path, f"{name}.json", 10) for name in ("a", "b", "c")]


def test_files_are_written_with_the_bulk_page_cache_and_the_app_cache_comes_back(
    session: Session, files: list[Path]
) -> None:
    app_cache = _cache_kib(session)
    assert app_cache < database.BULK_CACHE_KIB
    while_writing: list[int] = []

    def progress(_: Progress) -> None:
        while_writing.append(_cache_kib(session))

    report = session.import_paths(files, progress=progress)

    assert [f.status for f in report.files] == ["imported"] * 3
    assert while_writing and set(while_writing) == {database.BULK_CACHE_KIB}
    assert _cache_kib(session) == app_cache


def test_a_cancelled_import_gives_the_page_cache_back_too(
    session: Session, files: list[Path]
) -> None:
    app_cache = _cache_kib(session)
    cancel = CancelToken()
    while_writing: list[int] = []

    def progress(_: Progress) -> None:
        while_writing.append(_cache_kib(session))
        if len(while_writing) == 2:
            cancel.cancel()

    with pytest.raises(Cancelled):
        session.import_paths(files, progress=progress, cancel=cancel)

    assert set(while_writing) == {database.BULK_CACHE_KIB}
    assert _cache_kib(session) == app_cache
