"""One record in full: its values, trend, related records, the patient's notes and corrections,
attached files, and the raw resource exactly as the source sent it."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.domain.codes import SYSTEM_NAMES
from phr_desktop.domain.records import Record
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.record_reader import RecordReader
from phr_desktop.services.session import Session, StoredRecord
from phr_desktop.ui.kind_icons import kind_icon, kind_label
from phr_desktop.ui.manual_entry import CorrectionDialog
from phr_desktop.ui.timeline_model import (
    abnormal_colour,
    abnormal_flag,
    format_date,
    format_reference_range,
    format_value,
)
from phr_desktop.ui.trend_chart import TrendChart

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


class RecordDetailView(QWidget):
    recordActivated = Signal(int)  # a related record was chosen
    recordEdited = Signal(int)  # a note or a correction was added to the shown record

    def __init__(self, session: RecordReader | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._record_id: int | None = None
        self._temp_dir: Path | None = None
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.cleanup_temp_files)
        self._build()
        self._apply_mode()
        self.clear()

    # --- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        self.stack = QStackedWidget(self)
        self.empty = QLabel("Choose a record on the timeline to see it here.", self)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setForegroundRole(QPalette.ColorRole.PlaceholderText)
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
        self.subtitle.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # muted, any theme
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
        self.tabs.addTab(self._related_tab(), "Related")
        self.tabs.addTab(self._notes_tab(), "Notes")
        self.tabs.addTab(self._files_tab(), "Files")
        self.tabs.addTab(self._source_tab(), "Source")
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
        self.chart = TrendChart(body)
        self.text_box = QGroupBox("Text from the source", body)
        self.text_view = QPlainTextEdit(self.text_box)
        self.text_view.setAccessibleName("What the record says")
        self.text_view.setReadOnly(True)
        self.text_view.setTabChangesFocus(True)
        self.text_view.setMinimumHeight(self.fontMetrics().lineSpacing() * 8)
        QVBoxLayout(self.text_box).addWidget(self.text_view)
        self.shared = QGroupBox("Shared with", body)
        self.shared_label = QLabel("Not shared with anyone.", self.shared)
        self.shared_label.setAccessibleName("Shared with")
        QVBoxLayout(self.shared).addWidget(self.shared_label)
        layout = QVBoxLayout(body)
        layout.addLayout(form)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.text_box, 1)
        layout.addWidget(self.shared)
        layout.addStretch(0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(body)
        return scroll

    def _list(self, name: str, parent: QWidget) -> QListWidget:
        widget = QListWidget(parent)
        widget.setAccessibleName(name)
        widget.setUniformItemSizes(True)
        return widget

    def _related_tab(self) -> QWidget:
        tab = QWidget(self)
        layout = QVBoxLayout(tab)
        self.related_lists: dict[str, QListWidget] = {}
        self.related_boxes: dict[str, QGroupBox] = {}
        for key, heading in (("same_test", "Same test"), ("same_encounter", "Same visit"),
                             ("same_day", "Same day")):  # fmt: skip
            box = QGroupBox(heading, tab)
            widget = self._list(heading, box)
            widget.itemActivated.connect(self._related_chosen)
            QVBoxLayout(box).addWidget(widget)
            layout.addWidget(box, 1)
            self.related_lists[key], self.related_boxes[key] = widget, box
        hint = QLabel("Double-click or press Enter to open a related record.", tab)
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout.addWidget(hint)
        return tab

    def _notes_tab(self) -> QWidget:
        tab = QWidget(self)
        self.notes_list = self._list("My notes", tab)
        self.notes_list.setWordWrap(True)
        self.notes_list.setUniformItemSizes(False)
        self.note_edit = QPlainTextEdit(tab)
        self.note_edit.setAccessibleName("New note")
        self.note_edit.setPlaceholderText("Add a note of your own about this record…")
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setMaximumHeight(self.fontMetrics().lineSpacing() * 5)
        self.add_note_button = QPushButton("Add note", tab)
        self.add_note_button.clicked.connect(self.add_note)
        self.note_error = QLabel(tab)
        self.note_error.setStyleSheet(f"color: {abnormal_colour(self.palette()).name()};")
        self.corrections_list = self._list("My corrections", tab)
        self.correct_button = QPushButton("Correct this…", tab)
        self.correct_button.setAccessibleName("Correct this record")
        self.correct_button.clicked.connect(self._correct)
        self.notes_heading = QLabel("My notes", tab)
        self.corrections_heading = QLabel(
            "My corrections (the source record is kept as it came)", tab
        )
        layout = QVBoxLayout(tab)
        layout.addWidget(self.notes_heading)
        layout.addWidget(self.notes_list, 2)
        layout.addWidget(self.note_edit)
        row = QHBoxLayout()
        row.addWidget(self.note_error, 1)
        row.addWidget(self.add_note_button)
        layout.addLayout(row)
        layout.addWidget(self.corrections_heading)
        layout.addWidget(self.corrections_list, 1)
        layout.addWidget(self.correct_button, 0, Qt.AlignmentFlag.AlignRight)
        return tab

    def _files_tab(self) -> QWidget:
        tab = QWidget(self)
        self.files_list = self._list("Attached files", tab)
        self.files_list.itemActivated.connect(lambda _i: self.open_attachment())
        self.open_button = QPushButton("Open", tab)
        self.open_button.clicked.connect(self.open_attachment)
        self.save_button = QPushButton("Save as…", tab)
        self.save_button.clicked.connect(self._save_attachment_as)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.open_button)
        row.addWidget(self.save_button)
        layout = QVBoxLayout(tab)
        layout.addWidget(self.files_list, 1)
        layout.addLayout(row)
        return tab

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
        self._apply_mode()

    @property
    def own_profile(self) -> bool:
        """The patient's own profile (notes, corrections, files opened); not a share viewed."""
        return isinstance(self._session, Session)

    def _apply_mode(self) -> None:
        """A share is read-only: no note, correction or temporary copy of a file is made."""
        own = self.own_profile or self._session is None
        for widget in (self.note_edit, self.add_note_button, self.note_error,
                       self.corrections_heading, self.corrections_list, self.correct_button,
                       self.shared):  # fmt: skip
            widget.setVisible(own)
        self.notes_heading.setText("My notes" if own else "The patient's notes")
        self.notes_list.setAccessibleName("My notes" if own else "The patient's notes")
        self.open_button.setVisible(own)  # opening needs a plaintext copy in a temporary folder

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
        self.quality.setStyleSheet(f"color: {abnormal_colour(self.palette()).name()};")
        self._fill_fields(r)
        self._fill_chart(stored)
        self._fill_text(record_id)
        self._fill_related(record_id)
        self._fill_notes()
        self._fill_files()
        self.source_text.setPlainText(pretty_json(self._session.raw_source(record_id)))
        self.stack.setCurrentIndex(1)

    def clear(self) -> None:
        """Show nothing (the app is locking); plaintext temp copies are deleted too."""
        self._record_id = None
        self.chart.clear()
        for widget in (self.notes_list, self.corrections_list, self.files_list,
                       *self.related_lists.values()):  # fmt: skip
            widget.clear()
        self.source_text.clear()
        self.text_view.clear()
        self.note_edit.clear()
        self.stack.setCurrentIndex(0)
        self.cleanup_temp_files()

    def add_note(self) -> None:
        if not isinstance(self._session, Session) or self._record_id is None:
            return
        try:
            self._session.add_note(self._record_id, self.note_edit.toPlainText())
        except ServiceError as error:
            self.note_error.setText(str(error))
            return
        self.note_error.clear()
        self.note_edit.clear()
        self._fill_notes()
        self.recordEdited.emit(self._record_id)

    def cleanup_temp_files(self) -> None:
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def open_attachment(self) -> Path | None:
        """Open the selected file with the system viewer; returns the temporary copy's path.

        The copy is plaintext outside the vault (a viewer cannot read the encrypted file), so
        it lives in a private folder (0700, file 0600) that is deleted on lock and at exit.
        """
        item = self.files_list.currentItem()
        if not self.own_profile or self._session is None or item is None:
            return None
        attachment_id, filename = item.data(Qt.ItemDataRole.UserRole)
        if self._temp_dir is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="phr-open-"))
        path = self._temp_dir / f"{attachment_id}-{Path(filename).name or 'attachment'}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self._session.attachment_data(attachment_id))
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        return path

    def save_attachment(self, target: Path) -> None:
        item = self.files_list.currentItem()
        if self._session is None or item is None:
            return
        target.write_bytes(self._session.attachment_data(item.data(Qt.ItemDataRole.UserRole)[0]))

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
            "Flag": _FLAG_WORDS.get(flag or "", "Normal" if r.reference_range else "—"),
            "Interpretation": r.interpretation or "—",
            "Status": r.status or "—",
            "Facility": r.facility or "—",
            "Source system": r.source_system or "—",
            "Codes": _codes_text(r) or "—",
        }
        for name, text in values.items():
            self.fields[name].setText(text)
            optional = name in ("Value", "Reference range", "Flag", "Interpretation", "Facility")
            self._form.setRowVisible(self.fields[name], text != "—" or not optional)
        colour = abnormal_colour(self.palette()).name() if flag else ""
        for name in ("Value", "Flag"):
            self.fields[name].setStyleSheet(f"color: {colour}; font-weight: 600;" if flag else "")

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

    def _fill_notes(self) -> None:
        assert self._session is not None and self._record_id is not None
        self.notes_list.clear()
        for _note_id, text, created in self._session.notes(self._record_id):
            self.notes_list.addItem(f"{created[:10]}  {text}" if created else text)
        self.corrections_list.clear()
        for _cid, field, value, reason, created in self._session.corrections(self._record_id):
            why = f" — {reason}" if reason else ""
            self.corrections_list.addItem(f"{created[:10]}  {field} should be “{value}”{why}")

    def _fill_files(self) -> None:
        assert self._session is not None and self._record_id is not None
        self.files_list.clear()
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon)
        for attachment_id, filename, content_type, size in self._session.attachments(
            self._record_id
        ):
            label = f"{filename or 'attachment'}  ({content_type}, {max(1, size // 1024)} KB)"
            item = QListWidgetItem(icon, label)
            item.setData(Qt.ItemDataRole.UserRole, (attachment_id, filename or "attachment"))
            self.files_list.addItem(item)
        if self.files_list.count():
            self.files_list.setCurrentRow(0)
        has_files = self.files_list.count() > 0
        self.open_button.setEnabled(has_files)
        self.save_button.setEnabled(has_files)
        self.tabs.setTabText(3, f"Files ({self.files_list.count()})" if has_files else "Files")

    # --- actions -------------------------------------------------------------------------

    def _related_chosen(self, item: QListWidgetItem) -> None:
        self.recordActivated.emit(int(item.data(Qt.ItemDataRole.UserRole)))

    def _correct(self) -> None:
        if not isinstance(self._session, Session) or self._record_id is None:
            return
        dialog = CorrectionDialog(self._session, self._record_id, self)
        if dialog.exec():
            self._fill_notes()
            self.recordEdited.emit(self._record_id)

    def _save_attachment_as(self) -> None:
        item = self.files_list.currentItem()
        if item is None:
            return
        name = item.data(Qt.ItemDataRole.UserRole)[1]
        chosen, _ = QFileDialog.getSaveFileName(self, "Save the file as", name)
        if chosen:
            self.save_attachment(Path(chosen))
