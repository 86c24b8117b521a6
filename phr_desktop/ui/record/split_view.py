"""The timeline beside the chosen record's detail: the split view that both a profile's window
and a share's viewer show."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QWidget

from phr_desktop.services.record_reader import RecordReader
from phr_desktop.ui.record.detail import RecordDetailView
from phr_desktop.ui.timeline.view import TimelineView


def timeline_beside_detail(
    session: RecordReader | None, parent: QWidget
) -> tuple[QSplitter, TimelineView, RecordDetailView]:
    """A splitter holding the timeline (3 parts of the width) and the detail (2), neither of
    which can be collapsed to nothing."""
    splitter = QSplitter(Qt.Orientation.Horizontal, parent)
    splitter.setChildrenCollapsible(False)
    timeline = TimelineView(session, splitter)
    detail = RecordDetailView(session, splitter)
    splitter.addWidget(timeline)
    splitter.addWidget(detail)
    splitter.setStretchFactor(0, 3)
    splitter.setStretchFactor(1, 2)
    return splitter, timeline, detail
