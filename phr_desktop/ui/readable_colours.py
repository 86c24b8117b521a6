"""Colours derived from the palette that keep WCAG 2 AA contrast (4.5:1 for normal text) on
the backgrounds they are drawn on, and follow a live switch between light and dark.

Qt's PlaceholderText is the text colour at half opacity: about 4:1 on Fusion's light window
and less on many dark themes, yet the app uses it for explanations a patient must read. The
flag red was chosen once per widget: after a switch to dark mode the light theme's red stayed
on a dark background at 2.96:1.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

AA_NORMAL_TEXT = 4.5
# Widgets marked with these properties are recoloured whenever the palette changes.
MUTED_PROPERTY = "phrMuted"
FLAG_PROPERTY = "phrFlag"  # value: "" (not flagged), "flag" or "flag-bold"
_LIGHT_RED, _DARK_RED = QColor("#c62828"), QColor("#ff8a80")
_BACKGROUNDS = (QPalette.ColorRole.Window, QPalette.ColorRole.Base)


def _channel(value: float) -> float:
    value /= 255
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: QColor) -> float:
    """WCAG 2's relative luminance of an opaque colour."""
    r, g, b = (_channel(c) for c in (colour.red(), colour.green(), colour.blue()))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: QColor, background: QColor) -> float:
    """WCAG 2's contrast ratio, 1 to 21; a translucent foreground is blended first."""
    shown = blend(foreground, background, foreground.alphaF())
    lighter, darker = sorted(
        (relative_luminance(shown), relative_luminance(background)), reverse=True
    )
    return (lighter + 0.05) / (darker + 0.05)


def blend(colour: QColor, background: QColor, amount: float) -> QColor:
    """`amount` of `colour` over `background` (1: the colour, 0: the background), opaque."""
    pairs = (
        (colour.red(), background.red()),
        (colour.green(), background.green()),
        (colour.blue(), background.blue()),
    )
    r, g, b = (round(c * amount + bg * (1 - amount)) for c, bg in pairs)
    return QColor(r, g, b)


def _readable_on_all(colour: QColor, palette: QPalette) -> bool:
    return all(
        contrast_ratio(colour, palette.color(role)) >= AA_NORMAL_TEXT for role in _BACKGROUNDS
    )


def muted_colour(palette: QPalette) -> QColor:
    """The most muted mix of the text and window colours that still reads at 4.5:1 on the
    window and on input fields."""
    text = palette.color(QPalette.ColorRole.WindowText)
    window = palette.color(QPalette.ColorRole.Window)
    for step in range(12):  # 45 % of the text colour, 50 %, … up to the text colour itself
        candidate = blend(text, window, 0.45 + step * 0.05)
        if _readable_on_all(candidate, palette):
            return candidate
    return QColor(text.rgb())


def flag_colour(palette: QPalette) -> QColor:
    """A red that reads at 4.5:1: the light or dark theme's red, else one nearer the text."""
    base = palette.color(QPalette.ColorRole.Base)
    first = _DARK_RED if relative_luminance(base) < 0.18 else _LIGHT_RED
    text = palette.color(QPalette.ColorRole.Text)
    for step in range(11):  # 0 %, 10 %, … of the text colour mixed in
        candidate = blend(text, first, step / 10)
        if _readable_on_all(candidate, palette):
            return candidate
    return QColor(text.rgb())


def _palette_of(widget: QWidget) -> QPalette:
    parent = widget.parentWidget()
    return parent.palette() if parent is not None else QGuiApplication.palette()


def _recolour(widget: QWidget) -> None:
    palette = _palette_of(widget)
    flag = widget.property(FLAG_PROPERTY)
    if flag:
        weight = " font-weight: 600;" if flag == "flag-bold" else ""
        widget.setStyleSheet(f"color: {flag_colour(palette).name()};{weight}")
    elif widget.property(MUTED_PROPERTY):
        own = QPalette(widget.palette())
        own.setColor(QPalette.ColorRole.WindowText, muted_colour(palette))
        widget.setPalette(own)
        widget.setForegroundRole(QPalette.ColorRole.WindowText)


def mark_muted(widget: QWidget) -> None:
    """Secondary text that still reads at 4.5:1, recoloured when the palette changes."""
    widget.setProperty(MUTED_PROPERTY, True)
    _recolour(widget)
    follow_palette_changes()


def mark_flag(widget: QWidget, on: bool = True, *, bold: bool = False) -> None:
    """An abnormal value or an error in the readable red (or back to normal with on=False)."""
    widget.setProperty(FLAG_PROPERTY, ("flag-bold" if bold else "flag") if on else "")
    if on:
        _recolour(widget)
    else:
        widget.setStyleSheet("")
    follow_palette_changes()


class _PaletteFollower(QWidget):
    """Never shown; like every widget it is told when the application's palette changes (a
    live switch between light and dark), and then recolours the marked widgets."""

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            # After the change has reached every widget: their palettes are still the old
            # ones while this event is delivered.
            QTimer.singleShot(0, recolour_all)


def readable_placeholders() -> None:
    """Give the application's palette a placeholder colour that reads at 4.5:1 on input fields:
    the hints in empty fields ("Name, city or state, e.g. mayo or denver") are instructions.
    Changes the palette only when needed, so the palette change it causes ends here."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    palette = app.palette()
    role = QPalette.ColorRole.PlaceholderText
    groups = (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive)
    base = palette.color(QPalette.ColorRole.Base)
    if all(contrast_ratio(palette.color(g, role), base) >= AA_NORMAL_TEXT for g in groups):
        return
    readable = muted_colour(palette)
    for group in groups:
        palette.setColor(group, role, readable)
    app.setPalette(palette)


def recolour_all() -> None:
    readable_placeholders()
    for widget in QApplication.allWidgets():
        if widget.property(FLAG_PROPERTY) or widget.property(MUTED_PROPERTY):
            _recolour(widget)


_follower: _PaletteFollower | None = None


def follow_palette_changes() -> None:
    """Create the follower once (the first marked widget does it)."""
    global _follower
    if _follower is None and QApplication.instance() is not None:
        _follower = _PaletteFollower()
        _follower.setObjectName("palette-follower")
