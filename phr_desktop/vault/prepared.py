"""Files, resources and records in the plain shape the store writes: bytes, strings, numbers.

An import builds them on a worker process, where it parses and normalises, so what crosses
back is cheap to pickle and the writing thread only binds values.
"""

from __future__ import annotations

import hashlib
from typing import Any, NamedTuple

import orjson
from isal import isal_zlib

from phr_desktop.domain.codes import codes_text
from phr_desktop.domain.records import Code, DatePrecision, Record
from phr_desktop.domain.same_fact import fact_hash, fact_key

# The records columns a RecordData carries, in its order; the store adds id, raw_id, source_id.
RECORD_COLUMNS = (
    "resource_type", "resource_id", "kind", "category", "title", "effective", "precision",
    "sort_date", "value_num", "value_text", "unit", "ref_low", "ref_high", "ref_text",
    "interpretation", "codes", "status", "facility", "encounter_ref", "quality", "fact_key",
    "source_sensitivity", "source_system",
)  # fmt: skip


# Plain tuples, not NamedTuples: building, pickling and loading a NamedTuple calls Python code
# per object (measured: ~0.4 s per 100k resources across the worker and the writer); unpack
# them where they are used.

# A normalised record ready to write: (columns, tags, search, flagged). columns: the values
# of RECORD_COLUMNS, source_system last (None if the record names none); tags: sorted; search:
# the search index's title, codes and body text; flagged: it has data-quality flags.
RecordData = tuple[tuple[Any, ...], tuple[str, ...], tuple[str, str, str], bool]

# A raw resource ready to store: (resource_type, resource_id, sha256, body, version_id,
# last_updated, record). body: its exact JSON text; version_id: meta.versionId as text;
# last_updated: meta.lastUpdated if it is text; record: None when there is none (or it is
# not normalised yet).
PreparedResource = tuple[str, str, str, bytes, str | None, str | None, RecordData | None]


class PackedDocument(NamedTuple):
    """A received file as source_documents keeps it: hashed, and compressed if that helps."""

    sha256: str  # of the original bytes
    size: int  # of the original bytes
    compression: str | None  # None, or "zlib"
    data: bytes  # as stored


def pack_document(data: bytes) -> PackedDocument:
    # Exports are mostly JSON or XML; compressing shrinks them ~8-13x, which is fewer pages to
    # encrypt and write (measured: the largest single cost of an import). ISA-L writes the
    # same zlib format (read back with zlib.decompress, stored as "zlib") 5x faster than
    # zlib's fastest level, and smaller (Synthea at 100k: 0.11 s against 0.64 s, 13.2x
    # against 11.6x).
    packed = isal_zlib.compress(data, 1)
    compression, stored = ("zlib", packed) if len(packed) < len(data) else (None, data)
    return PackedDocument(hashlib.sha256(data).hexdigest(), len(data), compression, stored)


# A codes tuple's two columns (the JSON of its codes; its search text), by the tuple's
# identity: the normaliser shares one tuple among every record of a concept
# (codes_and_display), and each entry keeps its tuple alive, so an id is never reused while
# it is here. Bounded, cleared when full.
_CODES_COLUMNS: dict[int, tuple[tuple[Code, ...], str, str]] = {}
_CODES_COLUMNS_KEPT = 20_000
_INSTANT = DatePrecision.INSTANT


def _codes_columns(codes: tuple[Code, ...]) -> tuple[str, str]:
    entry = _CODES_COLUMNS.get(id(codes))
    if entry is not None and entry[0] is codes:
        return entry[1], entry[2]
    json_text = orjson.dumps([[c.system, c.code, c.display] for c in codes]).decode()
    search_text = codes_text(codes)
    if type(codes) is tuple:  # a list could change after it was remembered
        if len(_CODES_COLUMNS) >= _CODES_COLUMNS_KEPT:
            _CODES_COLUMNS.clear()
        _CODES_COLUMNS[id(codes)] = (codes, json_text, search_text)
    return json_text, search_text


def record_data(r: Record, fallback_key: str | None = None) -> RecordData:
    """`fallback_key`: the fact key when no content rule names the record (identifier_key)."""
    value, rr, eff, quality, tags = r.value, r.reference_range, r.effective, r.quality, r.tags
    codes_json, codes_search = _codes_columns(r.codes)
    effective: str | None = None
    precision: str | None = None
    sort_date: str | None = None
    if eff is not None:
        effective = eff.text
        sort_date = effective[:19] if eff.precision is _INSTANT else effective  # eff.sort_key
        precision = eff.precision._value_
    columns = (
        r.resource_type,
        r.resource_id,
        r.kind._value_,
        r.category,
        r.title,
        effective,
        precision,
        sort_date,
        value.value if value else None,
        value.text if value else None,
        value.unit if value else None,
        rr.low if rr else None,
        rr.high if rr else None,
        rr.text if rr else None,
        r.interpretation,
        codes_json,
        r.status,
        r.facility,
        r.encounter_ref,
        orjson.dumps(list(quality)).decode() if quality else "[]",
        fact_hash(key) if (key := fact_key(r) or fallback_key) else None,
        r.sensitivity,
        r.source_system or None,
    )
    return (
        columns,
        tuple(sorted(tags)) if tags else (),
        (r.title, codes_search, r.text),
        bool(quality),
    )


def version_fields(resource: dict[str, Any]) -> tuple[str | None, str | None]:
    """meta.versionId (as text) and meta.lastUpdated (if text), as raw_resources keeps them."""
    meta = resource.get("meta")
    if not isinstance(meta, dict):
        return None, None
    version, updated = meta.get("versionId"), meta.get("lastUpdated")
    return (
        str(version) if version is not None else None,
        updated if isinstance(updated, str) else None,
    )
