"""Edit → Sensitivity: show restricted records for this session (the passphrase asked again),
hide them again, and label every record the timeline shows at once."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QInputDialog, QLineEdit, QMenu, QMessageBox, QWidget

from phr_desktop.services.errors import USER_ERRORS
from phr_desktop.services.sensitivity import (
    hide_restricted,
    label_records,
    restricted_revealed,
    reveal_restricted,
)
from phr_desktop.services.session import RecordFilter, Session

# What the patient picks, and the level it sets ("source": back to what the source said).
LEVEL_CHOICES: tuple[tuple[str, str], ...] = (
    ("Normal", "normal"),
    ("Sensitive (shown; counted in every share and export)", "sensitive"),
    ("Restricted (hidden; left out of shares and exports unless included)", "restricted"),
    ("As the source says", "source"),
)


class SensitivityMenu(QMenu):
    def __init__(
        self,
        parent: QWidget,
        current_session: Callable[[], Session | None],
        current_filter: Callable[[], RecordFilter | None],
        on_changed: Callable[[], None],
    ) -> None:
        super().__init__("&Sensitivity", parent)
        self.current_session = current_session
        self.current_filter = current_filter
        self.on_changed = on_changed
        self.reveal_action = self.addAction("Show &restricted records…")
        self.reveal_action.triggered.connect(self.reveal_clicked)
        self.hide_action = self.addAction("&Hide restricted records")
        self.hide_action.triggered.connect(self.hide)
        self.addSeparator()
        self.label_action = self.addAction("&Label the records the timeline shows…")
        self.label_action.triggered.connect(self.label_clicked)
        self.aboutToShow.connect(self._update)

    def _update(self) -> None:
        session = self.current_session()
        shown = session is not None and restricted_revealed(session)
        self.reveal_action.setEnabled(session is not None and not shown)
        self.hide_action.setEnabled(shown)
        self.label_action.setEnabled(session is not None and self.current_filter() is not None)

    # --- showing restricted records -----------------------------------------------------------

    def reveal_clicked(self) -> None:
        passphrase, ok = QInputDialog.getText(
            self.parentWidget(),
            "Show restricted records",
            "Restricted records stay hidden until you give your passphrase again.\n"
            "They are shown until you hide them or lock the app.\n\nPassphrase:",
            QLineEdit.EchoMode.Password,
        )
        if ok and passphrase:
            self.reveal(passphrase)

    def reveal(self, passphrase: str) -> bool:
        session = self.current_session()
        if session is None:
            return False
        try:
            reveal_restricted(session, passphrase)
        except USER_ERRORS as exc:
            QMessageBox.warning(self.parentWidget(), "Show restricted records", str(exc))
            return False
        self.on_changed()
        return True

    def hide(self) -> None:
        session = self.current_session()
        if session is not None:
            hide_restricted(session)
            self.on_changed()

    # --- labelling in bulk --------------------------------------------------------------------

    def label_clicked(self) -> None:
        session, shown = self.current_session(), self.current_filter()
        if session is None or shown is None:
            return
        count = len(session.record_ids(shown))
        names = [name for name, _level in LEVEL_CHOICES]
        name, ok = QInputDialog.getItem(
            self.parentWidget(),
            "Label records",
            f"Sensitivity for the {count:,} record(s) the timeline shows:",
            names,
            0,
            False,
        )
        if ok:
            self.label_shown(dict(LEVEL_CHOICES)[name])

    def label_shown(self, level: str) -> int:
        """Label every record the timeline's filter shows; returns how many."""
        session, shown = self.current_session(), self.current_filter()
        if session is None or shown is None:
            return 0
        try:
            count = label_records(session, session.record_ids(shown), level)
        except USER_ERRORS as exc:
            QMessageBox.warning(self.parentWidget(), "Label records", str(exc))
            return 0
        self.on_changed()
        return count
