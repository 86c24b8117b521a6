"""An import commits several small files at once, and still never keeps part of a file: a
file that fails, is another person's or is cancelled before it is written leaves the rest of
its group alone; a full disk rolls back the group it hit and nothing committed before it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from phr_desktop.services import import_commits
from phr_desktop.services.errors import Cancelled, StorageFull
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import CancelToken, Progress
from tests.services.lab_bundles import lab_bundle_file


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    """Three of the same person's files; the first is the largest."""
    return [
        lab_bundle_file(tmp_path, f"{name}.json", labs, "Rebecca", "Larson")
        for name, labs in (("a", 40), ("b", 5), ("c", 5))
    ]


@pytest.fixture
def commits(session: Session) -> Iterator[list[str]]:
    """The COMMIT statements the vault's connection runs."""
    seen: list[str] = []
    session.vault.conn.set_trace_callback(
        lambda sql: seen.append(sql) if sql.strip().upper() == "COMMIT" else None
    )
    yield seen
    session.vault.conn.set_trace_callback(None)


def _documents(session: Session) -> list[str]:
    rows = session.vault.conn.execute("SELECT filename FROM source_documents ORDER BY id")
    return [name for (name,) in rows]


def _stored_files(session: Session) -> set[str]:
    """The files whose resources are stored (by the file's name in the resource ids)."""
    rows = session.vault.conn.execute("SELECT resource_id FROM raw_resources")
    return {rid.split("-")[1] for (rid,) in rows}


def _audited_imports(session: Session) -> int:
    query = "SELECT count(*) FROM audit_log WHERE action = 'import'"
    return int(session.vault.conn.execute(query).fetchone()[0])


def test_small_files_are_committed_together(
    session: Session, files: list[Path], commits: list[str]
) -> None:
    report = session.import_paths(files)
    assert [f.status for f in report.files] == ["imported"] * 3
    assert len(commits) == 1
    assert _stored_files(session) == {"a.json", "b.json", "c.json"}
    assert _audited_imports(session) == 3


def test_a_group_is_committed_once_it_holds_group_bytes_of_input(
    session: Session, files: list[Path], commits: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_commits, "GROUP_BYTES", files[0].stat().st_size)
    report = session.import_paths(files)
    assert [f.status for f in report.files] == ["imported"] * 3
    assert len(commits) == 2  # the first file alone, then the two small ones at the end


def test_an_unparseable_file_in_a_group_is_kept_with_its_error_and_the_others_import(
    session: Session, files: list[Path], tmp_path: Path, commits: list[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'{"resourceType": "Bundle", "entry": [')
    report = session.import_paths([files[0], broken, files[1]])
    assert [f.status for f in report.files] == ["imported", "failed", "imported"]
    assert len(commits) == 1
    assert _documents(session) == ["a.json", "broken.json", "b.json"]
    error = session.vault.conn.execute(
        "SELECT parse_error FROM source_documents WHERE filename = 'broken.json'"
    ).fetchone()[0]
    assert error and report.files[1].error and "broken.json" in report.files[1].error
    assert _stored_files(session) == {"a.json", "b.json"}


def test_another_persons_file_in_a_group_is_held_whole_and_the_others_import(
    session: Session, files: list[Path], tmp_path: Path, commits: list[str]
) -> None:
    karen = lab_bundle_file(tmp_path, "karen.json", 5, "Karen", "McKiney")
    report = session.import_paths([files[0], karen, files[1]])
    assert [f.status for f in report.files] == ["imported", "other_person", "imported"]
    assert len(commits) == 1
    assert _documents(session) == ["a.json", "b.json"]  # nothing of Karen's, not even the file
    assert _stored_files(session) == {"a.json", "b.json"}
    held = session.vault.conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'import_held'"
    ).fetchone()[0]
    assert held == 1


def test_cancelling_in_a_group_commits_the_whole_files_before_it(
    session: Session, files: list[Path], commits: list[str]
) -> None:
    token = CancelToken()

    def progress(p: Progress) -> None:
        if p.message == "Importing c.json":
            token.cancel()

    with pytest.raises(Cancelled):
        session.import_paths(files, progress=progress, cancel=token)
    assert len(commits) == 1
    assert _stored_files(session) == {"a.json", "b.json"}
    assert _audited_imports(session) == 2
    status = session.vault.conn.execute("SELECT status FROM import_jobs").fetchone()[0]
    assert status == "cancelled"


def test_a_full_disk_rolls_back_its_group_and_keeps_the_groups_committed_before(
    session: Session, files: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The first file is a group of its own; the second and a large third share one, which
    # the disk fills up while the third is written: the second goes with it.
    files[2] = lab_bundle_file(tmp_path, "c.json", 400, "Rebecca", "Larson")
    monkeypatch.setattr(import_commits, "GROUP_BYTES", files[0].stat().st_size)
    conn = session.vault.conn

    def progress(p: Progress) -> None:
        if p.message == "Importing c.json":
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")  # a full disk, to SQLite

    with pytest.raises(StorageFull, match="disk is full"):
        session.import_paths(files, progress=progress)
    conn.execute("PRAGMA max_page_count = 1073741823")
    assert _stored_files(session) == {"a.json"}
    assert _documents(session) == ["a.json"]
    assert _audited_imports(session) == 1
    assert session.check().problems == []
    status = conn.execute("SELECT status FROM import_jobs").fetchone()[0]
    assert status == "failed"
    report = session.import_paths(files)  # once there is room again, the rest imports
    assert [f.status for f in report.files] == ["unchanged", "imported", "imported"]
