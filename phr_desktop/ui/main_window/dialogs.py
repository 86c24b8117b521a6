"""The dialogs the main window opens: entries, correction, auto-lock, app ids, guide, About."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QMessageBox,
    QWidget,
)

from phr_desktop import __version__
from phr_desktop.ui import manual_entry, style
from phr_desktop.ui.auto_lock import AutoLockDialog
from phr_desktop.ui.main_window.base import MainWindowBase
from phr_desktop.ui.user_guide import UserGuide


class MainWindowDialogs(MainWindowBase):
    """Opens each dialog and follows what it saved (a part of `MainWindow`)."""

    # --- entries ------------------------------------------------------------------------------

    def new_entry(self, class_name: str) -> None:
        if self.session is None:
            return
        dialog = getattr(manual_entry, class_name)(self.session, self)
        self._open_dialog(dialog)

    def correct_clicked(self) -> None:
        if self.session is None or self.current_record_id is None:
            return
        self._open_dialog(manual_entry.CorrectionDialog(self.session, self.current_record_id, self))

    def _open_dialog(self, dialog: QWidget) -> None:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._entry_saved)  # type: ignore[attr-defined]
        dialog.finished.connect(self._dialog_finished)  # type: ignore[attr-defined]
        self.open_dialog = dialog
        dialog.open()  # type: ignore[attr-defined]

    def _dialog_finished(self, _result: int) -> None:
        # A cancelled dialog deletes itself: locking must not try to close it again.
        if self.open_dialog is self.sender():
            self.open_dialog = None

    def _entry_saved(self, dialog: QWidget) -> None:
        if self.open_dialog is dialog:
            self.open_dialog = None
        self.refresh_views()
        saved = getattr(dialog, "saved_ids", [])
        if saved:
            self.show_record(saved[0])

    # --- settings, help and about -------------------------------------------------------------

    def auto_lock_clicked(self) -> None:
        dialog = AutoLockDialog(self.auto_lock, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self._dialog_finished)
        self.open_dialog = dialog
        dialog.open()

    def about_clicked(self) -> None:
        style.show_message(
            self,
            QMessageBox.Icon.Information,
            "About phr-desktop",
            f"phr-desktop {__version__}\n\nA local-first personal health record for people with "
            "Alpha-1 antitrypsin deficiency and other chronic conditions. Your records stay in "
            "an encrypted file on this computer. No telemetry; no network call you did not "
            "start.\n\nLicensed under the Apache License 2.0.",
        )

    def client_ids_clicked(self) -> None:
        from phr_desktop.ui.client_ids_dialog import ClientIdsDialog

        dialog = ClientIdsDialog(self.profiles.data_dir, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

    def guide_clicked(self) -> None:
        if self.user_guide is None:
            self.user_guide = UserGuide(self)  # kept: it reopens where the reader left it
        self.user_guide.show()
        self.user_guide.raise_()
        self.user_guide.activateWindow()
