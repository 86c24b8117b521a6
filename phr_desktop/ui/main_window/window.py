"""The main window: the profile screen while locked; dashboard, timeline and AATD once unlocked.

Views are built for each unlocked session and torn down on lock: every view's `clear()` runs,
the session closes, and the profile screen comes back with no field remembering anything.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.ui import style
from phr_desktop.ui.aatd_view import AatdView
from phr_desktop.ui.auto_lock import AutoLock, app_settings
from phr_desktop.ui.backups.controller import BackupController
from phr_desktop.ui.dashboard import Dashboard
from phr_desktop.ui.main_window.dialogs import MainWindowDialogs
from phr_desktop.ui.main_window.import_flow import MainWindowImports
from phr_desktop.ui.main_window.menus import MainWindowMenus
from phr_desktop.ui.notices import AutoSync, NoticeTray
from phr_desktop.ui.person_band import PersonBand, person_line
from phr_desktop.ui.profiles.screen import ProfileScreen
from phr_desktop.ui.record.detail import RecordDetailView
from phr_desktop.ui.record.split_view import timeline_beside_detail
from phr_desktop.ui.screen_fit import fit_to_screen
from phr_desktop.ui.sharing.open_dialog import ShareOpener
from phr_desktop.ui.timeline.view import TimelineView
from phr_desktop.ui.workers import TaskRunner


class MainWindow(MainWindowMenus, MainWindowDialogs, MainWindowImports):
    """The window itself: the profile screen, a session's views, navigation between them."""

    def __init__(
        self,
        profiles: Profiles,
        *,
        settings: QSettings | None = None,
        runner: TaskRunner | None = None,
    ) -> None:
        super().__init__()
        self.profiles = profiles
        self.settings = settings if settings is not None else app_settings()
        self.runner = runner or TaskRunner(self)
        if self.runner.parent_widget is None:
            self.runner.parent_widget = self
        self.session: Session | None = None
        self.current_record_id: int | None = None
        self.dashboard: Dashboard | None = None
        self.timeline: TimelineView | None = None
        self.detail: RecordDetailView | None = None
        self.aatd: AatdView | None = None
        self.tabs: QTabWidget | None = None
        self.aatd_page: QWidget | None = None
        self.splitter: QSplitter | None = None
        self.open_dialog: QWidget | None = None  # the last non-blocking dialog opened
        self.person_band: PersonBand | None = None
        # Files held as another person's, to import once that person's profile is open.
        self.pending_import: list[Path] = []
        self.setWindowTitle(style.APP_NAME)
        central = QWidget(self)
        self.central_layout = QVBoxLayout(central)
        self.central_layout.setContentsMargins(0, 0, 0, 0)
        self.central_layout.setSpacing(0)
        self.stack = QStackedWidget(central)
        self.central_layout.addWidget(self.stack)
        self.setCentralWidget(central)
        self.profile_screen = ProfileScreen(profiles, self.runner, self.stack)
        self.profile_screen.unlocked.connect(self.open_session)
        self.stack.addWidget(self.profile_screen)
        self.auto_lock = AutoLock(self.settings, self)
        self.auto_lock.lock_requested.connect(self._auto_locked)
        self.notice_tray = NoticeTray(lambda text: self.statusBar().showMessage(text, 15_000), self)
        self.auto_sync: AutoSync | None = None  # per unlocked session
        self.session_label = QLabel(self)
        self.session_label.setAccessibleName("Open profile")
        self.statusBar().addPermanentWidget(self.session_label)
        self.share_opener = ShareOpener(self, self.runner)  # also for those with no profile
        self.profile_screen.add_footer_action(
            "A patient gave you a shared file?", self.share_opener.action
        )
        self.backups = BackupController(self, self.runner, profiles)  # File, Settings menus
        self.profile_screen.add_footer_action(
            "A new computer? Your profile from its backup:", self.backups.restore_action
        )
        self.backups.restored.connect(lambda r: self.profile_screen.reset(select=r.profile))
        self._build_actions()
        self._set_unlocked_actions(False)
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 800)
        fit_to_screen(self)  # a size saved on a larger monitor, or the default on a laptop

    # --- session lifecycle --------------------------------------------------------------------

    def open_session(self, session: Session) -> None:
        if self.session is not None:
            self.lock()
        self.session = session
        self.tabs = QTabWidget(self.stack)
        self.tabs.setDocumentMode(True)
        self.tabs.setAccessibleName("Views")
        self.dashboard = Dashboard(session, self.runner, self.tabs)
        self.dashboard.providers.app_data_dir = self.profiles.data_dir
        self.dashboard.recordActivated.connect(self.show_record)
        self.dashboard.categoryActivated.connect(self.show_kind)
        self.dashboard.dataChanged.connect(self.refresh_views)
        self.dashboard.export_button.setMenu(self.export_menu)
        self.dashboard.export_button.setEnabled(True)
        self.dashboard.export_button.setToolTip("Export the record as PDF, C-CDA, FHIR or CSV")
        self.dashboard.export_button.setAccessibleDescription("Export the record")
        self.sharing_menu.attach(self.dashboard)
        self._wire_getting_started(self.dashboard)
        self.splitter, self.timeline, self.detail = timeline_beside_detail(session, self.tabs)
        self.splitter.setContentsMargins(6, 6, 6, 6)
        state = self.settings.value("window/timeline-splitter")
        if isinstance(state, QByteArray):
            self.splitter.restoreState(state)
        self.timeline.recordActivated.connect(self._detail_for)
        self.detail.recordActivated.connect(self.show_record)
        self.detail.recordEdited.connect(self._record_edited)
        # The AATD overview reads every test result: built when its tab is first shown.
        self.aatd_page = QWidget(self.tabs)
        QVBoxLayout(self.aatd_page).setContentsMargins(0, 0, 0, 0)
        self.tabs.addTab(self.dashboard, "Dashboard")
        self.tabs.addTab(self.splitter, "Timeline")
        self.tabs.addTab(self.aatd_page, "AATD overview")
        self.tabs.currentChanged.connect(self._tab_shown)
        self.stack.addWidget(self.tabs)
        self.stack.setCurrentWidget(self.tabs)
        self.person_band = PersonBand(session, self.centralWidget())
        self.person_band.edited.connect(self._person_changed)
        self.central_layout.insertWidget(0, self.person_band)
        self.person_band.show()
        self._update_title()
        self.session_label.setText(f"Unlocked: {session.profile_name}")
        self._set_unlocked_actions(True)
        self.backups.statusChanged.connect(self.dashboard.backup_status.refresh)
        self.backups.attach(session)
        self.auto_lock.arm()
        self.tabs.setFocus()
        profile_dir = self.profiles.path(session.profile_name)
        self.auto_sync = AutoSync(session, self.runner, profile_dir, self.notice_tray, self)
        self.auto_sync.synced.connect(self.refresh_views)
        self.auto_sync.start()
        if self.pending_import:  # held for another person: try them in this profile
            paths, self.pending_import = self.pending_import, []
            self.import_paths(paths)

    def _update_title(self) -> None:
        """Whose record is open, in the title bar too (the taskbar shows it)."""
        session = self.session
        if session is None:
            self.setWindowTitle(style.APP_NAME)
            return
        name, _born = person_line(session)
        shown = name if name == session.profile_name else f"{name} ({session.profile_name})"
        self.setWindowTitle(f"{shown} — {style.APP_NAME}")

    def _person_changed(self) -> None:
        if self.person_band is not None:
            self.person_band.refresh()
        self._update_title()

    def views(self) -> list[QWidget]:
        found = (self.dashboard, self.timeline, self.detail, self.aatd)
        return [v for v in found if v is not None]

    def lock(self) -> None:
        """Close the vault and clear every view; back to the profile screen."""
        session = self.session
        if session is None:
            return
        if self.auto_sync is not None:
            self.auto_sync.stop()  # no new automatic sync; a running one is cancelled below
        self.runner.cancel_all()
        self.runner.wait()  # tasks roll back on cancel; the vault closes only after them
        if self.auto_sync is not None:
            self.auto_sync.deleteLater()
            self.auto_sync = None
        if self.open_dialog is not None:
            self.open_dialog.close()
            self.open_dialog = None
        if self.detail is not None:
            self.detail.cleanup_temp_files()
        for view in self.views():
            view.clear()  # type: ignore[attr-defined]
        if self.splitter is not None:
            self.settings.setValue("window/timeline-splitter", self.splitter.saveState())
        if self.tabs is not None:
            self.stack.removeWidget(self.tabs)
            self.tabs.deleteLater()
        if self.person_band is not None:
            self.central_layout.removeWidget(self.person_band)
            self.person_band.deleteLater()
            self.person_band = None
        self.dashboard = self.timeline = self.detail = self.aatd = None
        self.tabs = self.splitter = self.aatd_page = None
        self.session = None
        self.current_record_id = None
        self.backups.detach()
        session.close()
        self.auto_lock.disarm()
        self._set_unlocked_actions(False)
        self.setWindowTitle(style.APP_NAME)
        self.session_label.setText("Locked")
        self.profile_screen.reset(select=session.profile_name)
        self.stack.setCurrentWidget(self.profile_screen)

    def _tab_shown(self, index: int) -> None:
        if index == 2 and self.aatd is None and self.session is not None:
            assert self.aatd_page is not None  # built with the tabs
            self.aatd = AatdView(self.session, self.aatd_page)
            self.aatd.recordActivated.connect(self.show_record)
            layout = self.aatd_page.layout()
            assert layout is not None
            layout.addWidget(self.aatd)
            self.aatd.show()  # a child added to a visible parent is hidden until shown

    def _auto_locked(self, reason: str) -> None:
        self.lock()
        why = "the screen locked" if reason == "screen locked" else "it was not used for a while"
        self.statusBar().showMessage(f"Locked because {why}.")

    # --- navigation ---------------------------------------------------------------------------

    def show_tab(self, index: int) -> None:
        if self.tabs is not None:
            self.tabs.setCurrentIndex(index)

    def _detail_for(self, record_id: int) -> None:
        if self.detail is not None:
            self.current_record_id = record_id
            self.detail.show_record(record_id)
            self.correct_action.setEnabled(True)

    def show_record(self, record_id: int) -> None:
        """Open a record on the timeline with its detail (from the dashboard, search, …)."""
        if self.timeline is None:
            return
        self.show_tab(1)
        if not self.timeline.select_record(record_id):
            self.timeline.reset_filters()
            self.timeline.select_record(record_id)
        if self.current_record_id != record_id:  # selecting it usually showed it already
            self._detail_for(record_id)

    def show_kind(self, kind: str) -> None:
        if self.timeline is not None:
            self.timeline.apply_filter(RecordFilter(kinds=(kind,)))
            self.show_tab(1)

    def find_clicked(self) -> None:
        if self.tabs is None or self.dashboard is None or self.timeline is None:
            return
        if self.tabs.currentIndex() == 1:
            self.timeline.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
            self.timeline.search.selectAll()
        else:
            self.show_tab(0)
            self.dashboard.focus_search()

    def _record_edited(self, _record_id: int) -> None:
        for view in (self.dashboard, self.timeline, self.aatd):
            if view is not None:
                view.refresh()

    def refresh_views(self) -> None:
        for view in (self.dashboard, self.timeline, self.aatd):
            if view is not None:
                view.refresh()
        if self.detail is not None and self.current_record_id is not None:
            self.detail.show_record(self.current_record_id)
        self.backups.poke()  # after an import, sync or entry: a backup, if one is due

    # --- closing ------------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.lock()
        self.share_opener.close_all()
        self.profile_screen.discard_pending()
        self.settings.sync()
        super().closeEvent(event)
