"""On an import's worker process each chunk of a file's resources goes down a channel as soon
as it is pickled: the pool's message is only the file's outline, so neither process ever
holds a whole file's pickle, nor two copies of it while it arrives."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import threading
import tracemalloc
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from phr_desktop.services import import_prepare
from phr_desktop.services.import_channel import ChunkChannel
from phr_desktop.services.import_prepare import load_prepared, prepare_file, prepare_file_pickled


def _bundle(tmp_path: Path, count: int) -> Path:
    entries = [
        {
            "resource": {
                "resourceType": "Observation", "id": f"o{i}", "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                "note": [{"text": f"note {i} " + "x" * 300}],
            }
        }
        for i in range(count)
    ]  # fmt: skip
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    return path


@pytest.fixture
def channel(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChunkChannel]:
    """A channel whose sending end this process holds, as the worker holds its own."""
    channel = ChunkChannel(multiprocessing.get_context("spawn"))
    monkeypatch.setattr(import_prepare, "_channel", channel.sender)
    yield channel
    channel.drop()


def test_what_the_worker_returns_is_the_file_without_its_resources(
    tmp_path: Path, channel: ChunkChannel
) -> None:
    path = _bundle(tmp_path, 3500)
    returned = prepare_file_pickled(path)
    assert len(returned) < path.stat().st_size / 20  # the packed file and its outline
    loaded = load_prepared(returned, channel.take)
    assert loaded.resources is not None
    assert loaded.resources == prepare_file(path).resources  # all of them, in order


def test_the_worker_never_holds_a_whole_files_pickle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What is received is counted and let go of at once: only the sending side is measured.
    receiver, sender = multiprocessing.get_context("spawn").Pipe(duplex=False)
    monkeypatch.setattr(import_prepare, "_channel", sender)
    sizes: list[int] = []
    draining = threading.Thread(target=_drain, args=(receiver, sizes))
    draining.start()
    path = _bundle(tmp_path, 18_000)  # under the 20,000 of a streamed file
    prepare_file_pickled(path)  # modules loaded, caches filled: not counted below
    tracemalloc.start()
    try:
        prepare_file_pickled(path)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        sender.close()
        draining.join()
    assert len(sizes) == 2 * 18  # the same chunks, sent twice
    pickled = sum(sizes) // 2
    # The file's bytes are read whole; of its pickle, a chunk at a time.
    assert peak < path.stat().st_size + pickled / 2, f"peak {peak:,}, pickle {pickled:,}"


def _drain(receiver: Connection, sizes: list[int]) -> None:
    with contextlib.suppress(EOFError):
        while True:
            sizes.append(len(receiver.recv_bytes()))


def test_a_file_that_breaks_part_way_comes_back_without_the_chunks_it_sent(
    tmp_path: Path, channel: ChunkChannel
) -> None:
    broken = {"resource": {"resourceType": "Bundle", "entry": 5}}
    path = tmp_path / "bundle.json"
    entries = [{"resource": {"resourceType": "Patient", "id": f"p{i}"}} for i in range(2500)]
    path.write_text(json.dumps({"resourceType": "Bundle", "entry": [*entries, broken]}))
    prepared = load_prepared(prepare_file_pickled(path), channel.take)
    assert prepared.resources is None and "Bundle.entry is not a list" in str(prepared.error)
    # The next file's chunks are its own: those of the broken file were taken with it.
    fine = _bundle(tmp_path, 10)
    assert len(load_prepared(prepare_file_pickled(fine), channel.take).resources or ()) == 10


def test_the_channel_gives_chunks_in_order_and_waits_for_those_on_the_way() -> None:
    channel = ChunkChannel(multiprocessing.get_context("spawn"))
    try:
        channel.sender.send_bytes(b"first")
        later = threading.Timer(0.2, channel.sender.send_bytes, args=(b"second",))
        later.start()
        assert list(channel.take(2)) == [b"first", b"second"]
    finally:
        channel.drop()


def test_a_worker_that_stops_before_its_chunks_came_is_a_broken_pool_not_a_hang() -> None:
    channel = ChunkChannel(multiprocessing.get_context("spawn"))
    channel.sender.send_bytes(b"only one")
    channel.sender_given()  # the worker's end is the only one left, and it closes
    with pytest.raises(BrokenProcessPool):
        list(channel.take(2))


def test_the_pipe_holds_most_of_a_chunk_so_the_worker_seldom_waits_for_the_reader() -> None:
    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("pipe sizes are Linux's")
    channel = ChunkChannel(multiprocessing.get_context("spawn"))
    try:
        assert fcntl.fcntl(channel.sender.fileno(), fcntl.F_GETPIPE_SZ) >= 2**20
    finally:
        channel.drop()
