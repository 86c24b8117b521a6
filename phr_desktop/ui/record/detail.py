"""One record in full: its values, trend, related records, the patient's notes and corrections,
attached files, and the raw resource exactly as the source sent it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.domain.codes import SYSTEM_NAMES
from phr_desktop.domain.records import Record, RecordKind
from phr_desktop.services.aat_reading import aat_reading
from phr_desktop.services.patient_facts import patient_facts
from phr_desktop.services.plain_words import interpretation_words, status_words
from phr_desktop.services.record_reader import RecordReader
from phr_desktop.services.session import Session, StoredRecord
from phr_desktop.ui.kind_icons import kind_icon, kind_label
from phr_desktop.ui.readable_colours import mark_flag, mark_muted
from phr_desktop.ui.record.context_rows import RecordContextRows
from phr_desktop.ui.record.files_tab import RecordFilesTab
from phr_desktop.ui.record.notes_tab import RecordNotesTab
from phr_desktop.ui.record.privacy_box import RecordPrivacyBox
from phr_desktop.ui.record.sources_box import RecordSourcesBox
from phr_desktop.ui.record.trend_chart import TrendChart
from phr_desktop.ui.screen_fit import scrolling
from phr_desktop.ui.style import named_list
from phr_desktop.ui.timeline.model import (
    abnormal_flag,
    format_date,
    format_reference_range,
    format_value,
)

_RELATED_SHOWN = 200  # a weekly infusion gives hundreds of "same test" records; list the newest
_PRECISION_WORDS = {"year": "the year only", "month": "the month only"}
_FLAG_WORDS = {"high": "↑ Above the range", "low": "↓ Below the range", "abnormal": "! Abnormal"}
_FIELDS = ("Date", "Value", "Reference range", "Flag", "Interpretation", "Status", "Facility",
           "Source system", "Codes")  # fmt: skip


def pretty_json(raw: bytes) -> str:
    """Indent JSON without re-parsing it, so numbers stay as the source wrote them ("1.50")."""
    text = raw.decode("utf-8", errors="replace")
    out: list[str] = []
    depth, in_string, escaped = 0, False, False
    for ch in text:
        if in_string:
            out.append(ch)
            escaped = not escaped and ch == "\\"
            in_string = escaped or ch != '"'
            continue
        if ch in " \t\r\n":
            continue
        if ch == '"':
            in_string = True
            out.append(ch)
        elif ch in "{[":
            depth += 1
            out.append(ch + "\n" + "  " * depth)
        elif ch in "}]":
            depth -= 1
            if out and out[-1].endswith(("{\n" + "  " * (depth + 1), "[\n" + "  " * (depth + 1))):
                out[-1] = out[-1].rstrip()  # an empty {} or [] stays on one line
                out.append(ch)
            else:
                out.append("\n" + "  " * depth + ch)
        elif ch == ",":
            out.append(",\n" + "  " * depth)
        elif ch == ":":
            out.append(": ")
        else:
            out.append(ch)
    return "".join(out)


def _line_for(stored: StoredRecord) -> str:
    r = stored.record
    value = format_value(r)
    return f"{format_date(r.effective)}   {r.title}" + (f"   {value}" if value else "")


def _codes_text(record: Record) -> str:
    lines = []
    for c in record.codes:
        if not c.code and not c.display:
            continue
        system = SYSTEM_NAMES.get(c.system or "", c.system or "Local code")
        lines.append(f"{system} {c.code or ''}" + (f" — {c.display}" if c.display else ""))
    return "\n".join(lines)


def _flag_text(record: Record, flag: str | None) -> str:
    """An AAT level tells one story (protective level and lab range together); any other
    result its flag against the range."""
    reading = aat_reading(record)
    if reading is not None:
        return ("↓ " if reading.below_protective else "") + reading.text
    return _FLAG_WORDS.get(flag or "", "Normal" if record.reference_range else "—")


class RecordDetailView(QWidget):
    recordActivated = Signal(int)  # a related record was chosen
    recordEdited = Signal(int)  # a note or a correction was added to the shown record

    def __init__(self, session: RecordReader | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._record_id: int | None = None
        self._build()
        self.shared.set_session(session if isinstance(session, Session) else None)
        self._apply_mode()
        self.clear()

    # --- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        self.stack = QStackedWidget(self)
        self.empty = QLabel("Choose a record on the timeline to see it here.", self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        mark_muted(self.empty)
        self.stack.addWidget(self.empty)

        page = QWidget(self)
        self.icon = QLabel(page)
        self.title = QLabel(page)
        self.title.setAccessibleName("Record title")
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.45)
        font.setBold(True)
        self.title.setFont(font)
        self.subtitle = QLabel(page)
        self.subtitle.setAccessibleName("Record summary")
        mark_muted(self.subtitle)
        self.quality = QLabel(page)
        self.quality.setAccessibleName("Data quality")
        self.quality.setWordWrap(True)
        header = QHBoxLayout()
        header.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        titles.addWidget(self.title)
        titles.addWidget(self.subtitle)
        header.addLayout(titles, 1)

        self.tabs = QTabWidget(page)
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self._summary_tab(), "Summary")
        # Related and Notes scroll rather than set the pane's minimum height: stacked lists and
        # forms asked for 480 px, more than a share viewer has under its banner at 1024×700.
        self.tabs.addTab(scrolling(self._related_tab(), self), "Related")
        self.notes_tab = RecordNotesTab(self._session, self)
        self.notes_tab.recordEdited.connect(self.recordEdited)
        self.tabs.addTab(scrolling(self.notes_tab, self), "Notes")
        self.files_tab = RecordFilesTab(self._session, self)
        self.tabs.addTab(self.files_tab, "Files")
        self.tabs.addTab(self._source_tab(), "Source")
        self._expose_tab_widgets()
        layout = QVBoxLayout(page)
        layout.addLayout(header)
        layout.addWidget(self.quality)
        layout.addWidget(self.tabs, 1)
        self.stack.addWidget(page)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

    def _summary_tab(self) -> QWidget:
        body = QWidget(self)
        form = self._form = QFormLayout()
        self.fields: dict[str, QLabel] = {}
        for name in _FIELDS:
            label = QLabel(body)
            label.setAccessibleName(name)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{name}:", label)
            self.fields[name] = label
        self.context_rows = RecordContextRows(form, body, self.recordActivated.emit)
        self.chart = TrendChart(body)
        self.text_box = QGroupBox("Text from the source", body)
        self.text_view = QPlainTextEdit(self.text_box)
        self.text_view.setAccessibleName("What the record says")
        self.text_view.setReadOnly(True)
        self.text_view.setTabChangesFocus(True)
        self.text_view.setMinimumHeight(self.fontMetrics().lineSpacing() * 8)
        QVBoxLayout(self.text_box).addWidget(self.text_view)
        self.sources = RecordSourcesBox(self._session, body)
        self.sources.changed.connect(self.recordEdited)
        # Sensitivity and the shares that held the record: the patient's own profile only.
        self.shared = RecordPrivacyBox(body)
        self.shared.labelChanged.connect(self.recordEdited)
        self.shared_label = self.shared.shared_label
        self.sensitivity_combo = self.shared.level
        layout = QVBoxLayout(body)
        layout.addLayout(form)
        layout.addWidget(self.sources)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.text_box, 1)
        layout.addWidget(self.shared)
        layout.addStretch(0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        return scroll

    def _related_tab(self) -> QWidget:
        tab = QWidget(self)
        layout = QVBoxLayout(tab)
        self.related_lists: dict[str, QListWidget] = {}
        self.related_boxes: dict[str, QGroupBox] = {}
        for key, heading in (("same_test", "Same test"), ("same_encounter", "Same visit"),
                             ("same_day", "Same day")):  # fmt: skip
            box = QGroupBox(heading, tab)
            widget = named_list(heading, box)
            widget.itemActivated.connect(self._related_chosen)
            QVBoxLayout(box).addWidget(widget)
            layout.addWidget(box, 1)
            self.related_lists[key], self.related_boxes[key] = widget, box
        hint = QLabel("Double-click or press Enter to open a related record.", tab)
        mark_muted(hint)
        layout.addWidget(hint)
        return tab

    def _expose_tab_widgets(self) -> None:
        """The Notes and Files tabs' widgets, on the view where the windows and tests find them."""
        notes, files = self.notes_tab, self.files_tab
        self.notes_heading = notes.notes_heading
        self.notes_list = notes.notes_list
        self.note_edit = notes.note_edit
        self.add_note_button = notes.add_note_button
        self.note_error = notes.note_error
        self.corrections_heading = notes.corrections_heading
        self.corrections_list = notes.corrections_list
        self.correct_button = notes.correct_button
        self.files_list = files.files_list
        self.open_button = files.open_button
        self.save_button = files.save_button

    def _source_tab(self) -> QWidget:
        self.source_text = QPlainTextEdit(self)
        self.source_text.setAccessibleName("Source resource")
        self.source_text.setReadOnly(True)
        self.source_text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.source_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        return self.source_text

    # --- public API ----------------------------------------------------------------------

    def set_session(self, session: RecordReader | None) -> None:
        self.clear()
        self._session = session
        self.notes_tab.set_session(session)
        self.files_tab.set_session(session)
        self.sources.set_session(session)
        self.shared.set_session(session if isinstance(session, Session) else None)
        self._apply_mode()

    @property
    def own_profile(self) -> bool:
        """The patient's own profile (notes, corrections, files opened); not a share viewed."""
        return isinstance(self._session, Session)

    def _apply_mode(self) -> None:
        """A share is read-only: no note, correction or temporary copy of a file is made."""
        own = self.own_profile or self._session is None
        self.notes_tab.set_own_profile(own)
        self.files_tab.set_can_open(own)
        self.shared.setVisible(own)

    def record_id(self) -> int | None:
        return self._record_id

    def show_record(self, record_id: int) -> None:
        if self._session is None:
            return
        stored = self._session.record(record_id)
        self._record_id = record_id
        r = stored.record
        self.icon.setPixmap(kind_icon(r.kind.value).pixmap(40, 40))
        self.title.setText(r.title)
        parts = (kind_label(r.kind.value), format_date(r.effective), r.source_system)
        self.subtitle.setText(" · ".join(p for p in parts if p))
        self.quality.setVisible(bool(r.quality))
        self.quality.setText("⚠ Data-quality problem: " + "; ".join(r.quality))
        mark_flag(self.quality)
        self._fill_fields(r)
        context = self._session.context(record_id)
        self.context_rows.show(context, is_study=r.resource_type == "ImagingStudy")
        if r.facility in {p.name for p in context.people}:  # a prescriber is not a facility
            self._form.setRowVisible(self.fields["Facility"], False)
        self._fill_chart(stored)
        self._fill_text(record_id)
        self._fill_related(record_id)
        self.sources.show_record(record_id)
        self.shared.show_record(stored)
        self.notes_tab.show_record(record_id)
        files = self.files_tab.show_record(record_id)
        files_title = f"Files ({files})" if files else "Files"
        self.tabs.setTabText(self.tabs.indexOf(self.files_tab), files_title)
        self.source_text.setPlainText(pretty_json(self._session.raw_source(record_id)))
        self.stack.setCurrentIndex(1)

    def clear(self) -> None:
        """Show nothing (the app is locking); plaintext temp copies are deleted too."""
        self._record_id = None
        self.context_rows.clear()
        self.chart.clear()
        for widget in self.related_lists.values():
            widget.clear()
        self.notes_tab.clear()
        self.sources.clear()
        self.files_tab.clear()
        self.source_text.clear()
        self.text_view.clear()
        self.stack.setCurrentIndex(0)

    def add_note(self) -> None:
        self.notes_tab.add_note()

    def cleanup_temp_files(self) -> None:
        self.files_tab.cleanup_temp_files()

    def open_attachment(self) -> Path | None:
        """Open the selected file with the system viewer; returns the temporary copy's path."""
        return self.files_tab.open_attachment()

    def save_attachment(self, target: Path) -> None:
        self.files_tab.save_attachment(target)

    # --- filling -------------------------------------------------------------------------

    def _fill_fields(self, r: Record) -> None:
        date = format_date(r.effective, with_time=True)
        if r.effective and r.effective.precision.value in _PRECISION_WORDS:
            date += f"  ({_PRECISION_WORDS[r.effective.precision.value]})"
        flag = abnormal_flag(r)
        values = {
            "Date": date,
            "Value": format_value(r) or "—",
            "Reference range": format_reference_range(r) or "—",
            "Flag": _flag_text(r, flag),
            "Interpretation": interpretation_words(r.interpretation) or "—",  # "L" → "Low"
            "Status": status_words(r.status, r.kind.value) or "—",  # "final" is not shown
            "Facility": r.facility or "—",
            "Source system": r.source_system or "—",
            "Codes": _codes_text(r) or "—",
        }
        self._patient_rows(r, values)
        for name, text in values.items():
            self.fields[name].setText(text)
            optional = name in (
                "Value", "Reference range", "Flag", "Interpretation", "Status", "Facility",
            )  # fmt: skip
            self._form.setRowVisible(self.fields[name], text != "—" or not optional)
        for name in ("Value", "Flag"):
            mark_flag(self.fields[name], bool(flag), bold=True)

    # --- a patient record: born (age) and sex, not "Date" and "Status" ------------------------

    def _patient_rows(self, r: Record, values: dict[str, str]) -> None:
        patient = r.kind is RecordKind.PATIENT and self._record_id is not None
        for name, label in (("Date", "Born" if patient else "Date"),
                            ("Status", "Sex" if patient else "Status")):  # fmt: skip
            row_label = self._form.labelForField(self.fields[name])
            if isinstance(row_label, QLabel):
                row_label.setText(f"{label}:")
        if not patient or self._session is None or self._record_id is None:
            return
        facts = patient_facts(self._session, self._record_id)
        born = format_date(facts.born) if facts.born else "—"
        values["Date"] = f"{born} (age {facts.age})" if facts.age is not None else born
        values["Status"] = facts.sex or "Not recorded"

    def _fill_chart(self, stored: StoredRecord) -> None:
        assert self._session is not None
        value = stored.record.value
        numeric = value is not None and value.value is not None
        self.chart.setVisible(numeric)
        self.chart.set_trend(self._session.views.trend(stored.id) if numeric else None)

    def _fill_text(self, record_id: int) -> None:
        """The source's own words: a document's text (for an imported C-CDA, every section's
        narrative), a note's body, a result's comment."""
        assert self._session is not None
        text = self._session.record_text(record_id)
        self.text_view.setPlainText(text)
        self.text_box.setVisible(bool(text.strip()))

    def _fill_related(self, record_id: int) -> None:
        assert self._session is not None
        related = self._session.views.related(record_id)
        groups = {
            "same_test": list(reversed(related.same_test)),  # newest first
            "same_encounter": related.same_encounter,
            "same_day": related.same_day,
        }
        for key, records in groups.items():
            widget = self.related_lists[key]
            widget.clear()
            for stored in records[:_RELATED_SHOWN]:
                item = QListWidgetItem(kind_icon(stored.record.kind.value), _line_for(stored))
                item.setData(Qt.ItemDataRole.UserRole, stored.id)
                widget.addItem(item)
            title = self.related_boxes[key].title().split(" (")[0]
            self.related_boxes[key].setTitle(f"{title} ({len(records)})")

    # --- actions -------------------------------------------------------------------------

    def _related_chosen(self, item: QListWidgetItem) -> None:
        self.recordActivated.emit(int(item.data(Qt.ItemDataRole.UserRole)))
