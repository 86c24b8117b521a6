"""Settings → Provider app ids: the client id kept per EHR vendor, each with where to register.

The Connect dialog asks for a vendor's id the first time; this is where it is changed or
forgotten later.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.domain.ehr_vendors import VENDORS
from phr_desktop.services.client_ids import ClientIds
from phr_desktop.services.errors import USER_ERRORS
from phr_desktop.ui import style


class ClientIdsDialog(QDialog):
    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.client_ids = ClientIds(data_dir)
        self.setWindowTitle("Provider app ids")
        layout = QVBoxLayout(self)
        layout.addWidget(
            style.muted(
                "Each health-record system lets an app in only with the app id (client id) the "
                "app registered with that system's vendor. One id serves every provider on that "
                "system. Leave a box empty to be asked again when you connect.",
                self,
            )
        )
        grid_holder = QWidget(self)
        grid = QGridLayout(grid_holder)
        kept = self.client_ids.all()
        self.fields: dict[str, QLineEdit] = {}
        for row, v in enumerate(VENDORS.values()):
            grid.addWidget(QLabel(v.name, grid_holder), row, 0)
            field = QLineEdit(kept.get(v.code, ""), grid_holder)
            field.setAccessibleName(f"App id for {v.name}")
            field.setPlaceholderText("not set")
            grid.addWidget(field, row, 1)
            link = QLabel(f'<a href="{escape(v.registration_url)}">register</a>', grid_holder)
            link.setTextFormat(Qt.TextFormat.RichText)
            link.setOpenExternalLinks(True)
            link.setToolTip(f"{v.how_to_register}\n{v.registration_url}")
            link.setAccessibleName(f"Where to register with {v.name}")
            grid.addWidget(link, row, 2)
            self.fields[v.code] = field
        grid.setColumnStretch(1, 1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setWidget(grid_holder)
        layout.addWidget(scroll, 1)
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Error")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        metrics = self.fontMetrics()
        self.resize(metrics.averageCharWidth() * 80, metrics.height() * 28)

    def accept(self) -> None:
        kept = self.client_ids.all()
        try:
            for code, field in self.fields.items():
                value = field.text().strip()
                if value and value != kept.get(code):
                    self.client_ids.set(code, value)
                elif not value and code in kept:
                    self.client_ids.forget(code)
        except USER_ERRORS as exc:
            self.error.setText(str(exc))
            return
        super().accept()
