"""The shipped value sets, loaded once, and the normaliser configured with them."""

from __future__ import annotations

from functools import cache
from typing import Any

from phr_desktop.domain.aatd import AatdPack
from phr_desktop.domain.normalise import normalise
from phr_desktop.domain.records import Record
from phr_desktop.resources import load_json


@cache
def aatd_pack() -> AatdPack:
    return AatdPack.from_mapping(load_json("valuesets", "aatd.json"))


def normalise_resource(resource: dict[str, Any]) -> Record | None:
    return normalise(resource, aatd_pack().tags_for)
