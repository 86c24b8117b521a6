"""The record detail's Files tab: the files attached to a record, opened with the system viewer
from a private temporary copy (own profile only) or saved where the patient chooses; and the
files the record names on other sites, never downloaded, as links to open in the browser."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.errors import ServiceError, StorageFull
from phr_desktop.services.output_files import safe_file_name, write_output_bytes
from phr_desktop.services.plain_words import VIEW_ONLY_NOTE
from phr_desktop.services.record_reader import RecordReader
from phr_desktop.services.session import Session
from phr_desktop.ui import style
from phr_desktop.ui.style import named_list


class RecordFilesTab(QWidget):
    def __init__(self, session: RecordReader | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._session = session
        self._temp_dir: Path | None = None
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.cleanup_temp_files)
        self.files_list = named_list("Attached files", self)
        self.files_list.itemActivated.connect(self._item_activated)
        self.open_button = QPushButton("Open", self)
        self.open_button.clicked.connect(self.open_attachment)
        self.save_button = QPushButton("Save as…", self)
        self.save_button.clicked.connect(self._save_attachment_as)
        self.view_only_note = QLabel(VIEW_ONLY_NOTE, self)
        self.view_only_note.setAccessibleName("View only")
        self.view_only_note.setWordWrap(True)
        self.view_only_note.hide()
        row = QHBoxLayout()
        row.addWidget(self.view_only_note, 1)
        row.addStretch(1)
        row.addWidget(self.open_button)
        row.addWidget(self.save_button)
        self.links_note = QLabel(
            "Held on other sites: phr-desktop did not download these, so your sign-in with the "
            "provider was never sent there. Open one to view it in your web browser.",
            self,
        )
        self.links_note.setWordWrap(True)
        self.links_list = named_list("Files on other sites", self)
        self.links_list.itemActivated.connect(lambda _item: self.open_link())
        self._apply_save_rule()
        self.open_link_button = QPushButton("Open &link in browser", self)
        self.open_link_button.clicked.connect(self.open_link)
        links_row = QHBoxLayout()
        links_row.addStretch(1)
        links_row.addWidget(self.open_link_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.files_list, 1)
        layout.addLayout(row)
        layout.addWidget(self.links_note)
        layout.addWidget(self.links_list, 1)
        layout.addLayout(links_row)
        self._show_links(False)

    def set_session(self, session: RecordReader | None) -> None:
        self._session = session
        self._apply_save_rule()

    def _apply_save_rule(self) -> None:
        """A view-only share's files are shown but not offered for saving."""
        allowed = self._session is None or self._session.allow_save
        self.save_button.setVisible(allowed)
        self.view_only_note.setVisible(not allowed)

    def set_can_open(self, can_open: bool) -> None:
        # Opening needs a plaintext copy in a temporary folder: never for a share viewed.
        self.open_button.setVisible(can_open)

    def show_record(self, record_id: int) -> int:
        """List the record's files, the first one selected; returns how many there are."""
        assert self._session is not None
        self.files_list.clear()
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon)
        for attachment_id, filename, content_type, size in self._session.attachments(record_id):
            label = f"{filename or 'attachment'}  ({content_type}, {max(1, size // 1024)} KB)"
            item = QListWidgetItem(icon, label)
            item.setData(Qt.ItemDataRole.UserRole, (attachment_id, filename or "attachment"))
            self.files_list.addItem(item)
        if self.files_list.count():
            self.files_list.setCurrentRow(0)
        has_files = self.files_list.count() > 0
        self.open_button.setEnabled(has_files)
        self.save_button.setEnabled(has_files)
        return self.files_list.count() + self._list_links(record_id)

    def _list_links(self, record_id: int) -> int:
        assert self._session is not None
        self.links_list.clear()
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_DriveNetIcon)
        for external in self._session.external_files(record_id):
            kind = f", {external.content_type}" if external.content_type else ""
            label = f"{external.title or 'File'}  (on {external.host or 'another site'}{kind})"
            item = QListWidgetItem(icon, label)
            item.setToolTip(external.url)
            item.setData(Qt.ItemDataRole.UserRole, external.url)
            self.links_list.addItem(item)
        if self.links_list.count():
            self.links_list.setCurrentRow(0)
        self._show_links(self.links_list.count() > 0)
        return self.links_list.count()

    def _show_links(self, shown: bool) -> None:
        for widget in (self.links_note, self.links_list, self.open_link_button):
            widget.setVisible(shown)

    def open_link(self) -> str | None:
        """Open the selected external file in the web browser (no sign-in goes with it)."""
        item = self.links_list.currentItem()
        if item is None:
            return None
        url = str(item.data(Qt.ItemDataRole.UserRole))
        QDesktopServices.openUrl(QUrl(url))
        return url

    def clear(self) -> None:
        """Show no file; plaintext temporary copies are deleted too."""
        self.files_list.clear()
        self.links_list.clear()
        self._show_links(False)
        self.cleanup_temp_files()

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
        if not isinstance(self._session, Session) or item is None:
            return None
        attachment_id, filename = item.data(Qt.ItemDataRole.UserRole)
        if self._temp_dir is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="phr-open-"))
        path = self._temp_dir / f"{attachment_id}-{safe_file_name(filename)}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(self._session.attachment_data(attachment_id))
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
        return path

    def save_attachment(self, target: Path) -> None:
        item = self.files_list.currentItem()
        if self._session is None or item is None:
            return
        if not self._session.allow_save:
            raise ServiceError(VIEW_ONLY_NOTE)
        # 0600 and whole, like every file the app writes where the patient chooses
        write_output_bytes(
            target, self._session.attachment_data(item.data(Qt.ItemDataRole.UserRole)[0])
        )

    def _item_activated(self, _item: QListWidgetItem) -> None:
        self.open_attachment()

    def _save_attachment_as(self) -> None:
        item = self.files_list.currentItem()
        if item is None:
            return
        name = item.data(Qt.ItemDataRole.UserRole)[1]
        chosen, _ = QFileDialog.getSaveFileName(self, "Save the file as", name)
        if chosen:
            try:
                self.save_attachment(Path(chosen))
            except (ServiceError, StorageFull) as exc:
                style.show_message(self, QMessageBox.Icon.Warning, "Save the file as", str(exc))
