"""Every main screen and dialog fits a 1024×700 and a 1366×768 laptop screen at the size the
app opens it, and the widgets a patient reads get the width their content needs.

Runs tools/screenshots.py, which opens each screen the way the app does on an offscreen
screen of that size (a process per size: Qt fixes the screen when it starts) and measures.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
LAPTOPS = ("1024x700", "1366x768")


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("shots")
    result = out / "measured.json"
    subprocess.run(
        [sys.executable, str(REPO / "tools" / "screenshots.py"), "--out", str(out),
         "--sizes", ",".join(LAPTOPS), "--measure", str(result)],
        check=True, cwd=REPO, capture_output=True, timeout=600,
    )  # fmt: skip
    data: dict[str, Any] = json.loads(result.read_text(encoding="utf-8"))
    return data


@pytest.mark.slow
@pytest.mark.parametrize("size", LAPTOPS)
def test_every_screen_and_dialog_opens_within_the_screen(
    measured: dict[str, Any], size: str
) -> None:
    screen_width, screen_height = measured[size]["screen"]
    too_big = {
        name: (w, h)
        for name, (w, h) in measured[size]["shots"].items()
        if w > screen_width or h > screen_height
    }
    assert not too_big, f"larger than the {size} screen: {too_big}"
    assert {"timeline", "share-dialog", "entry-medication", "user-guide", "share-viewer"} <= set(
        measured[size]["shots"]
    )


@pytest.mark.slow
@pytest.mark.parametrize("size", LAPTOPS)
def test_the_timeline_title_column_gets_the_width_a_title_needs(
    measured: dict[str, Any], size: str
) -> None:
    title = measured[size]["timeline_title"]
    assert title["width"] >= title["needs"], title


@pytest.mark.slow
@pytest.mark.parametrize("size", LAPTOPS)
def test_the_share_dialogs_kind_boxes_are_whole_and_do_not_overlap(
    measured: dict[str, Any], size: str
) -> None:
    kinds = measured[size]["share_kinds"]
    assert kinds["overlaps"] == 0
    squeezed = [
        text for text, width, needs_w, height, needs_h in kinds["boxes"]
        if width < needs_w or height < needs_h
    ]  # fmt: skip
    assert not squeezed, f"drawn smaller than their text at {size}: {squeezed}"


@pytest.mark.slow
@pytest.mark.parametrize("size", LAPTOPS)
def test_the_medicine_box_is_wide_enough_for_a_medicine_name(
    measured: dict[str, Any], size: str
) -> None:
    box = measured[size]["medicine_box"]
    assert box["width"] >= box["needs"], box
