"""Read, parse and normalise one file to import into the plain rows the store writes.

An import runs this on a worker process while the previous file is written, or on a thread
for a small import. What it returns is bytes, strings and tuples: cheap to send back, and the
writing thread only has to bind them.
"""

from __future__ import annotations

import gc
import io
import multiprocessing
import os
import pickle
import threading
from dataclasses import dataclass
from pathlib import Path

from phr_desktop.domain.same_fact import identifier_key
from phr_desktop.interop.ccda.importer import CCDA_CONTENT_TYPE, parse_ccda
from phr_desktop.interop.errors import UnreadableFile
from phr_desktop.interop.fhir.fhir_json import MAX_FILE_BYTES, ParsedResource, parse_fhir_json
from phr_desktop.services.terminology import normalise_resource
from phr_desktop.vault.prepared import (
    PackedDocument,
    PreparedResource,
    pack_document,
    record_data,
    version_fields,
)

FHIR_CONTENT_TYPE = "application/fhir+json"


@dataclass(frozen=True)
class PreparedFile:
    path: Path
    content_type: str
    document: PackedDocument | None  # None: the file could not be read
    resources: list[PreparedResource] | None  # None: it could not be read or parsed
    source_hint: str | None  # the first meta.source among its resources
    error: str | None  # why it could not be read or parsed
    # Each resource's own meta.source (None: it names none), only when they differ within the
    # file (our own FHIR export holds every source): each goes back to its own source.
    resource_sources: tuple[str | None, ...] | None = None


def is_ccda(path: Path) -> bool:
    return path.suffix.lower() == ".xml"


def _read(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UnreadableFile(str(path), None, None, "the file does not exist") from None
    if size > MAX_FILE_BYTES:
        raise UnreadableFile(
            path.name, None, None, f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB"
        )
    return path.read_bytes()


def _meta_source(item: ParsedResource) -> str | None:
    meta = item.resource.get("meta")
    source = meta.get("source") if isinstance(meta, dict) else None
    return source.strip() if isinstance(source, str) and source.strip() else None


def _source_hint(resources: list[ParsedResource]) -> str | None:
    for item in resources:
        source = _meta_source(item)
        if source:
            return source
    return None


def _resource_sources(resources: list[ParsedResource]) -> tuple[str | None, ...] | None:
    sources = tuple(_meta_source(item) for item in resources)
    return sources if len({s for s in sources if s}) > 1 else None


def _prepare(item: ParsedResource) -> PreparedResource:
    record = normalise_resource(item.resource)
    version_id, last_updated = version_fields(item.resource)
    return (
        item.resource_type,
        item.resource_id,
        item.sha256,
        item.body,
        version_id,
        last_updated,
        record_data(record, identifier_key(item.resource_type, item.resource)) if record else None,
    )


def prepare_file(path: Path) -> PreparedFile:
    """Never raises for a bad file: an unreadable or unparseable one comes back with `error`."""
    content_type = CCDA_CONTENT_TYPE if is_ccda(path) else FHIR_CONTENT_TYPE
    try:
        data = _read(path)
    except UnreadableFile as exc:
        return PreparedFile(path, content_type, None, None, None, str(exc))
    document = pack_document(data)
    try:
        parsed = parse_ccda(data, path.name) if is_ccda(path) else parse_fhir_json(data, path.name)
    except UnreadableFile as exc:
        return PreparedFile(path, content_type, document, None, None, str(exc))
    del data
    hint = _source_hint(parsed)
    resources = [_prepare(item) for item in parsed]
    own = _resource_sources(parsed)
    return PreparedFile(path, content_type, document, resources, hint, None, own)


# --- on the worker process -----------------------------------------------------------------


def start_worker() -> None:
    """The worker process's initializer: exit when the importing process dies (a worker left
    waiting for work would otherwise outlive a killed app), and collect cycles only between
    files."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    # Parsed JSON is trees of dicts and lists without cycles, freed by reference counting;
    # the collector would only walk them again and again while a file is parsed. What the
    # modules loaded is frozen, so collecting between files walks almost nothing.
    gc.collect()
    gc.freeze()
    gc.disable()


def _exit_with(parent: multiprocessing.process.BaseProcess) -> None:
    parent.join()
    os._exit(0)


def prepare_file_pickled(path: Path) -> bytes:
    """prepare_file on the worker process, pickled without a memo (trees of tuples with no
    shared parts or cycles): half the time of the pool's own pickling. Load with
    pickle.loads."""
    gc.collect()  # whatever an earlier file left in cycles (a failed parse's traceback)
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(prepare_file(path))
    return buffer.getvalue()
