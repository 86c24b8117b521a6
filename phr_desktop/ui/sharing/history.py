"""Sharing history: every share made from this profile, what state it is in, and the two
things that can still be done with one whose key was held back: show the key, or revoke it.

Each disabled action says why in its tooltip: a key that was given out cannot be recalled.
"""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.errors import USER_ERRORS
from phr_desktop.services.session import Session
from phr_desktop.services.share_history import (
    ShareHistoryEntry,
    list_shares,
    reveal_key,
    revealed_share,
    revoke_share,
)
from phr_desktop.ui import style
from phr_desktop.ui.providers_box import when
from phr_desktop.ui.secret_dialogs import ClearingDialog, read_only_table
from phr_desktop.ui.sharing.dialog import patient_name
from phr_desktop.ui.sharing.key_panel import KeyPanel
from phr_desktop.ui.workers import TaskRunner

COLUMNS = ("For", "Created", "Expires", "Records", "Passcode", "Status")
ACTIVE, EXPIRED, REVOKED, HELD_BACK = "Active", "Expired", "Revoked", "Key held back"
_ENTRY = Qt.ItemDataRole.UserRole

NO_REVOKE_GIVEN = (
    "Its key was given out, so this file cannot be recalled: whoever has the file and the key "
    "can open it until it expires in phr-desktop's viewer."
)
NO_REVOKE_REVOKED = "This share is already revoked."
NO_SHOW_GIVEN = "The key was shown when the share was made; phr-desktop does not keep it."
NO_SHOW_REVOKED = "This share was revoked; its key is gone."
NO_SHOW_EXPIRED = "This share has expired; make a new share instead."
REVOKE_TIP = "Forget the key, so nobody can ever open this file."
SHOW_TIP = "Show the key to give it to the clinician (after that it cannot be revoked)."
NOTHING_SELECTED = "Choose a share in the table first."


def _instant(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def share_status(entry: ShareHistoryEntry, now: datetime) -> str:
    if entry.revoked_at:
        return REVOKED
    if _instant(entry.expires_at) <= now:
        return EXPIRED
    return ACTIVE if entry.key_handed_out else HELD_BACK


def revoke_refusal(entry: ShareHistoryEntry) -> str | None:
    """Why revoking cannot work for this share, or None when it can."""
    if entry.revoked_at:
        return NO_REVOKE_REVOKED
    if entry.key_handed_out:
        return NO_REVOKE_GIVEN
    return None


def show_key_refusal(entry: ShareHistoryEntry, now: datetime) -> str | None:
    if entry.revoked_at:
        return NO_SHOW_REVOKED
    if entry.key_handed_out:
        return NO_SHOW_GIVEN
    if _instant(entry.expires_at) <= now:
        return NO_SHOW_EXPIRED
    return None


class KeyDialog(ClearingDialog):
    """A held-back key, just revealed; closing forgets it."""

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Share key")
        self.panel = KeyPanel(runner, self)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel)
        layout.addWidget(buttons)

    def clear(self) -> None:
        self.panel.clear()


class ShareHistoryDialog(ClearingDialog):
    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.session: Session | None = session
        self.runner = runner
        self.entries: list[ShareHistoryEntry] = []
        self.key_dialog: KeyDialog | None = None
        self.setWindowTitle("Sharing history")
        self.setAccessibleName("Sharing history")
        self.resize(820, 420)
        self.table = read_only_table(COLUMNS, "Shares", 0, self)
        self.table.itemSelectionChanged.connect(self._update_actions)
        self.empty = style.muted("No shares yet. Use Sharing → Share records… to make one.", self)
        self.reason = style.muted("", self)
        self.reason.setAccessibleName("Why an action is not available")
        self.show_key_button = QPushButton("&Show key…", self)
        self.show_key_button.clicked.connect(self.show_key_clicked)
        self.revoke_button = QPushButton("&Revoke…", self)
        self.revoke_button.clicked.connect(self.revoke_clicked)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        actions = QHBoxLayout()
        actions.addWidget(self.show_key_button)
        actions.addWidget(self.revoke_button)
        actions.addStretch(1)
        actions.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel("Shares made from this profile; the newest first.", self),
        )
        layout.addWidget(self.table, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.reason)
        layout.addLayout(actions)
        self.refresh()

    # --- the table ----------------------------------------------------------------------------

    def refresh(self, select_id: str | None = None) -> None:
        if self.session is None:
            return
        now = datetime.now(UTC)
        self.entries = list_shares(self.session)
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            cells = (
                entry.label or "(no label)",
                when(entry.created_at),
                when(entry.expires_at),
                f"{entry.record_count:,}",
                "Yes" if entry.passcode else "No",
                share_status(entry, now),
            )
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(_ENTRY, entry.id)
                if column == 3:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                item.setToolTip(f"File: {entry.file_name}")
                self.table.setItem(row, column, item)
            if entry.id == select_id:
                self.table.selectRow(row)
        self.empty.setVisible(not self.entries)
        if self.entries and not self.table.selectedItems():
            self.table.selectRow(0)
        self._update_actions()

    def selected(self) -> ShareHistoryEntry | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        return self.entries[rows[0].row()]

    def _update_actions(self) -> None:
        entry = self.selected()
        now = datetime.now(UTC)
        no_revoke = revoke_refusal(entry) if entry else NOTHING_SELECTED
        no_show = show_key_refusal(entry, now) if entry else NOTHING_SELECTED
        for button, refusal, tip in (
            (self.revoke_button, no_revoke, REVOKE_TIP),
            (self.show_key_button, no_show, SHOW_TIP),
        ):
            button.setEnabled(refusal is None)
            button.setToolTip(refusal or tip)
            button.setAccessibleDescription(refusal or tip)
        # Tooltips do not reach keyboard users: say it under the table too.
        self.reason.setText(no_revoke if entry and no_revoke else "")

    # --- actions ------------------------------------------------------------------------------

    def show_key_clicked(self) -> None:
        entry, session = self.selected(), self.session
        if entry is None or session is None or show_key_refusal(entry, datetime.now(UTC)):
            return
        yes, _ = style.ask(
            self,
            "Show the key",
            f"Show the key for the share for {entry.label}?\n\nOnce it is shown, this share can "
            "no longer be revoked: whoever gets the file and the key can open it until it "
            "expires.",
        )
        if not yes:
            return
        try:
            key = reveal_key(session, entry.id)
        except USER_ERRORS as exc:
            style.show_message(self, QMessageBox.Icon.Warning, "Show the key", str(exc))
            self.refresh(entry.id)
            return
        self.refresh(entry.id)
        dialog = KeyDialog(self.runner, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.panel.show_share(revealed_share(entry, key), entry.label, patient_name(session))
        self.key_dialog = dialog
        # A bound method, not a lambda holding `dialog`: PySide crashes deleting a dialog
        # whose own signal holds a closure over it.
        dialog.finished.connect(self._key_dialog_finished)
        dialog.open()
        dialog.panel.key_label.setFocus()

    def _key_dialog_finished(self, _result: int) -> None:
        self.key_dialog = None  # it is window-modal: there is only ever one

    def revoke_clicked(self) -> None:
        entry, session = self.selected(), self.session
        if entry is None or session is None or revoke_refusal(entry):
            return
        yes, _ = style.ask(
            self,
            "Revoke the share",
            f"Revoke the share for {entry.label}?\n\nIts key is forgotten, so nobody can ever "
            "open the file. This cannot be undone.",
        )
        if not yes:
            return
        try:
            revoke_share(session, entry.id)
        except USER_ERRORS as exc:
            style.show_message(self, QMessageBox.Icon.Warning, "Revoke", str(exc))
        self.refresh(entry.id)

    # --- closing ------------------------------------------------------------------------------

    def clear(self) -> None:
        if self.key_dialog is not None:
            self.key_dialog.close()
            self.key_dialog = None
        self.session = None
        self.entries = []
        self.table.setRowCount(0)
