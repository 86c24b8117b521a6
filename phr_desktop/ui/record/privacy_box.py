"""A record's sensitivity (the patient may set it) and every share that held it: recipient,
type, when made, until when, and whether it is active, expired or revoked."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QWidget

from phr_desktop.services.errors import USER_ERRORS
from phr_desktop.services.sensitivity import label_records, patient_label
from phr_desktop.services.session import Session, StoredRecord
from phr_desktop.services.shared_with import SharedIn, shared_in

_LEVEL_NAMES = {"normal": "Normal", "sensitive": "Sensitive", "restricted": "Restricted"}
_TYPE_NAMES = {"provider": "provider", "family_member": "family member", "researcher": "researcher"}


def shared_line(share: SharedIn) -> str:
    kind = _TYPE_NAMES.get(share.recipient_type, share.recipient_type)
    return (
        f"{share.recipient or '(no label)'} ({kind})"
        f" — made {share.created_at[:10]}, until {share.expires[:10]}, {share.status}"
    )


class RecordPrivacyBox(QGroupBox):
    labelChanged = Signal(int)  # the record whose sensitivity the patient changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Sensitivity and sharing", parent)
        self._session: Session | None = None
        self._record_id: int | None = None
        self.level = QComboBox(self)
        self.level.setAccessibleName("Sensitivity")
        self.level.activated.connect(self._level_chosen)
        self.source_note = QLabel(self)
        self.source_note.setWordWrap(True)
        self.shared_label = QLabel("Not shared with anyone.", self)
        self.shared_label.setAccessibleName("Shared with")
        self.shared_label.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Sensitivity:", self.level)
        form.addRow("", self.source_note)
        form.addRow("Shared with:", self.shared_label)

    def set_session(self, session: Session | None) -> None:
        self._session = session
        self._record_id = None

    def show_record(self, stored: StoredRecord) -> None:
        if self._session is None:
            return
        self._record_id = stored.id
        source = stored.record.sensitivity
        self.level.blockSignals(True)
        self.level.clear()
        self.level.addItem(f"As the source says ({_LEVEL_NAMES.get(source, source)})", "source")
        for level, name in _LEVEL_NAMES.items():
            self.level.addItem(name, level)
        self.level.setCurrentIndex(
            self.level.findData(patient_label(self._session, stored.id) or "source")
        )
        self.level.blockSignals(False)
        self.source_note.setText(
            "The source marked this record restricted." if source == "restricted" else ""
        )
        self.source_note.setVisible(source == "restricted")
        shares = shared_in(self._session, stored.id)
        self.shared_label.setText(
            "\n".join(shared_line(s) for s in shares) if shares else "Not shared with anyone."
        )

    def _level_chosen(self, _index: int) -> None:
        if self._session is None or self._record_id is None:
            return
        try:
            label_records(self._session, [self._record_id], self.level.currentData())
        except USER_ERRORS as exc:
            self.source_note.setText(str(exc))
            self.source_note.setVisible(True)
            return
        self.labelChanged.emit(self._record_id)
