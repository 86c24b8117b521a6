"""What to share: a preset, kinds/dates/tag, the records shown in the timeline, or everything.

Builds a `ShareSelection` and keeps a live count of the records it matches (recounted shortly
after the choice stops changing, so typing a date does not query on every key).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.domain.records import RecordKind, parse_partial_date
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.sensitivity import SensitivityCounts
from phr_desktop.services.session import Session
from phr_desktop.services.sharing import (
    PRESETS,
    ShareSelection,
    count_selection,
    count_selection_by_sensitivity,
)
from phr_desktop.ui import style
from phr_desktop.ui.kind_icons import kind_icon, kind_label
from phr_desktop.ui.partial_date_edit import CalendarButton
from phr_desktop.ui.timeline.view import tag_label

PRESET = "pulmonologist"
PRESET_TEXT = "Everything a new p&ulmonologist needs"
PRESET_DETAIL = (
    "The AATD work-up, lung function, augmentation therapy and liver follow-up, with your "
    "problems, medicines, allergies and vaccines."
)
_COUNT_DELAY_MS = 200
SHAREABLE_KINDS = tuple(k.value for k in RecordKind if k is not RecordKind.PATIENT)


class ShareChoiceBox(QGroupBox):
    """Radio choices; `selection()` raises ServiceError for a date it cannot read."""

    changed = Signal()

    def __init__(
        self,
        session: Session,
        timeline_ids: Sequence[int] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("What to share", parent)
        self.session: Session | None = session
        self.timeline_ids = tuple(timeline_ids or ())
        self.matching = 0
        # Restricted records join the count (and the share) only when the patient ticks the
        # dialog's "Include N restricted records"; `by_sensitivity` counts them either way.
        self.include_restricted = False
        self.by_sensitivity = SensitivityCounts()
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(_COUNT_DELAY_MS)
        self._count_timer.timeout.connect(self.recount)

        self.preset = QRadioButton(PRESET_TEXT, self)
        self.by_filter = QRadioButton("Records of these &kinds, dates and tag:", self)
        self.shown = QRadioButton(
            f"The {len(self.timeline_ids):,} records shown in the &timeline now", self
        )
        self.everything = QRadioButton("&Everything in this profile", self)
        self.modes = QButtonGroup(self)
        for button in (self.preset, self.by_filter, self.shown, self.everything):
            self.modes.addButton(button)
        self.preset.setChecked(True)
        self.shown.setVisible(bool(self.timeline_ids))

        self.filter_panel = QWidget(self)
        kinds = QGridLayout()
        self.kind_boxes: dict[str, QCheckBox] = {}
        for n, kind in enumerate(SHAREABLE_KINDS):
            box = QCheckBox(kind_label(kind), self.filter_panel)
            box.setIcon(kind_icon(kind))
            box.toggled.connect(self._schedule_count)
            kinds.addWidget(box, n // 4, n % 4)
            self.kind_boxes[kind] = box
        self.since = QLineEdit(self.filter_panel, placeholderText="From: YYYY, YYYY-MM, YYYY-MM-DD")
        self.since.setAccessibleName("From date")
        self.until = QLineEdit(self.filter_panel, placeholderText="To: YYYY, YYYY-MM, YYYY-MM-DD")
        self.until.setAccessibleName("To date")
        self.tag = QComboBox(self.filter_panel)
        self.tag.setAccessibleName("Tag")
        self.tag.addItem("Any tag", None)
        for tag in session.tags():
            self.tag.addItem(tag_label(tag), tag)
        for edit in (self.since, self.until):
            edit.setClearButtonEnabled(True)
            edit.textChanged.connect(self._schedule_count)
        self.since_calendar = CalendarButton(
            self.since, "Pick the from date", self.filter_panel, compact=True
        )
        self.until_calendar = CalendarButton(
            self.until, "Pick the to date", self.filter_panel, compact=True
        )
        self.tag.currentIndexChanged.connect(self._schedule_count)
        dates = QHBoxLayout()
        dates.addWidget(self.since, 1)
        dates.addWidget(self.since_calendar)
        dates.addWidget(QLabel("–", self.filter_panel))
        dates.addWidget(self.until, 1)
        dates.addWidget(self.until_calendar)
        dates.addWidget(self.tag, 1)
        panel = QVBoxLayout(self.filter_panel)
        panel.setContentsMargins(24, 0, 0, 0)
        panel.addWidget(style.muted("No kind ticked means every kind.", self.filter_panel))
        panel.addLayout(kinds)
        panel.addLayout(dates)

        self.count_label = QLabel(self)
        self.count_label.setAccessibleName("Matching records")
        layout = QVBoxLayout(self)
        layout.addWidget(self.preset)
        detail = style.muted(PRESET_DETAIL, self)
        detail.setContentsMargins(24, 0, 0, 0)
        layout.addWidget(detail)
        layout.addWidget(self.by_filter)
        layout.addWidget(self.filter_panel)
        layout.addWidget(self.shown)
        layout.addWidget(self.everything)
        layout.addWidget(self.count_label)
        self.modes.buttonToggled.connect(self._mode_toggled)
        self._mode_changed()

    # --- the choice ---------------------------------------------------------------------------

    @staticmethod
    def _date(edit: QLineEdit, what: str) -> str | None:
        text = edit.text().strip()
        if not text:
            return None
        parsed = parse_partial_date(text)
        if parsed is None:
            raise ServiceError(f"The {what} date “{text}” is not a date; use YYYY-MM-DD.")
        return parsed.text[:10]

    def selection(self) -> ShareSelection:
        if self.preset.isChecked():
            return PRESETS[PRESET]
        if self.shown.isChecked():
            return ShareSelection(record_ids=self.timeline_ids)
        if self.everything.isChecked():
            return ShareSelection()
        since, until = self._date(self.since, "from"), self._date(self.until, "to")
        if since and until and since > until:
            raise ServiceError("The from date is after the to date.")
        return ShareSelection(
            kinds=tuple(k for k, box in self.kind_boxes.items() if box.isChecked()),
            since=since,
            until=until,
            tag=self.tag.currentData(),
        )

    # --- the live count -----------------------------------------------------------------------

    def _mode_toggled(self, _button: QAbstractButton, checked: bool) -> None:
        if checked:
            self._mode_changed()

    def _mode_changed(self) -> None:
        self.filter_panel.setEnabled(self.by_filter.isChecked())
        self.recount()

    def _schedule_count(self) -> None:
        self._count_timer.start()

    def recount(self) -> None:
        self._count_timer.stop()
        if self.session is None:
            return
        try:
            selection = self.selection()
            self.matching = count_selection(self.session, selection, self.include_restricted)
            self.by_sensitivity = count_selection_by_sensitivity(self.session, selection)
        except ServiceError as exc:
            self.matching = 0
            self.by_sensitivity = SensitivityCounts()
            self.count_label.setText(str(exc))
        else:
            self.count_label.setText(
                "No records match this choice."
                if not self.matching
                else f"{self.matching:,} record(s) match."
            )
        self.changed.emit()

    def clear(self) -> None:
        self._count_timer.stop()
        self.session = None
        self.timeline_ids = ()
