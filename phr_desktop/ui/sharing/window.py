"""A share a patient gave the clinician, read-only in its own window: a banner saying who signed
it, when and until when, then the same timeline, record detail and AATD screens as a profile.

Nothing is written to disk from here except the PDF or C-CDA the clinician chooses to save.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QFontDatabase,
    QKeySequence,
    QPalette,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.share_viewer import ShareSession
from phr_desktop.services.tasks import CancelToken, ProgressCallback
from phr_desktop.ui import style
from phr_desktop.ui.aatd_view import AatdView
from phr_desktop.ui.readable_colours import mark_flag
from phr_desktop.ui.record.split_view import timeline_beside_detail
from phr_desktop.ui.screen_fit import fit_to_screen
from phr_desktop.ui.workers import TaskRunner

# (format, menu text, file filter, suggested file name)
SAVE_CHOICES = (
    ("pdf", "Save as &PDF…", "PDF (*.pdf)", "shared-record.pdf"),
    ("ccda", "Save as &C-CDA…", "C-CDA XML (*.xml)", "shared-record-ccd.xml"),
)
HONESTY = (
    "Read-only. Nothing from this share is kept on this computer unless you save it as PDF or "
    "C-CDA. The expiry is enforced by phr-desktop's viewer; once the patient has given out the "
    "key, the file itself cannot be recalled."
)
_EXPIRY_CHECK_MS = 60_000


def choose_save_path(parent: QWidget, file_filter: str, suggested: str) -> Path | None:
    """Ask where to save (tests replace this)."""
    chosen, _ = QFileDialog.getSaveFileName(
        parent, "Save the shared records", str(Path.home() / suggested), file_filter
    )
    return Path(chosen) if chosen else None


def _when(instant: datetime) -> str:
    return f"{instant.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


class ShareBanner(QFrame):
    """Who signed the share, for whom, when, until when and how much: read before the records."""

    patientRequested = Signal()

    def __init__(self, session: ShareSession, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        view = session.view
        self.setObjectName("share-banner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("About this share")
        self.setAutoFillBackground(True)
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self.title = style.heading(
            f"Shared by {view.patient_name or '(no name)'} for {view.recipient or '(no label)'}",
            self,
        )
        self.fingerprint = QLabel(view.signer_fingerprint_display, self)
        self.fingerprint.setAccessibleName("Signer's key fingerprint")
        self.fingerprint.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        files = f" · {session.file_count} attached file(s)" if session.file_count else ""
        self.facts = QLabel(
            f"Made {_when(view.issued_at)} · valid until {_when(view.expires_at)} · "
            f"{view.record_count:,} record{'s' if view.record_count != 1 else ''}{files}",
            self,
        )
        self.facts.setAccessibleName("Share dates and size")
        self.expired = QLabel(self)
        self.expired.setAccessibleName("Expiry warning")
        self.expired.setWordWrap(True)
        mark_flag(self.expired)
        self.expired.hide()
        self.patient_button = QPushButton("Patient details", self)
        self.patient_button.setEnabled(session.patient_record_id is not None)
        self.patient_button.clicked.connect(self.patientRequested)

        key_row = QHBoxLayout()
        key_row.addWidget(QLabel("Signed by key:", self))
        key_row.addWidget(self.fingerprint)
        # Keys made since the signer-binding format were checked against the signer when the
        # share opened; only an old key leaves the comparison to the reader.
        self.signer_check = style.muted(f"— {view.signer_note}", self)
        self.signer_check.setAccessibleName("Signer check")
        key_row.addWidget(self.signer_check, 1)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.patient_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(key_row)
        layout.addWidget(self.facts)
        layout.addWidget(self.expired)
        layout.addWidget(style.muted(HONESTY, self))

    def text(self) -> str:
        """Everything the banner says, as one string (for tests and screen readers)."""
        labels = [self.title, self.fingerprint, self.signer_check, self.facts, self.expired]
        return "\n".join(label.text() for label in labels if label.text())


class ShareWindow(QMainWindow):
    """One opened share. Closing the window closes the in-memory database: nothing remains."""

    closed = Signal(object)  # this window: it names itself, so no closure over it is needed

    def __init__(
        self, session: ShareSession, parent: QWidget | None = None, *, synchronous: bool = False
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.session: ShareSession | None = session
        self.runner = TaskRunner(self, synchronous=synchronous)
        self.aatd: AatdView | None = None
        self.setWindowTitle(f"Share from {session.profile_name} (read-only) — {style.APP_NAME}")
        self.banner = ShareBanner(session, self)
        self.banner.patientRequested.connect(self.show_patient)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.splitter, self.timeline, self.detail = timeline_beside_detail(session, self.tabs)
        self.timeline.recordActivated.connect(self.detail.show_record)
        self.detail.recordActivated.connect(self.show_record)
        self.aatd_page = QWidget(self.tabs)
        QVBoxLayout(self.aatd_page).setContentsMargins(0, 0, 0, 0)
        self.tabs.addTab(self.splitter, "Timeline")
        self.tabs.addTab(self.aatd_page, "AATD overview")
        self.tabs.currentChanged.connect(self._tab_shown)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self._build_actions()
        self.expiry_timer = QTimer(self, interval=_EXPIRY_CHECK_MS)
        self.expiry_timer.timeout.connect(self.check_expiry)
        self.expiry_timer.start()
        self.check_expiry()
        self.resize(1200, 800)
        fit_to_screen(self)
        # A pulmonologist opening an AATD patient's share starts from the overview (genotype,
        # AAT level, FEV1 decline, infusions); the timeline is one tab away.
        self.tabs.setCurrentWidget(self.aatd_page)

    def _build_actions(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        toolbar = self.addToolBar("Share")
        toolbar.setObjectName("share-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.save_actions: dict[str, QAction] = {}
        # The group names the action triggered, so no action of this window (deleted on close)
        # holds a closure over it: PySide can crash deleting such a window.
        save_group = QActionGroup(self)
        save_group.setExclusionPolicy(QActionGroup.ExclusionPolicy.None_)
        save_group.triggered.connect(self._save_triggered)
        for fmt, text, file_filter, suggested in SAVE_CHOICES:
            action = QAction(text, self)
            action.setStatusTip("Save the shared records in a file you choose")
            action.setData((fmt, file_filter, suggested))
            save_group.addAction(action)
            file_menu.addAction(action)
            toolbar.addAction(action)
            self.save_actions[fmt] = action
        file_menu.addSeparator()
        self.close_action = QAction("&Close", self)
        self.close_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Close))
        self.close_action.triggered.connect(self.close)
        file_menu.addAction(self.close_action)
        toolbar.addSeparator()
        toolbar.addAction(self.close_action)

    # --- navigation ---------------------------------------------------------------------------

    def show_record(self, record_id: int) -> None:
        self.tabs.setCurrentIndex(0)
        if not self.timeline.select_record(record_id):
            self.timeline.reset_filters()
            self.timeline.select_record(record_id)
        if self.detail.record_id() != record_id:
            self.detail.show_record(record_id)

    def show_patient(self) -> None:
        if self.session is not None and self.session.patient_record_id is not None:
            self.tabs.setCurrentIndex(0)
            self.detail.show_record(self.session.patient_record_id)

    def _tab_shown(self, index: int) -> None:
        if index == 1 and self.aatd is None and self.session is not None:
            self.aatd = AatdView(self.session, self.aatd_page, hints=False)
            self.aatd.recordActivated.connect(self.show_record)
            page_layout = self.aatd_page.layout()
            assert page_layout is not None
            page_layout.addWidget(self.aatd)
            self.aatd.show()

    # --- expiry and saving --------------------------------------------------------------------

    def check_expiry(self, now: datetime | None = None) -> bool:
        """Keep showing an expired share, but say so (the viewer refuses to open it again)."""
        if self.session is None or not self.session.is_expired(now):
            return False
        self.banner.expired.setText(
            f"This share expired on {_when(self.session.view.expires_at)}. What is shown stays "
            "until you close this window; opening the file again will be refused."
        )
        self.banner.expired.show()
        self.expiry_timer.stop()
        return True

    def _save_triggered(self, action: QAction) -> None:
        fmt, file_filter, suggested = action.data()
        path = choose_save_path(self, file_filter, suggested)
        if path is not None:
            self.save_as(fmt, path)

    def save_as(self, fmt: str, path: Path) -> None:
        session = self.session
        if session is None:
            return

        def run(progress: ProgressCallback, cancel: CancelToken) -> Path:
            return session.export(fmt, path, progress=progress, cancel=cancel)

        self.runner.run(run, title="Saving", on_success=self._saved)

    def _saved(self, path: Path) -> None:
        self.statusBar().showMessage(f"Saved to {path}", 15_000)

    # --- closing ------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self.runner.cancel_all()
        self.runner.wait()
        self.expiry_timer.stop()
        self.detail.clear()
        self.timeline.clear()
        if self.aatd is not None:
            self.aatd.clear()
        if self.session is not None:
            self.session.close()
            self.session = None
        self.closed.emit(self)
        super().closeEvent(event)
