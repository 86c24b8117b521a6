"""The shipped value sets, loaded once, and the normaliser configured with them."""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from phr_desktop.domain.aatd import AatdPack
from phr_desktop.domain.normalise import normalise
from phr_desktop.domain.records import Code, Record, RecordKind
from phr_desktop.domain.search_query import Vocabulary
from phr_desktop.resources import load_json


@cache
def aatd_pack() -> AatdPack:
    return AatdPack.from_mapping(load_json("valuesets", "aatd.json"))


@cache
def search_vocabulary() -> Vocabulary:
    """Lay and professional names for tests, vaccines, medicines, conditions, specialties and
    record kinds (resources/search/vocabulary.json), for search in the patient's words."""
    return Vocabulary.from_data(load_json("search", "vocabulary.json"))


@lru_cache(maxsize=32768)
def _tags_of(
    kind: RecordKind, codes: tuple[Code, ...], title: str, value_text: str | None
) -> frozenset[str]:
    # Thousands of results share the same test, codes and title: classify each once.
    return aatd_pack().tags_for(kind, codes, title, value_text)


# The tags found for (kind, a codes tuple's identity, title, value text): the normaliser
# shares one codes tuple among every record of a concept (codes_and_display), so this key is
# hashed without hashing each Code (a dataclass's __hash__ is Python code, ~0.3 µs a record).
# Each entry keeps its tuple alive, so an id is never reused while it is here; a tuple met for
# the first time goes to _tags_of, which knows it by content. Bounded, cleared when full.
_TAGS_BY_CODES: dict[tuple[Any, ...], tuple[tuple[Code, ...], frozenset[str]]] = {}
_TAGS_BY_CODES_KEPT = 32_768


def _tags(
    kind: RecordKind, codes: tuple[Code, ...], title: str, value_text: str | None
) -> frozenset[str]:
    # Only a lab result's value can tag it (a genotype written as text), so the others are
    # classified without it: a vital sign's thousands of readings ("128/82") share one entry.
    if kind is not _LAB_RESULT:
        value_text = None
    if type(codes) is not tuple:  # a list could change after it was remembered
        return _tags_of(kind, tuple(codes), title, value_text)
    key = (kind, id(codes), title, value_text)
    entry = _TAGS_BY_CODES.get(key)
    if entry is not None and entry[0] is codes:
        return entry[1]
    tags = _tags_of(kind, codes, title, value_text)
    if len(_TAGS_BY_CODES) >= _TAGS_BY_CODES_KEPT:
        _TAGS_BY_CODES.clear()
    _TAGS_BY_CODES[key] = (codes, tags)
    return tags


_LAB_RESULT = RecordKind.LAB_RESULT


def normalise_resource(resource: dict[str, Any]) -> Record | None:
    return normalise(resource, _tags)
