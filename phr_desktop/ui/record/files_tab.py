"""The record detail's Files tab: the files attached to a record, opened with the system viewer
from a private temporary copy (own profile only) or saved where the patient chooses."""

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
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.errors import ServiceError, StorageFull
from phr_desktop.services.output_files import safe_file_name, write_output_bytes
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
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.open_button)
        row.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.files_list, 1)
        layout.addLayout(row)

    def set_session(self, session: RecordReader | None) -> None:
        self._session = session

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
        return self.files_list.count()

    def clear(self) -> None:
        """Show no file; plaintext temporary copies are deleted too."""
        self.files_list.clear()
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
