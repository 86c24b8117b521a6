"""Files prepared ahead of the import's writer: on a worker process for a big import, else on a
thread, and on a thread again if that process cannot start or dies."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Sequence
from concurrent.futures import (
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from pathlib import Path

from phr_desktop.services.import_channel import ChunkChannel
from phr_desktop.services.import_prepare import (
    PreparedFile,
    load_prepared,
    prepare_file,
    prepare_file_pickled,
    start_worker,
)
from phr_desktop.vault.stage_times import StageTimes

# Imports of at least this much (in two files or more, with a second core to run on) are
# prepared on a worker process.
PROCESS_MIN_BYTES = 8 * 2**20
_PREFETCH = 2  # files prepared ahead of the one being written

log = logging.getLogger(__name__)

# The writer's stages in the import's breakdown while it waits for a prepared file.
STAGE_WAIT = "write: wait for the next file"
STAGE_UNPICKLE = "write: unpickle the prepared file"


def _total_size(files: Sequence[Path]) -> int:
    total = 0
    for path in files:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


class Prefetcher:
    """Files read, parsed and normalised ahead of the writer, in the order given.

    The writer (this thread) spends its time in SQLCipher, which releases the GIL, so the
    preparing overlaps it on a second core. A big import prepares on a worker process: parsing
    and normalising are pure Python and would otherwise take turns with the writer for the
    GIL. A small one uses a thread, where starting a process (~0.2 s) would cost more than it
    saves. If the worker process cannot start or dies, the rest is prepared on a thread.
    """

    def __init__(self, files: Sequence[Path], times: StageTimes) -> None:
        self._files = list(files)
        self._times = times
        self._next_index = 0
        self._pending: deque[tuple[Path, Future[PreparedFile | bytes]]] = deque()
        self._channel: ChunkChannel | None = None
        self._in_process = (
            (os.cpu_count() or 1) > 1 and len(files) > 1 and _total_size(files) >= PROCESS_MIN_BYTES
        )
        self._executor: Executor = self._start_process() if self._in_process else _thread()

    def _start_process(self) -> Executor:
        try:
            context = multiprocessing.get_context("spawn")
            self._channel = ChunkChannel(context)
            return ProcessPoolExecutor(
                max_workers=1,
                mp_context=context,
                initializer=start_worker,
                initargs=(self._channel.sender,),
            )
        except (OSError, ValueError, NotImplementedError) as exc:
            self._drop_channel()
            self._in_process = False
            log.warning("no worker process for the import (%s); preparing on a thread", exc)
            return _thread()

    def _switch_to_thread(self, exc: BaseException) -> None:
        log.warning(
            "the import's worker process stopped or could not start (%s); preparing on a thread",
            exc,
        )
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._drop_channel()
        self._executor, self._in_process = _thread(), False

    def _drop_channel(self) -> None:
        if self._channel is not None:
            self._channel.drop()
            self._channel = None

    def __enter__(self) -> Prefetcher:
        try:
            self._fill()
        except BaseException:
            self.__exit__()  # no worker, nor the thread reading its channel, left behind
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        # On success nothing is pending; after an error or a cancel, unstarted work is dropped
        # and the worker stops after the file it is on, without holding up the caller.
        self._executor.shutdown(wait=not self._pending, cancel_futures=True)
        self._drop_channel()

    def _fill(self) -> None:
        while len(self._pending) < _PREFETCH and self._next_index < len(self._files):
            path = self._files[self._next_index]
            self._next_index += 1
            self._pending.append((path, self._submit(path)))

    def _submit(self, path: Path) -> Future[PreparedFile | bytes]:
        if self._in_process:
            try:
                future: Future[PreparedFile | bytes] = self._executor.submit(
                    prepare_file_pickled, path
                )
                if self._channel is not None:
                    self._channel.sender_given()  # the worker is started, with its own copy
                return future
            except (BrokenExecutor, OSError) as exc:  # OSError: spawn starts it here, or fails
                self._switch_to_thread(exc)
        return self._executor.submit(prepare_file, path)

    def next(self) -> PreparedFile:
        path, future = self._pending.popleft()
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            prepared = future.result()
        except BrokenExecutor as exc:
            # The worker process died: what it had not given back is prepared again here.
            self._switch_to_thread(exc)
            paths = [path, *(p for p, _ in self._pending)]
            self._pending = deque((p, self._submit(p)) for p in paths)
            prepared = self._pending.popleft()[1].result()
        self._times.add(STAGE_WAIT, time.thread_time() - cpu, time.perf_counter() - wall)
        if isinstance(prepared, bytes):  # from the worker process, its chunks down the channel
            cpu, wall = time.thread_time(), time.perf_counter()
            prepared = load_prepared(prepared, self._channel.take if self._channel else None)
            self._times.add(STAGE_UNPICKLE, time.thread_time() - cpu, time.perf_counter() - wall)
        # Only then: a worker found dead here drops the channel, with this file's chunks in it.
        self._fill()
        self._times.merge(prepared.stage_times)
        return prepared


def _thread() -> Executor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="phr-import-read")
