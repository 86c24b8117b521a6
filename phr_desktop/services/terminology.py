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


def _tags(
    kind: RecordKind, codes: tuple[Code, ...], title: str, value_text: str | None
) -> frozenset[str]:
    # Only a lab result's value can tag it (a genotype written as text), so the others are
    # classified without it: a vital sign's thousands of readings ("128/82") share one entry.
    return _tags_of(kind, codes, title, value_text if kind is _LAB_RESULT else None)


_LAB_RESULT = RecordKind.LAB_RESULT


def normalise_resource(resource: dict[str, Any]) -> Record | None:
    return normalise(resource, _tags)
