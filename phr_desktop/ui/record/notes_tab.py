"""The record detail's Notes tab: the patient's own notes and corrections, kept beside the
source record; in a share viewed, the patient's notes only, read-only."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from phr_desktop.services.errors import ServiceError
from phr_desktop.services.record_reader import RecordReader
from phr_desktop.services.session import Session
from phr_desktop.ui.manual_entry import CorrectionDialog
from phr_desktop.ui.readable_colours import mark_flag
from phr_desktop.ui.style import named_list


class RecordNotesTab(QWidget):
    recordEdited = Signal(int)  # a note or a correction was added to the shown record

    def __init__(self, session: RecordReader | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._record_id: int | None = None
        self.notes_list = named_list("My notes", self)
        self.notes_list.setWordWrap(True)
        self.notes_list.setUniformItemSizes(False)
        self.note_edit = QPlainTextEdit(self)
        self.note_edit.setAccessibleName("New note")
        self.note_edit.setPlaceholderText("Add a note of your own about this record…")
        self.note_edit.setTabChangesFocus(True)
        self.note_edit.setMaximumHeight(self.fontMetrics().lineSpacing() * 5)
        self.add_note_button = QPushButton("Add note", self)
        self.add_note_button.clicked.connect(self.add_note)
        self.note_error = QLabel(self)
        mark_flag(self.note_error)
        self.corrections_list = named_list("My corrections", self)
        self.correct_button = QPushButton("Correct this…", self)
        self.correct_button.setAccessibleName("Correct this record")
        self.correct_button.clicked.connect(self._correct)
        self.notes_heading = QLabel("My notes", self)
        self.corrections_heading = QLabel(
            "My corrections (the source record is kept as it came)", self
        )
        layout = QVBoxLayout(self)
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

    def set_session(self, session: RecordReader | None) -> None:
        self._session = session

    def set_own_profile(self, own: bool) -> None:
        """The patient's own notes can be added to and corrected; a share's are only read."""
        for widget in (self.note_edit, self.add_note_button, self.note_error,
                       self.corrections_heading, self.corrections_list,
                       self.correct_button):  # fmt: skip
            widget.setVisible(own)
        self.notes_heading.setText("My notes" if own else "The patient's notes")
        self.notes_list.setAccessibleName("My notes" if own else "The patient's notes")

    def show_record(self, record_id: int) -> None:
        self._record_id = record_id
        self._fill()

    def clear(self) -> None:
        self._record_id = None
        self.notes_list.clear()
        self.corrections_list.clear()
        self.note_edit.clear()

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
        self._fill()
        self.recordEdited.emit(self._record_id)

    def _fill(self) -> None:
        assert self._session is not None and self._record_id is not None
        self.notes_list.clear()
        for _note_id, text, created in self._session.notes(self._record_id):
            self.notes_list.addItem(f"{created[:10]}  {text}" if created else text)
        self.corrections_list.clear()
        for _cid, field, value, reason, created in self._session.corrections(self._record_id):
            why = f" — {reason}" if reason else ""
            self.corrections_list.addItem(f"{created[:10]}  {field} should be “{value}”{why}")

    def _correct(self) -> None:
        if not isinstance(self._session, Session) or self._record_id is None:
            return
        dialog = CorrectionDialog(self._session, self._record_id, self)
        if dialog.exec():
            self._fill()
            self.recordEdited.emit(self._record_id)
