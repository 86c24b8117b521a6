"""Fonts, paragraph styles and small text helpers shared by the PDF exporters.

DejaVu Sans (shipped inside matplotlib) is embedded so "µmol/L", "≥" and names in any Latin,
Greek or Cyrillic script print as written; the PDF base fonts only cover Latin-1.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

# Compressed streams stay binary, not also ASCII85-armoured: reportlab's pure-Python A85
# encoder took 0.2 s of a 560-page record PDF and makes files ~20 % larger; 7-bit-clean PDF
# only matters for mail of the 1990s. (rl_config is reportlab's place for such settings.)
rl_config.useA85 = 0

FONT = "PhrSans"
FONT_BOLD = "PhrSans-Bold"
FONT_ITALIC = "PhrSans-Oblique"

INK = colors.HexColor("#1f2933")
MUTED = colors.HexColor("#5f6b7a")
ACCENT = colors.HexColor("#1d4e89")
RULE = colors.HexColor("#c9d2dc")
ZEBRA = colors.HexColor("#f3f6f9")
ALERT = colors.HexColor("#b42318")


@lru_cache(maxsize=1)
def register_fonts() -> None:
    """Register the embedded fonts once per process."""
    folder = _dejavu_folder()
    pdfmetrics.registerFont(TTFont(FONT, str(folder / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(folder / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_ITALIC, str(folder / "DejaVuSans-Oblique.ttf")))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC, boldItalic=FONT_BOLD
    )


def _dejavu_folder() -> Path:
    """matplotlib's bundled fonts, found without importing matplotlib (about 0.3 s with numpy)."""
    spec = importlib.util.find_spec("matplotlib")
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "mpl-data" / "fonts" / "ttf"
        if (folder / "DejaVuSans.ttf").is_file():
            return folder
    import matplotlib  # a frozen build may keep its data elsewhere: ask matplotlib itself

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def style(name: str, size: float = 9, **kwargs: object) -> ParagraphStyle:
    register_fonts()
    base: dict[str, object] = {
        "fontName": FONT,
        "fontSize": size,
        "leading": size * 1.25,
        "textColor": INK,
    }
    base.update(kwargs)
    return ParagraphStyle(name, **base)


def esc(text: object) -> str:
    """Plain text made safe for a reportlab Paragraph (which reads a small XML dialect): what
    xml.sax.saxutils.escape does, without importing it (it brings urllib and http.client,
    ~30 ms of every export's start)."""
    plain = "" if text is None else str(text)
    return plain.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def number(value: float) -> str:
    """A measured value without a spurious ".0" (22.0 -> "22", 1.17 -> "1.17")."""
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.3e}"
