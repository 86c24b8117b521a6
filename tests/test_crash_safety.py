"""`kill -9` of an import at any point: the reopened vault passes its integrity check, every file
is in it completely or not at all, the cut-off job says 'interrupted', and importing again
finishes the work. Most tests commit each file alone (the kill points then say exactly which
files are in); one lets the files share a commit, as a bulk import's small files do."""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import queue
import random
import select
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from phr_desktop.domain.normalise import NORMALISED_TYPES
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.vault.keys import KdfParams
from tests.conftest import PASSPHRASE, REPO
from tests.synthea_fixtures import SyntheaBundle, synthea_bundles

__all__ = ["synthea_bundles"]  # the fixture, re-exported so pytest finds it in this module

PROFILE = "p"
# Small batches, so one file spans several batches and a kill can land between two of them.
BATCH = 200
LINE_TIMEOUT_S = 120  # only reached if the child hangs; normally each line takes milliseconds

# Imports files with the real services, printing one line per progress event. With
# PHR_TEST_STEP=1 it then waits for a line on stdin, so the test kills it at an exact point
# (inside the file's transaction for batch events); otherwise it runs on and the kill lands
# wherever the import has got to (possibly mid-write or mid-commit).
HELPER = """\
import multiprocessing
import os
import sys
from pathlib import Path

import phr_desktop.services.import_commits as import_commits
import phr_desktop.services.import_prefetch as import_prefetch
import phr_desktop.services.import_write as import_write
from phr_desktop.services.profiles import Profiles

import_write._BATCH = int(os.environ["PHR_TEST_BATCH"])
# Input bytes between commits (1: each file commits alone).
import_commits.GROUP_BYTES = int(os.environ["PHR_TEST_GROUP_BYTES"])
# 0: every import of two files or more is prepared on a worker process.
import_prefetch.PROCESS_MIN_BYTES = int(
    os.environ.get("PHR_TEST_PROCESS_MIN_BYTES", import_prefetch.PROCESS_MIN_BYTES)
)
STEP = os.environ.get("PHR_TEST_STEP") == "1"


def report(p):
    workers = " ".join(str(c.pid) for c in multiprocessing.active_children())
    print(f"progress {p.done}/{p.total} {p.message} [workers: {workers}]", flush=True)
    if STEP:
        sys.stdin.readline()


def main():
    data_dir, profile, *files = sys.argv[1:]
    session = Profiles(Path(data_dir)).unlock(profile, passphrase=os.environ["PHR_PASSPHRASE"])
    print("unlocked", flush=True)
    with session:
        # Three Synthea patients stand in for one person's files: --same-person.
        session.import_paths([Path(f) for f in files], progress=report, same_person=True)
    print("finished", flush=True)


# The guard matters: a worker process (spawned) imports this module again as __mp_main__.
if __name__ == "__main__":
    main()
"""


@dataclass(frozen=True)
class Event:
    """One progress callback of an import, in the order the import makes them."""

    file_index: int | None  # None for the final "Import finished"
    batch: int | None  # None when starting a file; else 0-based batch within the file
    batches: int = 0  # batches in this file

    @property
    def last_batch(self) -> bool:
        return self.batch is not None and self.batch == self.batches - 1

    @property
    def middle_batch(self) -> bool:
        return self.batch is not None and self.batch == self.batches // 2


def expected_events(bundles: list[SyntheaBundle]) -> list[Event]:
    events: list[Event] = []
    for index, bundle in enumerate(bundles):
        batches = math.ceil(len(bundle.resources) / BATCH)
        assert batches >= 3, f"{bundle.path.name} is too small to be cut between batches"
        events.append(Event(index, None, batches))
        events.extend(Event(index, b, batches) for b in range(batches))
    events.append(Event(None, None))
    return events


def child_env(**extra: str) -> dict[str, str]:
    """This checkout importable, the passphrase given, no stray PHR_* settings of the user's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHR_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env | {"PHR_PASSPHRASE": PASSPHRASE, **extra}


class ImportChild:
    """The import subprocess, its stdout read line by line on a thread (no polling, no sleeps)."""

    def __init__(
        self,
        workdir: Path,
        data_dir: Path,
        files: list[Path],
        *,
        step: bool,
        worker: bool,
        group_bytes: int,
    ) -> None:
        helper = workdir / "import_helper.py"
        helper.write_text(HELPER, encoding="utf-8")
        env = child_env(
            PHR_TEST_BATCH=str(BATCH),
            PHR_TEST_STEP="1" if step else "0",
            PHR_TEST_GROUP_BYTES=str(group_bytes),
        )
        if worker:
            env["PHR_TEST_PROCESS_MIN_BYTES"] = "0"
        self.stderr_path = workdir / "import_helper.stderr"
        self._stderr: IO[bytes] = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(helper), str(data_dir), PROFILE, *map(str, files)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env=env,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def next_line(self) -> str:
        line = self._lines.get(timeout=LINE_TIMEOUT_S)
        if line is None:
            self.proc.wait()
            pytest.fail(
                f"the import helper ended early (exit {self.proc.returncode}):\n"
                + self.stderr_path.read_text(errors="replace")[-3000:]
            )
        return line

    def resume(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        """SIGKILL (TerminateProcess on Windows): no handler, no rollback, no atexit."""
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.kill()
        self._reader.join()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._stderr.close()


@pytest.fixture
def children() -> Iterator[list[ImportChild]]:
    """Every subprocess a test starts is stopped, also when the test fails."""
    started: list[ImportChild] = []
    yield started
    for child in started:
        child.stop()


@pytest.fixture
def profile_data_dir(tmp_path: Path) -> Path:
    """A fresh profile, created and closed, as `phr profile create` would leave it."""
    folder = tmp_path / "phr-data"
    session, _recovery = Profiles(folder).create(PROFILE, PASSPHRASE, KdfParams.minimum())
    session.close()
    return folder


def start_import(
    children: list[ImportChild],
    tmp_path: Path,
    data_dir: Path,
    bundles: list[SyntheaBundle],
    *,
    step: bool,
    worker: bool = False,
    group_bytes: int = 1,
) -> ImportChild:
    """worker: prepare files on a worker process, as big imports do; else on a thread.
    group_bytes: input bytes between commits (1: every file commits alone)."""
    child = ImportChild(
        tmp_path, data_dir, [b.path for b in bundles],
        step=step, worker=worker, group_bytes=group_bytes,
    )  # fmt: skip
    children.append(child)
    assert child.next_line() == "unlocked"
    return child


def reopen(data_dir: Path) -> Session:
    return Profiles(data_dir).unlock(PROFILE, passphrase=PASSPHRASE)


def assert_sound_and_all_or_nothing(session: Session, bundles: list[SyntheaBundle]) -> set[int]:
    """Check the reopened vault; return the indexes of the files that are in it."""
    report = session.check()
    assert report.problems == []
    assert report.ok, report.audit

    conn = session.vault.conn
    documents = dict(conn.execute("SELECT sha256, id FROM source_documents"))
    committed = {
        i for i, b in enumerate(bundles) if hashlib.sha256(b.data).hexdigest() in documents
    }
    assert len(documents) == len(committed), "a document that is none of the imported files"

    stored = set(conn.execute("SELECT resource_type, resource_id FROM raw_resources"))
    expected: set[tuple[str, str]] = set().union(*(bundles[i].keys for i in committed))
    # Complete or empty per file: every resource of a kept file, none of a lost one.
    assert stored == expected
    for i in committed:
        document_id = documents[hashlib.sha256(bundles[i].data).hexdigest()]
        from_file = set(
            conn.execute(
                "SELECT resource_type, resource_id FROM raw_resources WHERE document_id = ?",
                (document_id,),
            )
        )
        assert from_file, f"{bundles[i].path.name} is kept without its resources"
        assert from_file <= bundles[i].keys

    # The derived data went in (or not) with its file: records and their search rows.
    records = set(conn.execute("SELECT resource_type, resource_id FROM records"))
    assert records == {key for key in stored if key[0] in NORMALISED_TYPES}
    assert conn.execute("SELECT count(*) FROM search_index").fetchone()[0] == len(records)
    return committed


def audited_file_imports(session: Session) -> int:
    """Audit rows for file imports; each is written in its file's transaction."""
    query = "SELECT count(*) FROM audit_log WHERE action = 'import'"
    return int(session.vault.conn.execute(query).fetchone()[0])


def job_statuses(session: Session) -> list[str]:
    return [s for (s,) in session.vault.conn.execute("SELECT status FROM import_jobs ORDER BY id")]


def assert_import_again_completes(
    session: Session, bundles: list[SyntheaBundle], already: set[int]
) -> None:
    audited = audited_file_imports(session)
    report = session.import_paths([b.path for b in bundles], same_person=True)
    assert report.failed == []
    assert [f.status for f in report.files] == [
        "unchanged" if i in already else "imported" for i in range(len(bundles))
    ]
    assert assert_sound_and_all_or_nothing(session, bundles) == set(range(len(bundles)))
    assert audited_file_imports(session) == audited + len(bundles)
    assert job_statuses(session)[-1] == "completed"


# --- kills at exact points: the child waits after each progress event ------------------------

KILL_POINTS = {
    "before anything was written": lambda e: e.file_index == 0 and e.batch is None,
    "inside the first file, between batches": lambda e: e.file_index == 0 and e.middle_batch,
    "after the second file's last batch, before its commit": (
        lambda e: e.file_index == 1 and e.last_batch
    ),
    "between the second and third files": lambda e: e.file_index == 2 and e.batch is None,
    "inside the last file, between batches": lambda e: e.file_index == 2 and e.middle_batch,
    "after every file, before the job is closed": lambda e: e.file_index is None,
}


def _kill_at_event(child: ImportChild, kill_at: int) -> None:
    """Step the child through `kill_at` progress events and kill it at the next one."""
    for _ in range(kill_at):
        assert child.next_line().startswith("progress ")
        child.resume()
    assert child.next_line().startswith("progress ")
    child.kill()


def _assert_first_files_kept(
    profile_data_dir: Path, bundles: list[SyntheaBundle], files_kept: int
) -> None:
    """The vault holds the first `files_kept` files whole and nothing of the others, the job
    reads 'interrupted', and importing again completes it."""
    with reopen(profile_data_dir) as session:
        committed = assert_sound_and_all_or_nothing(session, bundles)
        assert committed == set(range(files_kept))
        assert audited_file_imports(session) == files_kept
        assert job_statuses(session) == ["interrupted"]
        assert_import_again_completes(session, bundles, committed)


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill_at_an_exact_point_keeps_whole_files_only(
    point: str,
    synthea_bundles: list[SyntheaBundle],
    profile_data_dir: Path,
    tmp_path: Path,
    children: list[ImportChild],
) -> None:
    events = expected_events(synthea_bundles)
    kill_at = next(i for i, e in enumerate(events) if KILL_POINTS[point](e))
    child = start_import(children, tmp_path, profile_data_dir, synthea_bundles, step=True)
    _kill_at_event(child, kill_at)

    event = events[kill_at]
    files_done = len(synthea_bundles) if event.file_index is None else event.file_index
    _assert_first_files_kept(profile_data_dir, synthea_bundles, files_done)


@pytest.mark.parametrize(
    "point", ["between the second and third files", "after every file, before the job is closed"]
)
def test_a_kill_in_a_shared_commit_keeps_none_of_its_files_and_the_import_again_completes(
    point: str,
    synthea_bundles: list[SyntheaBundle],
    profile_data_dir: Path,
    tmp_path: Path,
    children: list[ImportChild],
) -> None:
    events = expected_events(synthea_bundles)
    kill_at = next(i for i, e in enumerate(events) if KILL_POINTS[point](e))
    child = start_import(
        children, tmp_path, profile_data_dir, synthea_bundles, step=True, group_bytes=2**40
    )
    _kill_at_event(child, kill_at)

    # The three files share one commit, made once the last is written: before it, a kill
    # keeps none of them; after it, all three.
    files_kept = len(synthea_bundles) if events[kill_at].file_index is None else 0
    _assert_first_files_kept(profile_data_dir, synthea_bundles, files_kept)


# --- kills at seeded random points, the child running on: lands mid-write or mid-commit -------


@pytest.mark.parametrize("run", range(4))  # runs 2 and 3 prepare on a worker process
def test_kill_at_a_random_point_keeps_whole_files_only(
    run: int,
    synthea_bundles: list[SyntheaBundle],
    profile_data_dir: Path,
    tmp_path: Path,
    children: list[ImportChild],
) -> None:
    events = expected_events(synthea_bundles)
    kill_after = random.Random(f"crash-safety-{run}").randrange(len(events))
    child = start_import(
        children, tmp_path, profile_data_dir, synthea_bundles, step=False, worker=run >= 2
    )
    for _ in range(kill_after + 1):
        assert child.next_line().startswith("progress ")
    child.kill()

    with reopen(profile_data_dir) as session:
        committed = assert_sound_and_all_or_nothing(session, synthea_bundles)
        event = events[kill_after]
        at_least = len(synthea_bundles) if event.file_index is None else event.file_index
        assert committed >= set(range(at_least))
        assert audited_file_imports(session) == len(committed)
        # The kill may land after the job was closed; it is never left 'running'.
        (status,) = job_statuses(session)
        assert status in {"interrupted", "completed"}
        if len(committed) < len(synthea_bundles):
            assert status == "interrupted"
        assert_import_again_completes(session, synthea_bundles, committed)


# --- a killed import's worker process ends with it ----------------------------------------------


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="waits on a pidfd (Linux)")
def test_a_killed_import_takes_its_worker_process_with_it(
    synthea_bundles: list[SyntheaBundle],
    profile_data_dir: Path,
    tmp_path: Path,
    children: list[ImportChild],
) -> None:
    child = start_import(
        children, tmp_path, profile_data_dir, synthea_bundles, step=True, worker=True
    )
    workers: list[int] = []
    while not workers:
        line = child.next_line()
        assert line.startswith("progress ")
        workers = [int(pid) for pid in line.rpartition("[workers: ")[2].rstrip("]").split()]
        child.resume()
    watched = []
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):  # already gone is gone
            watched.append(os.pidfd_open(pid))
    child.kill()
    try:
        for fd in watched:  # readable once the process has ended
            readable, _, _ = select.select([fd], [], [], LINE_TIMEOUT_S)
            assert readable, "the worker process outlived the killed import"
    finally:
        for fd in watched:
            os.close(fd)

    with reopen(profile_data_dir) as session:
        committed = assert_sound_and_all_or_nothing(session, synthea_bundles)
        assert_import_again_completes(session, synthea_bundles, committed)


# --- the `phr import` command finishes what a killed import left ------------------------------


def test_phr_import_completes_after_a_killed_import(
    synthea_bundles: list[SyntheaBundle],
    profile_data_dir: Path,
    tmp_path: Path,
    children: list[ImportChild],
) -> None:
    child = start_import(children, tmp_path, profile_data_dir, synthea_bundles, step=True)
    events = expected_events(synthea_bundles)
    kill_at = next(i for i, e in enumerate(events) if e.file_index == 1 and e.middle_batch)
    for _ in range(kill_at):
        child.next_line()
        child.resume()
    child.next_line()
    child.kill()

    done = subprocess.run(
        [sys.executable, "-m", "phr_desktop.cli", "--data-dir", str(profile_data_dir),
         "--profile", PROFILE, "import", "--same-person", *(str(b.path) for b in synthea_bundles)],
        env=child_env(),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    with reopen(profile_data_dir) as session:
        assert assert_sound_and_all_or_nothing(session, synthea_bundles) == {0, 1, 2}
        assert audited_file_imports(session) == 3 + 1  # the first file, before the kill
        assert job_statuses(session) == ["interrupted", "completed"]
