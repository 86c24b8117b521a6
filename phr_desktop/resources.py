"""Locate the read-only data shipped with the app (value sets, demo data, endpoints).

In a source checkout `resources/` sits beside the package; in a wheel or a frozen build it is
packaged as `phr_desktop/_resources`.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

import orjson


@cache
def resources_dir() -> Path:
    here = Path(__file__).resolve().parent
    candidates = [here / "_resources", here.parent / "resources"]
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        candidates.insert(0, Path(frozen_root) / "resources")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("phr-desktop's resources folder is missing; reinstall the app")


def resource_path(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)


@cache
def load_json(*parts: str) -> Any:
    return orjson.loads(resource_path(*parts).read_bytes())
