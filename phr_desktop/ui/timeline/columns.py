"""The timeline's columns at any window width: the title takes what is left, and when that
would be too little to read, the columns the detail pane repeats give way first.

At 1024×700 with a record open the tree is about 600 px wide: date, value, kind and source at
their natural widths left the title 31 px ("F…"), which is the one column a patient reads.
"""

from __future__ import annotations

from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QHeaderView

TITLE = 1
# Given up in this order: the source and the kind are in the detail pane (and the kind is the
# row's icon); the date and the value stay.
GIVE_WAY = (4, 3)
TITLE_CHARS = 24  # "Alpha-1 antitrypsin, serum" reads whole; longer titles elide at the end


def title_min_width(metrics: QFontMetrics) -> int:
    return metrics.averageCharWidth() * TITLE_CHARS


def fit_columns(header: QHeaderView, preferred: dict[int, int], available: int, need: int) -> None:
    """Show every column at its preferred width if the title still gets `need`; otherwise hide
    the columns in GIVE_WAY order until it does (or none is left to hide)."""
    shown = dict(preferred)
    for column in GIVE_WAY:
        if available - sum(shown.values()) >= need:
            break
        shown.pop(column, None)
    for column, width in preferred.items():
        header.setSectionHidden(column, column not in shown)
        if column in shown and header.sectionSize(column) != width:
            header.resizeSection(column, width)
