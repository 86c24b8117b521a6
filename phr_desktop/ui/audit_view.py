"""View → Activity log: what was done with this profile (unlocks, imports, exports, shares), in
plain words, and a check that nobody has edited or deleted an entry since it was written."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services import audit_log
from phr_desktop.services.session import Session
from phr_desktop.services.tasks import CancelToken, ProgressCallback
from phr_desktop.ui import style
from phr_desktop.ui.providers_box import when
from phr_desktop.ui.readable_colours import mark_flag
from phr_desktop.ui.secret_dialogs import ClearingDialog, read_only_table
from phr_desktop.ui.workers import TaskRunner

COLUMNS = ("#", "When", "Event", "Details")
_EVENT_ID = Qt.ItemDataRole.UserRole
INTRO = (
    "Everything done with this profile, newest first. Entries hold counts and choices, never "
    "health data. Each entry is sealed to the one before it, so an edited or deleted entry "
    "shows up when you verify."
)


class ActivityLogDialog(ClearingDialog):
    def __init__(self, session: Session, runner: TaskRunner, parent: QWidget | None = None):
        super().__init__(parent)
        self.session: Session | None = session
        self.runner = runner
        self.report: audit_log.ChainReport | None = None
        self.setWindowTitle("Activity log")
        self.setAccessibleName("Activity log")
        self.resize(860, 520)
        self.table = read_only_table(COLUMNS, "Activity log entries", 3, self)
        self.table.setWordWrap(False)
        self.verdict = QLabel(self)
        self.verdict.setAccessibleName("Verification result")
        self.verdict.setWordWrap(True)
        self.verdict.setTextFormat(Qt.TextFormat.PlainText)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.verdict.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.verdict.hide()
        self.verify_button = QPushButton("&Verify", self)
        self.verify_button.setToolTip("Check that no entry was changed or deleted")
        self.verify_button.clicked.connect(self.verify_clicked)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.verify_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(style.muted(INTRO, self))
        layout.addWidget(self.table, 1)
        layout.addWidget(self.verdict)
        layout.addLayout(buttons)
        self.refresh()

    def refresh(self) -> None:
        if self.session is None:
            return
        events = audit_log.list_events(self.session)
        self.table.setRowCount(len(events))
        for row, event in enumerate(events):
            for column, text in enumerate(
                (str(event.id), when(event.at), event.event, event.details)
            ):
                item = QTableWidgetItem(text)
                item.setData(_EVENT_ID, event.id)
                if column == 3 and text:
                    item.setToolTip(text)
                self.table.setItem(row, column, item)

    def row_of(self, event_id: int) -> int | None:
        """The row of an entry; for a deleted one, the entry that followed it."""
        found = None
        for row in range(self.table.rowCount()):  # newest (highest id) first
            item = self.table.item(row, 0)
            shown = item.data(_EVENT_ID) if item is not None else None
            if shown == event_id:
                return row
            if isinstance(shown, int) and shown > event_id:
                found = row
        return found

    # --- verification -------------------------------------------------------------------------

    def verify_clicked(self) -> None:
        session = self.session
        if session is None:
            return

        def run(_progress: ProgressCallback, _cancel: CancelToken) -> audit_log.ChainReport:
            return audit_log.verify(session)

        self.verify_button.setEnabled(False)
        self.runner.run(
            run,
            title="Checking the activity log",
            on_success=self._verified,
            on_error=self._verify_failed,
            cancellable=False,
        )

    def _verify_failed(self, _exc: BaseException) -> bool:
        self.verify_button.setEnabled(self.session is not None)
        return False

    def _verified(self, report: audit_log.ChainReport) -> None:
        if self.session is None:
            return
        self.verify_button.setEnabled(True)
        self.report = report
        self.verdict.setText(audit_log.verification_text(report))
        mark_flag(self.verdict, not report.ok, bold=True)
        self.verdict.show()
        if not report.ok and report.first_broken_id is not None:
            row = self.row_of(report.first_broken_id)
            if row is not None:
                self.table.selectRow(row)
                self.table.scrollTo(self.table.model().index(row, 0))
        self.verdict.setFocus()

    # --- closing ------------------------------------------------------------------------------

    def clear(self) -> None:
        self.session = None
        self.report = None
        self.table.setRowCount(0)
        self.verdict.clear()
