"""The Sharing menu (Share records…, Sharing history…), View → Activity log…, and the
dashboard's Share… button; each opens its dialog over the main window.

Dialogs are registered as the window's `open_dialog`, so locking closes them, and closing one
clears the key, the passcode and the session it held.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QMenu

from phr_desktop.services.session import RecordFilter
from phr_desktop.ui.audit_view import ActivityLogDialog

if TYPE_CHECKING:
    from phr_desktop.ui.dashboard import Dashboard
    from phr_desktop.ui.main_window.base import MainWindowBase
    from phr_desktop.ui.sharing.dialog import ShareDialog
    from phr_desktop.ui.sharing.history import ShareHistoryDialog

SHARE_TIP = "Seal chosen records into an encrypted file for a clinician"


class SharingMenu(QMenu):
    def __init__(self, window: MainWindowBase) -> None:
        super().__init__("&Sharing", window)
        self.window_ = window
        self.share_action = self._action(
            "&Share records…", self.share_clicked, "Ctrl+Shift+S", SHARE_TIP
        )
        self.history_action = self._action(
            "Sharing &history…", self.history_clicked, "Ctrl+Shift+H",
            "Shares made so far; show a held-back key or revoke a share",
        )  # fmt: skip
        self.activity_action = self._action(
            "Activity &log…", self.activity_clicked, "Ctrl+Shift+L",
            "What was done with this profile, and a check that nobody altered the log",
        )  # fmt: skip
        self.addAction(self.share_action)
        self.addAction(self.history_action)

    def _action(self, text: str, slot: object, keys: str, tip: str) -> QAction:
        action = QAction(text, self.window_)
        action.setShortcut(QKeySequence(keys))
        action.setStatusTip(tip)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        return action

    def set_unlocked(self, unlocked: bool) -> None:
        for action in (self.share_action, self.history_action, self.activity_action):
            action.setEnabled(unlocked)
        self.setEnabled(unlocked)

    def attach(self, dashboard: Dashboard) -> None:
        """Turn on the dashboard's Share… button (it is off until sharing is available)."""
        button = dashboard.share_button
        button.setEnabled(True)
        button.setToolTip(SHARE_TIP)
        button.setAccessibleDescription(SHARE_TIP)
        button.clicked.connect(self.share_action.trigger)

    # --- opening the dialogs ------------------------------------------------------------------

    def _timeline_ids(self) -> list[int] | None:
        """The records the timeline shows now, when a filter narrows it (else None)."""
        window = self.window_
        if window.timeline is None or window.session is None:
            return None
        current = window.timeline.current_filter()
        if current == RecordFilter():
            return None
        return window.session.record_ids(current) or None

    def _open(self, dialog: QDialog) -> QDialog:
        window = self.window_
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        window.open_dialog = dialog
        # A bound method, not a closure over `dialog`: PySide crashes deleting a dialog whose
        # own signal holds a closure over it.
        dialog.finished.connect(self._dialog_finished)
        dialog.open()
        return dialog

    def _dialog_finished(self, _result: int) -> None:
        if self.window_.open_dialog is self.sender():
            self.window_.open_dialog = None

    def share_clicked(self) -> ShareDialog | None:
        window = self.window_
        if window.session is None:
            return None
        # Imported when first asked for: the share dialog brings the FHIR export, QR codes and
        # the encryption stack, none of which the start needs.
        from phr_desktop.ui.sharing.dialog import ShareDialog

        dialog = ShareDialog(
            window.session, window.runner, window, timeline_ids=self._timeline_ids()
        )
        self._open(dialog)
        return dialog

    def history_clicked(self) -> ShareHistoryDialog | None:
        window = self.window_
        if window.session is None:
            return None
        from phr_desktop.ui.sharing.history import ShareHistoryDialog  # as ShareDialog: on use

        dialog = ShareHistoryDialog(window.session, window.runner, window)
        self._open(dialog)
        return dialog

    def activity_clicked(self) -> ActivityLogDialog | None:
        window = self.window_
        if window.session is None:
            return None
        dialog = ActivityLogDialog(window.session, window.runner, window)
        self._open(dialog)
        return dialog


def install_sharing_menu(window: MainWindowBase, view_menu: QMenu) -> SharingMenu:
    """Add the Sharing menu to the menu bar and Activity log… to the View menu."""
    menu = SharingMenu(window)
    window.menuBar().addMenu(menu)
    view_menu.addSeparator()
    view_menu.addAction(menu.activity_action)
    return menu
