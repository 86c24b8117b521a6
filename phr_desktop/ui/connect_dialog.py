"""Connect a provider: find the organisation by name, city or state as you type; the FHIR
address and EHR vendor follow from the choice, and the vendor's app id (client id) is asked
for once. A FHIR address can still be typed under "Other…"."""

from __future__ import annotations

import contextlib
import threading
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.domain.ehr_vendors import vendor
from phr_desktop.domain.provider_directory import Provider
from phr_desktop.services.client_ids import ClientIds, checked_client_id
from phr_desktop.services.errors import USER_ERRORS
from phr_desktop.services.provider_directory import ProviderDirectory
from phr_desktop.ui import style

_PROVIDER = Qt.ItemDataRole.UserRole
RESULT_LIMIT = 50


def place_of(p: Provider) -> str:
    return ", ".join(x for x in (p.city, p.state) if x)


class ConnectDialog(QDialog):
    """Asks which provider to connect; on acceptance emits FHIR base, app id, name."""

    # The dashboard listens with a bound method: a closure over the dialog on its own signal
    # crashes PySide when the dialog deletes itself.
    chosen = Signal(str, object, object)
    directoryReady = Signal()  # the index was built in a worker thread: search now

    def __init__(self, data_dir: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.directory = ProviderDirectory(data_dir)
        self.client_ids = ClientIds(data_dir)
        self._ready = False
        self._load_error: str | None = None
        self.asks_app_id = False  # the chosen vendor has no kept app id: the box asks for it
        self.setWindowTitle("Connect a provider")
        layout = QVBoxLayout(self)
        layout.addWidget(
            style.muted(
                "Find the hospital or practice that holds your records. Your browser then "
                "opens its sign-in page (the patient portal); after you allow access, records "
                "are fetched with Sync now.",
                self,
            )
        )
        self.search = QLineEdit(self)
        self.search.setAccessibleName("Find your provider")
        self.search.setPlaceholderText("Name, city or state, e.g. mayo or denver")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._search)
        layout.addWidget(self.search)
        self.results = QTreeWidget(self)
        self.results.setAccessibleName("Providers found")
        self.results.setHeaderLabels(["Provider", "City, state", "Record system"])
        self.results.setRootIsDecorated(False)
        self.results.setUniformRowHeights(True)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.results.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.results.currentItemChanged.connect(lambda *_: self._update_app_id())
        self.results.itemDoubleClicked.connect(lambda *_: self.accept())
        layout.addWidget(self.results, 1)
        self.status = style.muted("Loading the provider directory…", self)
        self.status.setAccessibleName("Search status")
        layout.addWidget(self.status)
        self.test_systems = QCheckBox("Show &test systems (vendor sandboxes)", self)
        self.test_systems.toggled.connect(self._search)
        layout.addWidget(self.test_systems)

        self.other = QCheckBox("&Other… (my provider is not listed: type its FHIR address)", self)
        self.other.toggled.connect(self._other_toggled)
        layout.addWidget(self.other)
        self.other_box = QWidget(self)
        other_form = QFormLayout(self.other_box)
        other_form.setContentsMargins(0, 0, 0, 0)
        self.fhir_base = QLineEdit(self.other_box)
        self.fhir_base.setAccessibleName("FHIR base address")
        self.fhir_base.setPlaceholderText("https://fhir.example.org/api/FHIR/R4")
        self.fhir_base.textChanged.connect(lambda _t: self._update_app_id())
        other_form.addRow("FHIR &address", self.fhir_base)
        self.name = QLineEdit(self.other_box)
        self.name.setAccessibleName("Connection name")
        self.name.setPlaceholderText("Optional, e.g. City Hospital")
        other_form.addRow("&Name", self.name)
        self.other_box.setVisible(False)
        layout.addWidget(self.other_box)

        # Asked once per vendor: the explanation, the registration page, the id.
        self.app_id_box = QWidget(self)
        app_form = QFormLayout(self.app_id_box)
        app_form.setContentsMargins(0, 0, 0, 0)
        self.app_id_help = QLabel(self.app_id_box)
        self.app_id_help.setWordWrap(True)
        self.app_id_help.setTextFormat(Qt.TextFormat.RichText)
        self.app_id_help.setOpenExternalLinks(True)
        self.app_id_help.setAccessibleName("About the app id")
        app_form.addRow(self.app_id_help)
        self.client_id = QLineEdit(self.app_id_box)
        self.client_id.setAccessibleName("App id (client id)")
        self.client_id.setPlaceholderText("Copied from the vendor's developer site")
        app_form.addRow("App &id", self.client_id)
        layout.addWidget(self.app_id_box)
        self.app_id_box.setVisible(False)

        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Error")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Open sign-in page")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.accepted.connect(self._announce_chosen)
        layout.addWidget(buttons)
        self._open_at_a_size_that_fits()
        self.directoryReady.connect(self._directory_loaded)
        self._load_directory()

    def _open_at_a_size_that_fits(self) -> None:
        """Room for a dozen results and the app-id box, within the screen (a 1024×700 laptop
        included)."""
        metrics = self.fontMetrics()
        width, height = metrics.averageCharWidth() * 110, metrics.height() * 42
        parent = self.parentWidget()
        screen = parent.screen() if parent is not None else self.screen()
        if screen is not None:
            available = screen.availableGeometry()
            width = min(width, int(available.width() * 0.9))
            height = min(height, int(available.height() * 0.9))
        self.resize(width, height)

    # --- the directory, built off the GUI thread -------------------------------------------

    def _load_directory(self) -> None:
        def build() -> None:
            try:
                self.directory.index()
            except USER_ERRORS as exc:
                self._load_error = str(exc)
            # Queued to the GUI thread; the dialog may have been closed and deleted meanwhile.
            with contextlib.suppress(RuntimeError):
                self.directoryReady.emit()

        threading.Thread(target=build, name="provider-directory", daemon=True).start()

    def _directory_loaded(self) -> None:
        self._ready = self._load_error is None
        if self._load_error:
            self.status.setText(self._load_error)
            self.other.setChecked(True)
            return
        self._search()

    @property
    def ready(self) -> bool:
        """The directory is loaded and searched as the user types."""
        return self._ready

    # --- searching ----------------------------------------------------------------------------

    def _search(self) -> None:
        if not self._ready:
            return
        text = self.search.text()
        found = self.directory.search(
            text, include_test_systems=self.test_systems.isChecked(), limit=RESULT_LIMIT
        )
        self.results.clear()
        for p in found:
            row = QTreeWidgetItem([p.name, place_of(p), vendor(p.vendor).name])
            if p.test_system:
                row.setText(2, f"{vendor(p.vendor).name} (test)")
            row.setData(0, _PROVIDER, p)
            row.setToolTip(0, f"{p.name}\n{p.fhir_base}")
            self.results.addTopLevelItem(row)
        first = self.results.topLevelItem(0)
        if first is not None:
            self.results.setCurrentItem(first)
        if not text.strip():
            listed = len(self.directory.index())
            self.status.setText(f"{listed:,} providers listed. Type to find yours.")
        elif not found:
            self.status.setText(
                "No provider matches. Try fewer or shorter words, or choose Other… to type "
                "its FHIR address."
            )
        else:
            more = " (the first 50: type more to narrow)" if len(found) == RESULT_LIMIT else ""
            self.status.setText(f"{len(found)} found{more}.")
        self._update_app_id()

    def selected(self) -> Provider | None:
        item = self.results.currentItem()
        return item.data(0, _PROVIDER) if item is not None and not self.other.isChecked() else None

    def _other_toggled(self, on: bool) -> None:
        self.other_box.setVisible(on)
        for widget in (self.search, self.results, self.test_systems):
            widget.setEnabled(not on)
        (self.fhir_base if on else self.search).setFocus()
        self._update_app_id()

    # --- the app id, asked once per vendor ---------------------------------------------------

    def _vendor_code(self) -> str:
        chosen = self.selected()
        if chosen is not None:
            return chosen.vendor
        if self.other.isChecked() and self._ready:
            known = self.directory.for_base(self.fhir_base.text())
            return known.vendor if known else ""
        return ""

    def _update_app_id(self) -> None:
        code = self._vendor_code()
        kept = self.client_ids.get(code)
        needs = (self.selected() is not None or self.other.isChecked()) and not kept
        self.asks_app_id = needs
        self.app_id_box.setVisible(needs)
        if not needs:
            return
        v = vendor(code)
        if code:
            link = (
                f' <a href="{escape(v.registration_url)}">{escape(v.registration_url)}</a>'
                if v.registration_url
                else ""
            )
            self.app_id_help.setText(
                f"Organisations on {escape(v.name)} let an app in only with the app id "
                f"(client id) it registered with {escape(v.name)}. You enter it once; it is "
                f"kept for every {escape(v.name)} provider. {escape(v.how_to_register)}{link}"
            )
        else:
            self.app_id_help.setText(
                "This provider lets an app in only with an app id (client id) registered with "
                "it. " + escape(v.how_to_register)
            )

    # --- the answer -------------------------------------------------------------------------

    def values(self) -> tuple[str, str | None, str | None]:
        chosen = self.selected()
        code = self._vendor_code()
        client_id = self.client_id.text().strip() or self.client_ids.get(code)
        if chosen is not None:
            return chosen.fhir_base, client_id, chosen.name
        known = self.directory.for_base(self.fhir_base.text()) if self._ready else None
        name = self.name.text().strip() or (known.name if known else None)
        return self.fhir_base.text().strip(), client_id, name

    def _announce_chosen(self) -> None:
        self.chosen.emit(*self.values())

    def accept(self) -> None:
        base, client_id, _name = self.values()
        if self.other.isChecked():
            if not base.startswith(("https://", "http://")):
                self.error.setText("Type the provider's FHIR address, starting with https://.")
                return
        elif self.selected() is None:
            self.error.setText("Choose your provider in the list, or Other… to type an address.")
            return
        if not client_id:
            self.error.setText("Enter the app id (client id): see above where to get it.")
            self.client_id.setFocus()
            return
        if self.asks_app_id:
            try:
                checked = checked_client_id(client_id)
                code = self._vendor_code()
                if code:  # kept for every organisation of this vendor
                    self.client_ids.set(code, checked)
            except USER_ERRORS as exc:
                self.error.setText(str(exc))
                return
        super().accept()
