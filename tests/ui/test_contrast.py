"""Muted text and flags meet WCAG AA (4.5:1) on light and dark palettes, and a live switch
to dark mode recolours what was already on screen (the light red fell to 2.96:1)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QStyleFactory, QWidget

from phr_desktop.services.demo import open_demo
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.ui import style
from phr_desktop.ui.readable_colours import (
    AA_NORMAL_TEXT,
    contrast_ratio,
    flag_colour,
    muted_colour,
    readable_placeholders,
)
from phr_desktop.ui.record.detail import RecordDetailView

Role = QPalette.ColorRole


def light_palette() -> QPalette:
    fusion = QStyleFactory.create("Fusion")
    assert fusion is not None
    return fusion.standardPalette()


def dark_palette() -> QPalette:
    """A dark theme as desktops ship it: dark grey window, darker fields, light text."""
    palette = QPalette(QColor("#353535"))
    for role, colour in ((Role.Window, "#2d2d2d"), (Role.Base, "#1e1e1e"),
                         (Role.AlternateBase, "#262626"), (Role.WindowText, "#e6e6e6"),
                         (Role.Text, "#e6e6e6"), (Role.ButtonText, "#e6e6e6")):  # fmt: skip
        palette.setColor(role, QColor(colour))
    placeholder = QColor("#e6e6e6")
    placeholder.setAlpha(128)
    palette.setColor(Role.PlaceholderText, placeholder)
    return palette


PALETTES = {"light": light_palette, "dark": dark_palette}


@pytest.fixture
def restore_palette(qapp: QApplication) -> Iterator[None]:
    before = QPalette(qapp.palette())
    yield
    qapp.setPalette(before)


def test_the_contrast_ratio_is_wcags() -> None:
    assert contrast_ratio(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21)
    assert contrast_ratio(QColor("#777777"), QColor("#ffffff")) == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio(QColor("#c62828"), QColor("#1e1e1e")) < 3  # the old red on dark


@pytest.mark.parametrize("name", PALETTES)
def test_muted_and_flag_colours_read_at_4_5_on_window_and_fields(name: str) -> None:
    palette = PALETTES[name]()
    for colour in (muted_colour(palette), flag_colour(palette)):
        for background in (Role.Window, Role.Base):
            assert contrast_ratio(colour, palette.color(background)) >= AA_NORMAL_TEXT


@pytest.mark.parametrize("name", PALETTES)
def test_muted_labels_on_screen_read_at_4_5(
    qtbot, qapp: QApplication, restore_palette: None, name: str
) -> None:  # type: ignore[no-untyped-def]
    qapp.setPalette(PALETTES[name]())
    parent = QWidget()
    qtbot.addWidget(parent)
    label = style.muted("No provider connected yet.", parent)
    shown = label.palette().color(label.foregroundRole())
    assert contrast_ratio(shown, parent.palette().color(Role.Window)) >= AA_NORMAL_TEXT


@pytest.fixture
def demo(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _created = open_demo(profiles)
    with session:
        yield session


def stylesheet_colour(label: QLabel) -> QColor:
    found = re.search(r"color:\s*(#[0-9a-fA-F]{6})", label.styleSheet())
    assert found, label.styleSheet()
    return QColor(found.group(1))


def test_a_live_switch_to_dark_keeps_flags_and_muted_text_legible(
    qtbot, qapp: QApplication, restore_palette: None, demo: Session
) -> None:  # type: ignore[no-untyped-def]
    qapp.setPalette(light_palette())
    detail = RecordDetailView(demo)
    qtbot.addWidget(detail)
    below_range = next(
        s.id for s in demo.records() if s.record.resource_id == "rp-obs-fev1fvc-2025-06"
    )
    detail.show_record(below_range)
    value = detail.fields["Value"]
    light_red = stylesheet_colour(value)
    assert contrast_ratio(light_red, light_palette().color(Role.Base)) >= AA_NORMAL_TEXT

    qapp.setPalette(dark_palette())  # the desktop switched to dark while the record was open
    qtbot.waitUntil(lambda: stylesheet_colour(value) != light_red, timeout=2000)
    dark = dark_palette()
    for flagged in (value, detail.fields["Flag"]):
        red = stylesheet_colour(flagged)
        assert contrast_ratio(red, dark.color(Role.Base)) >= AA_NORMAL_TEXT
        assert contrast_ratio(red, dark.color(Role.Window)) >= AA_NORMAL_TEXT
    subtitle = detail.subtitle.palette().color(detail.subtitle.foregroundRole())
    assert contrast_ratio(subtitle, dark.color(Role.Window)) >= AA_NORMAL_TEXT


def placeholder_contrast(field: QLineEdit) -> float:
    palette = field.palette()
    return contrast_ratio(palette.color(Role.PlaceholderText), palette.color(Role.Base))


@pytest.mark.parametrize("name", PALETTES)
def test_hints_in_empty_fields_read_at_4_5_and_follow_a_switch_to_dark(
    qtbot, qapp: QApplication, restore_palette: None, name: str
) -> None:  # type: ignore[no-untyped-def]
    qapp.setPalette(PALETTES[name]())
    field = QLineEdit()
    field.setPlaceholderText("Name, city or state, e.g. mayo or denver")
    qtbot.addWidget(field)
    assert placeholder_contrast(field) < AA_NORMAL_TEXT  # Qt's own: half the text colour
    readable_placeholders()
    qtbot.waitUntil(lambda: placeholder_contrast(field) >= AA_NORMAL_TEXT)
    style.muted("makes the palette follower", field)  # as every screen of the app does
    other = "dark" if name == "light" else "light"
    qapp.setPalette(PALETTES[other]())
    qtbot.waitUntil(lambda: placeholder_contrast(field) >= AA_NORMAL_TEXT)
