"""Read, parse and normalise one file to import into the plain rows the store writes.

An import runs this on a worker process while the previous file is written, or on a thread
for a small import. What it returns is bytes, strings and tuples: cheap to send back, and the
writing thread only has to bind them.
"""

from __future__ import annotations

import dataclasses
import gc
import io
import itertools
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from phr_desktop.domain.same_fact import identifier_key
from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.interop.fhir.fhir_json import (
    MAX_FILE_BYTES,
    ParsedResource,
    iter_parse_fhir_json,
)
from phr_desktop.interop.fhir.json_stream import iter_fhir_json, should_stream
from phr_desktop.interop.file_kinds import HEAD_BYTES, FileKind, describe, detect, unwrap_html
from phr_desktop.services.large_blocks import give_back_large_blocks
from phr_desktop.services.terminology import normalise_resource
from phr_desktop.vault.prepared import (
    PackedDocument,
    PreparedResource,
    pack_document,
    record_data,
    version_fields,
)
from phr_desktop.vault.stage_times import StageTimes

FHIR_CONTENT_TYPE = "application/fhir+json"

# The stages of preparing a file, as the import's breakdown names them.
STAGE_READ = "prepare: read the file"
STAGE_PACK = "prepare: hash and compress the file"
STAGE_PARSE = "prepare: parse, check numbers, serialise and hash resources"
STAGE_NORMALISE = "prepare: normalise into records"
STAGE_PICKLE = "prepare: pickle for the writer"

# Resources parsed, normalised (and, on the worker, pickled) together: few enough that each is
# normalised and freed while what its serialising touched is still in the CPU's caches, many
# enough that timing each stage and pickling per chunk costs next to nothing (measured over the
# 100k set, file by file against each other: 1000 a chunk cost ~20 % more of the worker's CPU
# than 64, and 64 ~5-9 % more than 16; 4 was no better than 16).
_CHUNK = 16

# Resources sent down the worker's channel in one message (each chunk is pickled on its own,
# and several chunks' pickles make a message): a message per chunk of 16 would be a pipe
# write, a wake of the importing process's reading thread and a GIL hand-over every few
# dozen microseconds.
_SEND_EVERY = 1024

# What receives each chunk of prepared resources instead of one list of them all (the worker
# pickles them as they come, so it never holds the whole file's resources and their pickle).
ChunkSink = Callable[[list[PreparedResource]], None]


@dataclass(frozen=True)
class PreparedFile:
    path: Path
    content_type: str
    document: PackedDocument | None  # None: the file could not be read
    resources: list[PreparedResource] | None  # None: it could not be read or parsed
    source_hint: str | None  # the first meta.source among its resources
    error: str | None  # why it could not be read or parsed
    # Too many resources to hold at once: the writer reads it again with `stream_file` and
    # prepares and writes it a batch at a time (peak memory follows the batch, not the file).
    streamed: bool = False
    # Each resource's own meta.source (None: it names none), only when they differ within the
    # file (our own FHIR export holds every source): each goes back to its own source.
    resource_sources: tuple[str | None, ...] | None = None
    # Where preparing it took its time: StageTimes.rows() (the import's breakdown).
    stage_times: tuple[tuple[str, float, float], ...] = ()


@dataclass(frozen=True)
class StreamedFile:
    document: PackedDocument
    batches: Iterator[list[PreparedResource]]  # may raise UnreadableFile part way
    source_hint: str | None  # from the first batch


# The one way to add a scan or a letter today: the app's upload dialog (no phr command yet).
UPLOAD_HINT = "add it as a document in the app: File > New entry > Document (PDF or image)"


def not_importable_reason(kind: FileKind, head: bytes) -> str:
    """Why a file of this kind is not imported, and what to do with it instead."""
    what = describe(kind, head)
    if kind.is_document:
        return f"this is {what}, not a health record file; {UPLOAD_HINT}"
    if kind is FileKind.ZIP:
        return f"this is {what}; unpack it, then import the files inside"
    if kind is FileKind.EMPTY:
        return "this file is empty"
    return f"this is {what}"


# Files named so are read in a folder even when their content is not recognised: the reader
# then says what is wrong with them, and their bytes are kept.
RECORD_SUFFIXES = (".json", ".ndjson", ".jsonl", ".xml", ".ccd", ".cda")


def skip_reason(path: Path) -> str | None:
    """Why a file found in a folder is left out of its import, or None to import it."""
    try:
        with path.open("rb") as file:
            head = file.read(HEAD_BYTES)
            kind = detect(head)
            if kind is FileKind.HTML and path.stat().st_size <= MAX_FILE_BYTES:
                kind = FileKind.HTML_WITH_CCDA if unwrap_html(head + file.read()) else kind
    except OSError as exc:
        return f"it could not be read ({exc.strerror or exc})"
    if kind.importable:
        return None
    if path.suffix.lower() in RECORD_SUFFIXES and kind in (FileKind.UNKNOWN, FileKind.XML):
        return None
    return not_importable_reason(kind, head)


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UnreadableFile(str(path), None, None, "the file does not exist") from None
    except OSError as exc:
        raise UnreadableFile(path.name, None, None, f"{exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise UnreadableFile(
            path.name, None, None, f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB"
        )
    try:
        return path.read_bytes()
    except OSError as exc:  # no permission, a file that vanished, a disk error
        raise UnreadableFile(path.name, None, None, f"{exc.strerror or exc}") from None


def _parse(data: bytes, kind: FileKind, name: str, fit: bool = True) -> Iterator[ParsedResource]:
    """The file's resources one at a time, each let go of once given (the caller drops its
    own reference to `data`, which is then freed once parsed). `fit`: see `flatten`."""
    if kind is FileKind.UNKNOWN:
        raise UnreadableFile(name, None, None, f"this is {kind.value}")
    if not kind.is_xml:
        resources = iter_parse_fhir_json(data, name, fit)
        del data
        yield from resources
        return
    from phr_desktop.interop.ccda.importer import parse_ccda  # see _ccda_content_type

    parsed = parse_ccda(data, name)
    del data
    for index, item in enumerate(parsed):
        parsed[index] = None  # type: ignore[call-overload]
        yield item


def _ccda_content_type() -> str:
    # The C-CDA reader (lxml and a dozen modules, ~0.05 s of CPU and ~5 MB of RSS) is loaded
    # when a file is XML: an import's worker process mostly meets FHIR JSON.
    from phr_desktop.interop.ccda.importer import CCDA_CONTENT_TYPE

    return CCDA_CONTENT_TYPE


def _meta_source(item: ParsedResource) -> str | None:
    meta = item.resource.get("meta")
    source = meta.get("source") if isinstance(meta, dict) else None
    return source.strip() if isinstance(source, str) and source.strip() else None


def _source_hint(resources: Iterable[ParsedResource]) -> str | None:
    return next(filter(None, map(_meta_source, resources)), None)


def _resource_sources(sources: list[str | None]) -> tuple[str | None, ...] | None:
    return tuple(sources) if len({s for s in sources if s}) > 1 else None


def _prepare(item: ParsedResource) -> PreparedResource:
    resource, resource_type = item.resource, item.resource_type
    record = normalise_resource(resource)
    version_id, last_updated = version_fields(resource)
    return (
        resource_type,
        item.resource_id,
        item.sha256,
        item.body,
        version_id,
        last_updated,
        record_data(record, identifier_key(resource_type, resource)) if record else None,
    )


def prepare_file(path: Path, sink: ChunkSink | None = None) -> PreparedFile:
    """Never raises for a bad file: an unreadable or unparseable one comes back with `error`.

    The format is told from the content, whatever the file is called. A PDF or an image is
    refused with the way to add it as a document, and not kept: it is not a source of
    records. With `sink`, the resources go to it a chunk at a time, in order, and the result's
    `resources` is an empty list (None still means the file could not be read or parsed)."""
    times = StageTimes()
    times.start_lap()
    try:
        data = _read(path)
    except UnreadableFile as exc:
        return PreparedFile(path, FHIR_CONTENT_TYPE, None, None, None, str(exc))
    kind = detect(data[:HEAD_BYTES])
    content_type = _ccda_content_type() if kind.is_xml else FHIR_CONTENT_TYPE
    if kind.is_document or kind in (FileKind.ZIP, FileKind.EMPTY):
        reason = not_importable_reason(kind, data[:HEAD_BYTES])
        return PreparedFile(path, content_type, None, None, None, f"{path.name}: {reason}.")
    if kind is FileKind.FHIR_JSON and should_stream(data):
        return PreparedFile(path, content_type, None, None, None, None, streamed=True)
    times.lap(STAGE_READ)
    document = pack_document(data)
    times.lap(STAGE_PACK)
    # With a sink each chunk's bodies are pickled and let go of: no fitted copies (fhir_json).
    parsed = _parse(data, kind, path.name, fit=sink is None)
    del data  # freed once parsed: the file's bytes are packed in `document`
    resources: list[PreparedResource] = []
    sources: list[str | None] = []
    try:
        while chunk := list(itertools.islice(parsed, _CHUNK)):
            times.lap(STAGE_PARSE)
            sources.extend(map(_meta_source, chunk))
            prepared = [_prepare(item) for item in chunk]
            del chunk  # its parsed resources, already out of the tree, are freed here
            times.lap(STAGE_NORMALISE)
            if sink is None:
                resources.extend(prepared)
            else:
                sink(prepared)
                times.lap(STAGE_PICKLE)
    except UnreadableFile as exc:
        return PreparedFile(path, content_type, document, None, None, str(exc))
    times.lap(STAGE_PARSE)
    hint = next(filter(None, sources), None)
    return PreparedFile(
        path, content_type, document, resources, hint, None,
        resource_sources=_resource_sources(sources), stage_times=times.rows(),
    )  # fmt: skip


def stream_file(path: Path, batch_size: int) -> StreamedFile:
    """A FHIR JSON file read entry by entry and prepared `batch_size` resources at a time.
    UnreadableFile if it cannot be read or its first batch cannot be parsed; a later batch
    may raise it too, and the caller then drops what it wrote of the file."""
    data = _read(path)
    document = pack_document(data)
    resources = iter_fhir_json(data, path.name)

    def batches() -> Iterator[list[PreparedResource]]:
        while batch := list(itertools.islice(resources, batch_size)):
            yield [_prepare(item) for item in batch]

    first = list(itertools.islice(resources, batch_size))
    hint = _source_hint(first)
    prepared_first = [_prepare(item) for item in first]
    return StreamedFile(document, itertools.chain([prepared_first], batches()), hint)


# --- on the worker process -----------------------------------------------------------------


def start_worker(channel: Connection | None = None) -> None:
    """The worker process's initializer: exit when the importing process dies (a worker left
    waiting for work would otherwise outlive a killed app), and collect cycles only between
    files. With `channel`, a file's resources go down it as they are pickled, ~_SEND_EVERY
    to a message (`prepare_file_pickled`)."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    # Parsed JSON is trees of dicts and lists without cycles, freed by reference counting;
    # the collector would only walk them again and again while a file is parsed. What the
    # modules loaded is frozen, so collecting between files walks almost nothing.
    gc.collect()
    gc.freeze()
    gc.disable()
    global _freeze_between_files, _channel
    _freeze_between_files = True
    _channel = channel
    # A file's bytes, its parse buffer and its pickle are freed after each file: back to
    # the system, or the worker's RSS keeps the largest file's high-water mark.
    give_back_large_blocks()


# Set on the worker process only (start_worker): a process that prepares a file now and then
# (the tests, a small import on a thread) keeps its collector as it was.
_freeze_between_files = False
# The worker's end of the channel its chunks go down, if it was given one.
_channel: Connection | None = None


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(0)


def prepare_file_pickled(path: Path) -> bytes:
    """prepare_file on the worker process, pickled without a memo (trees of tuples with no
    shared parts or cycles): half the time of the pool's own pickling. Load with
    `load_prepared`.

    The resources are pickled a chunk at a time as they are prepared, each on its own. On a
    worker given a channel, they go down it as soon as _SEND_EVERY are pickled (several
    chunks' pickles to a message) and what is returned is the file without them: neither
    process ever holds a whole file's pickle, nor two copies of it (the pool's message and
    what it unpickles; measured at 500k: the writer's peak was while a 16 MB one arrived).
    Elsewhere they come first in what is returned."""
    gc.collect()  # whatever an earlier file left in cycles (a failed parse's traceback)
    if _freeze_between_files:
        # What earlier files left alive is the normaliser's caches (and prepared.py's), kept for
        # the whole import: frozen, the next collection walks only what the next file leaves
        # (a full collection over them cost ~5 ms a file at 100k, ~0.2 s of the worker's CPU).
        gc.freeze()
    parts = _Parts()
    pickler = pickle.Pickler(parts, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    channel = _channel
    sent = pending = 0

    def flush() -> None:
        nonlocal sent, pending
        assert channel is not None
        channel.send_bytes(b"".join(parts))
        parts.clear()
        sent += 1
        pending = 0

    def send(chunk: list[PreparedResource]) -> None:
        nonlocal pending
        pickler.dump(chunk)
        pending += len(chunk)
        if channel is not None and pending >= _SEND_EVERY:
            flush()

    prepared = prepare_file(path, send)
    if channel is not None and parts:
        flush()  # the last chunks go the same way, so the resources stay in their order
    cpu, wall = time.thread_time(), time.perf_counter()
    pickler.dump(prepared)
    # The time pickling the file took follows it, as a last, tiny pickle, with the number of
    # chunks sent down the channel before it.
    pickler.dump((STAGE_PICKLE, time.thread_time() - cpu, time.perf_counter() - wall, sent))
    del prepared
    return b"".join(parts)


class _Parts(list[bytes]):
    """Where the pickler writes: each chunk's pickle kept as it is and joined once at the end.
    A BytesIO grows by an eighth at a time, copying what it holds again and again (measured:
    a quarter of the time pickling took); the bytes written are the same."""

    write = list.append


def load_prepared(
    data: bytes, sent: Callable[[int], Iterable[bytes]] | None = None
) -> PreparedFile:
    """What `prepare_file_pickled` returned: its chunks of resources, then the file, then the
    time pickling the file took, added to the file's stages. `sent(n)` gives the n messages
    the worker sent down its channel before, each one or more chunks' pickles (each let go
    of once loaded)."""
    unpickler = pickle.Unpickler(io.BytesIO(data))
    resources: list[PreparedResource] = []
    loaded = unpickler.load()
    while isinstance(loaded, list):
        resources.extend(loaded)
        loaded = unpickler.load()
    prepared: PreparedFile = loaded
    stage, cpu, wall, sent_count = unpickler.load()
    if sent_count:
        if sent is None:
            raise ValueError("the file's chunks were sent down a channel, and none is given")
        for message in sent(sent_count):
            reader = pickle.Unpickler(io.BytesIO(message))
            del message
            while True:
                try:
                    resources.extend(reader.load())
                except EOFError:
                    break
    # None: the file failed part way, and the chunks pickled before it are not its resources.
    kept = None if prepared.resources is None else resources
    return dataclasses.replace(
        prepared, resources=kept, stage_times=(*prepared.stage_times, (stage, cpu, wall))
    )
