"""An import into a large vault writes with a larger page cache than the app keeps open, and
gives it back after.

Past the page cache, the pages of the indexes an import inserts into at random places are
read back and decrypted again for every insert that lands on them. A small vault's indexes fit
in the app's cache, so it keeps that one; a vault that grows past the threshold during an
import gets the larger cache from the next group of files on. The app's memory is as before
once the import ends, whether it finished or was cancelled."""

from __future__ import annotations

from pathlib import Path

import pytest

from phr_desktop.services import import_commits
from phr_desktop.services.errors import Cancelled
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import CancelToken, Progress
from phr_desktop.vault import database
from tests.services.lab_bundles import lab_bundle_file


def _cache_kib(session: Session) -> int:
    """The vault connection's page cache in KiB (SQLite reports a size as a negative number)."""
    size = int(session.vault.conn.execute("PRAGMA cache_size").fetchone()[0])
    assert size < 0, "the vault sets its page cache by size, not by a count of pages"
    return -size


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    """Three of the same person's files, each large enough to add pages to the vault."""
    return [lab_bundle_file(tmp_path, f"{name}.json", 200) for name in ("a", "b", "c")]


def _vault_bytes(session: Session) -> int:
    conn = session.vault.conn
    pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    return pages * int(conn.execute("PRAGMA page_size").fetchone()[0])


def _import_watching_the_cache(
    session: Session, files: list[Path], cancel_after: int | None = None
) -> list[int]:
    """Import `files`; the page cache seen as each file starts ("Importing <name>")."""
    cancel = CancelToken()
    seen: list[int] = []

    def progress(step: Progress) -> None:
        if step.message.startswith("Importing "):
            seen.append(_cache_kib(session))
        if len(seen) == cancel_after:
            cancel.cancel()

    report = session.import_paths(files, progress=progress, cancel=cancel)
    assert [f.status for f in report.files] == ["imported"] * len(files)
    return seen


def test_a_small_vault_is_written_with_the_apps_own_page_cache(
    session: Session, files: list[Path]
) -> None:
    app_cache = _cache_kib(session)
    assert _vault_bytes(session) < database.BULK_CACHE_FROM_BYTES

    assert _import_watching_the_cache(session, files) == [app_cache] * 3
    assert _cache_kib(session) == app_cache


def test_a_vault_that_grows_past_the_threshold_gets_the_larger_cache_from_the_next_commit(
    session: Session, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    app_cache = _cache_kib(session)
    assert app_cache < database.BULK_CACHE_KIB
    monkeypatch.setattr(import_commits, "GROUP_BYTES", 1)  # each file is committed alone
    monkeypatch.setattr(database, "BULK_CACHE_FROM_BYTES", _vault_bytes(session) + 1)

    seen = _import_watching_the_cache(session, files)

    assert seen == [app_cache, database.BULK_CACHE_KIB, database.BULK_CACHE_KIB]
    assert _cache_kib(session) == app_cache


def test_a_cancelled_import_gives_the_page_cache_back_too(
    session: Session, files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    app_cache = _cache_kib(session)
    monkeypatch.setattr(database, "BULK_CACHE_FROM_BYTES", 0)

    with pytest.raises(Cancelled):
        _import_watching_the_cache(session, files, cancel_after=2)

    assert _cache_kib(session) == app_cache
