"""A big import prepares files on a worker process: same vault as on a thread, and it carries on
(on a thread) if that process dies."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from phr_desktop.services import import_prefetch
from phr_desktop.services.errors import Cancelled
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import CancelToken, Progress
from tests.conftest import PASSPHRASE


def _vault_contents(session: Session) -> tuple[Any, ...]:
    """Everything an import derives, without ids that depend on timing (fetch times)."""
    conn = session.vault.conn
    return tuple(
        conn.execute(sql).fetchall()
        for sql in (
            "SELECT id, source_id, document_id, resource_type, resource_id, version_id, "
            "last_updated, sha256, body, is_current FROM raw_resources ORDER BY id",
            "SELECT * FROM records ORDER BY id",
            "SELECT tag, record_id FROM record_tags ORDER BY tag, record_id",
            "SELECT rowid, title, codes, notes, body FROM search_index ORDER BY rowid",
            "SELECT id, source_id, filename, content_type, sha256, size, compression, data, "
            "parse_error FROM source_documents ORDER BY id",
            "SELECT id, kind, name FROM sources ORDER BY id",
        )
    )


@pytest.fixture
def on_worker_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(import_prefetch, "PROCESS_MIN_BYTES", 0)


def _workers_seen(seen: set[int]) -> Any:
    def progress(_: Progress) -> None:
        seen.update(child.pid or 0 for child in multiprocessing.active_children())

    return progress


def test_a_worker_process_builds_the_same_vault_as_a_thread(
    profiles: Profiles, fast_kdf: None, demo_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    contents = []
    for name, min_bytes in (("thread", 2**62), ("worker", 0)):
        monkeypatch.setattr(import_prefetch, "PROCESS_MIN_BYTES", min_bytes)
        session, _recovery = profiles.create(name, PASSPHRASE)
        with session:
            workers: set[int] = set()
            report = session.import_paths(demo_files, progress=_workers_seen(workers))
            assert not report.failed
            assert bool(workers) == (name == "worker")
            contents.append(_vault_contents(session))
    assert contents[0] == contents[1]


def test_an_unparseable_file_prepared_on_the_worker_is_kept_and_reported(
    session: Session, demo_files: list[Path], tmp_path: Path, on_worker_process: None
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_bytes(b'{"resourceType": "Bundle", "entry": [')
    report = session.import_paths([broken, *demo_files, tmp_path / "missing.json"])
    assert [f.status for f in report.files] == ["failed", "imported", "imported", "failed"]
    assert "broken.json" in str(report.files[0].error)
    assert "does not exist" in str(report.files[-1].error)
    kept = session.vault.conn.execute(
        "SELECT filename, parse_error IS NOT NULL FROM source_documents ORDER BY id"
    ).fetchall()
    assert kept[0] == ("broken.json", 1)


def test_if_the_worker_process_dies_the_import_finishes_on_a_thread(
    session: Session, demo_files: list[Path], on_worker_process: None
) -> None:
    files = [*demo_files, *demo_files]  # the second round is unchanged, but still prepared
    killed: list[int] = []

    def progress(p: Progress) -> None:
        if not killed and p.message.startswith("Importing"):
            for child in multiprocessing.active_children():
                if child.pid:
                    os.kill(child.pid, signal.SIGKILL)
                    killed.append(child.pid)

    report = session.import_paths(files, progress=progress)
    assert killed
    assert not report.failed
    assert [f.status for f in report.files] == ["imported"] * 2 + ["unchanged"] * 2
    entries = report.totals.new
    assert session.vault.conn.execute("SELECT count(*) FROM raw_resources").fetchone() == (entries,)


def test_cancelling_an_import_on_the_worker_keeps_finished_files_only(
    session: Session, demo_files: list[Path], on_worker_process: None
) -> None:
    token = CancelToken()

    def progress(p: Progress) -> None:
        if p.message.startswith("Importing") and p.done == 1:
            token.cancel()

    with pytest.raises(Cancelled):
        session.import_paths(demo_files, progress=progress, cancel=token)
    conn = session.vault.conn
    assert conn.execute("SELECT count(DISTINCT document_id) FROM raw_resources").fetchone() == (1,)
    assert conn.execute("SELECT status FROM import_jobs").fetchone() == ("cancelled",)


def test_the_report_says_where_the_time_went_in_the_worker_and_in_the_writer(
    session: Session, demo_files: list[Path], on_worker_process: None
) -> None:
    started = time.thread_time()
    report = session.import_paths(demo_files)
    writer_cpu = time.thread_time() - started
    stages = {stage: (cpu, wall) for stage, cpu, wall in report.times.rows()}
    for stage in (
        *(f"prepare: {s}" for s in ("read the file", "hash and compress the file",
                                    "normalise into records", "pickle for the writer")),
        "prepare: parse, check numbers, serialise and hash resources",
        *(f"write: {s}" for s in ("wait for the next file", "unpickle the prepared file",
                                  "raw resources", "records", "tags and search index", "commit")),
    ):  # fmt: skip
        assert stage in stages, stage
    assert all(cpu >= 0 and wall >= 0 for cpu, wall in stages.values())
    # The writer's stages are laps of this thread: together no more than its CPU time.
    written = sum(cpu for stage, (cpu, _) in stages.items() if stage.startswith("write:"))
    assert 0 < written <= writer_cpu
    assert stages["write: records"][0] > 0 and stages["prepare: normalise into records"][0] > 0
    # The timing is for this import only: the store's own tally is back in place after it.
    assert session.store.times is not report.times


def test_if_the_worker_process_cannot_start_the_import_runs_on_a_thread(
    session: Session, demo_files: list[Path], on_worker_process: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    class NoProcesses(ProcessPoolExecutor):
        def submit(self, *args: Any, **kwargs: Any) -> Any:  # spawn starts it on a first submit
            raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(import_prefetch, "ProcessPoolExecutor", NoProcesses)
    report = session.import_paths(demo_files)
    assert [f.status for f in report.files] == ["imported"] * len(demo_files)
    # Nothing is left waiting for a worker that never was: the thread reading its channel ends.
    for thread in threading.enumerate():
        if thread.name == "phr-import-chunks":
            thread.join(timeout=10)
            assert not thread.is_alive()
