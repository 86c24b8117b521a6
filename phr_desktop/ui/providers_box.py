"""The dashboard's "Connected providers" box: each provider's sync state, and the buttons that
sync, connect, reconnect and disconnect (each runs as a task; the services do the work)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.connection_status import ConnectionStatus
from phr_desktop.services.errors import USER_ERRORS, ServiceError
from phr_desktop.services.person import OtherPersonError
from phr_desktop.services.profiles import default_data_dir
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import CancelToken, Progress, ProgressCallback
from phr_desktop.ui import other_person_dialog, style
from phr_desktop.ui.connect_dialog import ConnectDialog
from phr_desktop.ui.other_person_dialog import OtherPersonChoice
from phr_desktop.ui.workers import TaskRunner

_NAME = Qt.ItemDataRole.UserRole
_STATUS_LABELS = {"active": "Connected", "expired": "Needs reconnecting"}
SIGN_IN_HINT = "Sign in at the provider in your browser and allow access."


def connection_state(status: ConnectionStatus) -> tuple[str, str]:
    """The provider card's status text and its tooltip: data that did not arrive at the last
    sync (and why), then what the server said about its searches."""
    c = status.connection
    text = _STATUS_LABELS.get(c.status, c.status.capitalize())
    lines = [f"{rtype} missing: {why}" for rtype, why in status.missing.items()]
    lines += [f"Note on {rtype}: {note}" for rtype, note in status.warnings.items()]
    if status.missing:
        text += " · some data missing"
    elif status.warnings:
        text += " · server notes"
    if c.last_error and not status.missing:
        lines.insert(0, c.last_error)
    return text, "\n".join(lines)


def when(iso: str | None) -> str:
    """A stored UTC instant as local date and time, minutes precision."""
    if not iso:
        return "Never"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


class BrowserOpener(QObject):
    """Opens a URL in the system browser from any thread (the signal is queued to the GUI)."""

    requested = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.requested.connect(lambda url: QDesktopServices.openUrl(QUrl(url)))

    def __call__(self, url: str) -> None:
        self.requested.emit(url)


class ProvidersBox(QGroupBox):
    changed = Signal()  # a sync, connect or disconnect finished: records may have changed
    failed = Signal()  # a sync or reconnect failed: its partial state should show

    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__("Connected providers", parent)
        self.session: Session | None = session
        self.runner = runner
        self.open_url = BrowserOpener(self)
        self.app_data_dir: Path | None = None  # the profiles' folder: directory, app ids
        self._build()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.connections_stack = QStackedWidget(self)
        self.no_connections = style.muted(
            "No provider connected yet. Connect one to fetch your records from its patient "
            "portal, or bring in files you downloaded with File → Import files.",
            self,
        )
        self.no_connections.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.connections_stack.addWidget(self.no_connections)
        self.connections = QTableWidget(0, 4, self)
        self.connections.setAccessibleName("Connected providers")
        self.connections.setHorizontalHeaderLabels(["Provider", "Status", "Last sync", "Records"])
        self.connections.verticalHeader().hide()
        self.connections.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.connections.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.connections.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.connections.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.connections.itemSelectionChanged.connect(self._update_buttons)
        self.connections_stack.addWidget(self.connections)
        layout.addWidget(self.connections_stack)
        buttons = QHBoxLayout()
        self.sync_button = QPushButton("S&ync now", self)
        self.sync_button.setToolTip("Fetch new and changed records (all providers if none chosen)")
        self.sync_button.clicked.connect(self.sync_clicked)
        self.reconnect_button = QPushButton("&Reconnect", self)
        self.reconnect_button.setToolTip("Sign in again at the chosen provider; records are kept")
        self.reconnect_button.clicked.connect(self.reconnect_clicked)
        self.disconnect_button = QPushButton("&Disconnect…", self)
        self.disconnect_button.clicked.connect(self.disconnect_clicked)
        self.connect_button = QPushButton("&Connect a provider…", self)
        self.connect_button.clicked.connect(self.connect_clicked)
        for button in (
            self.sync_button, self.reconnect_button, self.disconnect_button, self.connect_button,
        ):  # fmt: skip
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

    # --- content ------------------------------------------------------------------------------

    def fill(self, statuses: list[ConnectionStatus]) -> None:
        self.connections.setRowCount(len(statuses))
        for row, status in enumerate(statuses):
            c = status.connection
            state, state_details = connection_state(status)
            cells = (c.name, state, when(c.last_sync_at), f"{status.records:,}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column == 0:
                    item.setData(_NAME, c.name)
                    item.setToolTip(c.fhir_base)
                if column == 1 and state_details:
                    item.setToolTip(state_details)
                if column == 3:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.connections.setItem(row, column, item)
        self.connections_stack.setCurrentWidget(
            self.connections if statuses else self.no_connections
        )
        # "another" only when there is a first one
        self.connect_button.setText("Connect &another…" if statuses else "&Connect a provider…")
        self._update_buttons()

    def clear(self) -> None:
        """Forget the session and its rows (the app is locking)."""
        self.session = None
        self.connections.setRowCount(0)

    def selected_connection(self) -> str | None:
        rows = self.connections.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.connections.item(rows[0].row(), 0)
        return str(item.data(_NAME)) if item else None

    def _update_buttons(self) -> None:
        has_rows = self.connections.rowCount() > 0
        chosen = self.selected_connection() is not None
        self.sync_button.setEnabled(has_rows)
        self.reconnect_button.setEnabled(chosen)
        self.disconnect_button.setEnabled(chosen)

    # --- actions ------------------------------------------------------------------------------

    def _changed(self, _result: object = None) -> None:
        self.changed.emit()

    def _failed(self, _exc: BaseException) -> bool:
        self.failed.emit()  # a partial sync or a removed sign-in shows in the table
        return False  # the runner still reports the error

    def sync_clicked(self) -> None:
        session, name = self.session, self.selected_connection()
        if session is None:
            return

        def sync(progress: ProgressCallback, cancel: CancelToken) -> object:
            return session.connections.sync(name, progress=progress, cancel=cancel)

        self.runner.run(
            sync,
            title=f"Syncing {name}" if name else "Syncing all providers",
            on_success=self._changed,
            on_error=self._failed,
        )

    def connect_clicked(self) -> None:
        dialog = ConnectDialog(self.app_data_dir or default_data_dir(), self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.chosen.connect(self.start_connect)
        dialog.open()

    def start_connect(
        self,
        fhir_base: str,
        client_id: str | None,
        name: str | None,
        same_person: bool = False,
    ) -> None:
        session, open_url = self.session, self.open_url
        if session is None:
            return

        def connect(progress: ProgressCallback, cancel: CancelToken) -> object:
            progress(Progress(0, None, SIGN_IN_HINT))
            return session.connections.connect(
                fhir_base, client_id=client_id, name=name, open_url=open_url, cancel=cancel,
                same_person=same_person,
            )  # fmt: skip

        def other_person(exc: BaseException) -> bool:
            """A sign-in as someone else stored nothing: both people side by side, and ask."""
            if not isinstance(exc, OtherPersonError):
                return False
            choice = other_person_dialog.ask_about_other_person(self, "This sign-in", exc.check)
            if choice is OtherPersonChoice.THIS_IS_ME:
                self.start_connect(fhir_base, client_id, name, same_person=True)
            elif choice is OtherPersonChoice.ANOTHER_PROFILE:
                style.show_message(
                    self, QMessageBox.Icon.Information, "Connect in another profile",
                    "Lock this profile (File → Lock), open or create that person's profile, "
                    "and connect the provider there.",
                )  # fmt: skip
            return True

        self.runner.run(
            connect, title="Connecting", on_success=self._changed, on_error=other_person
        )

    def reconnect_clicked(self) -> None:
        session, name = self.session, self.selected_connection()
        if session is None or name is None:
            return
        found = next(
            (s.connection for s in session.connection_statuses() if s.connection.name == name),
            None,
        )
        if found is None:
            return
        base, client_id, open_url = found.fhir_base, found.client_id, self.open_url

        def reconnect(progress: ProgressCallback, cancel: CancelToken) -> object:
            # No in-place re-authorisation in services yet: forget the sign-in (records kept),
            # then sign in again under the same name, which reuses the same source.
            progress(Progress(0, None, SIGN_IN_HINT))
            session.connections.disconnect(name)
            try:
                return session.connections.connect(
                    base, client_id=client_id, name=name, open_url=open_url, cancel=cancel
                )
            except USER_ERRORS as exc:
                raise ServiceError(
                    f"{exc} The old sign-in for {name} was removed; your records from it are "
                    "kept. Use the Connect button to sign in again."
                ) from exc

        self.runner.run(
            reconnect,
            title=f"Reconnecting {name}",
            on_success=self._changed,
            on_error=self._failed,
        )

    def disconnect_clicked(self) -> None:
        session, name = self.session, self.selected_connection()
        if session is None or name is None:
            return
        yes, delete_data = style.ask(
            self,
            "Disconnect",
            f"Disconnect {name}? The app stops fetching from it and asks the provider to revoke "
            "its sign-in. Records already fetched are kept unless you tick the box.",
            "Also delete the records it brought",
        )
        if not yes:
            return
        self.runner.run(
            lambda _p, _c: session.connections.disconnect(name, delete_data=delete_data),
            title=f"Disconnecting {name}",
            on_success=self._changed,
            cancellable=False,
        )
