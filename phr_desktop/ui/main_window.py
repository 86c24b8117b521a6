"""The main window: the profile screen while locked; dashboard, timeline and AATD once unlocked.

Views are built for each unlocked session and torn down on lock: every view's `clear()` runs,
the session closes, and the profile screen comes back with no field remembering anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from phr_desktop import __version__
from phr_desktop.services.demo import open_demo
from phr_desktop.services.import_documents import import_files
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.services.tasks import CancelToken, ProgressCallback
from phr_desktop.ui import manual_entry, other_person_dialog, style
from phr_desktop.ui.aatd_view import AatdView
from phr_desktop.ui.auto_lock import AutoLock, AutoLockDialog, app_settings
from phr_desktop.ui.backups.controller import BackupController
from phr_desktop.ui.dashboard import Dashboard
from phr_desktop.ui.export_menu import ExportMenu
from phr_desktop.ui.import_choice import choose_import_paths, import_summary
from phr_desktop.ui.notices import AutoSync, NoticeTray
from phr_desktop.ui.person_band import PersonBand, person_line
from phr_desktop.ui.profiles.screen import ProfileScreen
from phr_desktop.ui.record.detail import RecordDetailView
from phr_desktop.ui.screen_fit import fit_to_screen
from phr_desktop.ui.sensitivity_menu import SensitivityMenu
from phr_desktop.ui.sharing.menu import install_sharing_menu
from phr_desktop.ui.sharing.open_dialog import ShareOpener
from phr_desktop.ui.sync_schedule_dialog import sync_schedule_action
from phr_desktop.ui.timeline.view import TimelineView
from phr_desktop.ui.user_guide import UserGuide
from phr_desktop.ui.workers import TaskRunner

if TYPE_CHECKING:  # the importers load on the first import, not at start
    from phr_desktop.services.importing import FileOutcome, ImportReport


# Shortcuts as StandardKey: a QKeySequence cannot be built before the QGuiApplication exists.
NEW_ENTRIES: tuple[tuple[str, str, QKeySequence.StandardKey | None], ...] = (
    ("Test result…", "LabResultDialog", None),
    ("Spirometry…", "SpirometryDialog", None),
    ("Medication or infusion…", "MedicationDialog", None),
    ("Condition…", "ConditionDialog", None),
    ("AAT genotype…", "GenotypeDialog", None),
    ("Note…", "NoteDialog", QKeySequence.StandardKey.New),
    ("Document (PDF or image)…", "UploadDialog", None),
)


class MainWindow(QMainWindow):
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

    # --- actions and menus --------------------------------------------------------------------

    def _action(
        self, text: str, slot: object, shortcut: QKeySequence | str | None = None, tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(tip)
        action.triggered.connect(slot)
        return action

    def _build_actions(self) -> None:
        std = QKeySequence.StandardKey
        quit_keys = QKeySequence.keyBindings(std.Quit) or [QKeySequence("Ctrl+Q")]
        self.import_action = self._action(
            "&Import files…", lambda: self.import_clicked(folder=False), QKeySequence(std.Open),
            "Import C-CDA and FHIR files; PDFs and images are kept as documents",
        )  # fmt: skip
        self.import_folder_action = self._action(
            "Import &folder…", lambda: self.import_clicked(folder=True), "Ctrl+Shift+O",
            "Import every C-CDA and FHIR file in a folder and its subfolders",
        )  # fmt: skip
        self.lock_action = self._action(
            "&Lock", self.lock, "Ctrl+L", "Close the vault and clear the screen"
        )
        self.quit_action = self._action("&Quit", self.close)
        self.quit_action.setShortcuts(quit_keys)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.find_action = self._action(
            "&Find…", self.find_clicked, QKeySequence(std.Find), "Search the record"
        )
        self.correct_action = self._action(
            "&Correct this record…", self.correct_clicked, None,
            "Record a correction beside the source's value (the original is kept)",
        )  # fmt: skip
        self.refresh_action = self._action(
            "&Refresh", self.refresh_views, QKeySequence(std.Refresh)
        )
        self.auto_lock_action = self._action(
            "Auto-&lock…", self.auto_lock_clicked, QKeySequence(std.Preferences)
        )
        self.auto_lock_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.client_ids_action = self._action("Provider &app ids…", self.client_ids_clicked)
        self.about_action = self._action("&About phr-desktop", self.about_clicked)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.guide_action = self._action(
            "&User guide", self.guide_clicked, QKeySequence(std.HelpContents),
            "First steps, connecting, importing, sharing, backups (works offline)",
        )  # fmt: skip
        self.user_guide: UserGuide | None = None

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.import_action)
        file_menu.addAction(self.import_folder_action)
        file_menu.addAction(self.share_opener.action)
        self.new_menu = QMenu("&New entry", self)
        self.new_entry_actions: dict[str, QAction] = {}
        for text, class_name, shortcut in NEW_ENTRIES:
            keys = QKeySequence(shortcut) if shortcut is not None else None
            action = self._action(text, lambda _c=False, n=class_name: self.new_entry(n), keys)
            self.new_menu.addAction(action)
            self.new_entry_actions[class_name] = action
        file_menu.addMenu(self.new_menu)
        self.export_menu = ExportMenu(self, self.runner, lambda: self.session, self._exported)
        file_menu.addMenu(self.export_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.backups.back_up_now_action)
        file_menu.addAction(self.backups.restore_action)
        file_menu.addSeparator()
        file_menu.addAction(self.lock_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = menu.addMenu("&Edit")
        edit_menu.addAction(self.find_action)
        edit_menu.addAction(self.correct_action)
        self.sensitivity_menu = SensitivityMenu(
            self,
            lambda: self.session,
            lambda: self.timeline.current_filter() if self.timeline is not None else None,
            self.refresh_views,
        )
        edit_menu.addMenu(self.sensitivity_menu)
        edit_menu.addSeparator()
        edit_menu.addAction(self.auto_lock_action)
        edit_menu.addAction(self.client_ids_action)
        self.sync_schedule_action = sync_schedule_action(self, lambda: self.session)
        edit_menu.addAction(self.sync_schedule_action)
        view_menu = menu.addMenu("&View")
        self.view_actions = []
        for index, text in enumerate(("&Dashboard", "&Timeline", "&AATD overview")):
            action = self._action(
                text, lambda _c=False, i=index: self.show_tab(i), f"Ctrl+{index + 1}"
            )
            view_menu.addAction(action)
            self.view_actions.append(action)
        view_menu.addSeparator()
        view_menu.addAction(self.refresh_action)
        self.sharing_menu = install_sharing_menu(self, view_menu)
        settings_menu = menu.addMenu("&Settings")
        settings_menu.addAction(self.backups.settings_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.guide_action)
        help_menu.addSeparator()
        help_menu.addAction(self.about_action)

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addAction(self.import_action)
        toolbar.addAction(self.new_entry_actions["NoteDialog"])
        toolbar.addSeparator()
        toolbar.addAction(self.lock_action)
        self.toolbar = toolbar

    def _set_unlocked_actions(self, unlocked: bool) -> None:
        for action in (
            self.import_action, self.import_folder_action, self.lock_action, self.find_action,
            self.refresh_action, *self.view_actions, *self.new_entry_actions.values(),
            self.sync_schedule_action,
        ):  # fmt: skip
            action.setEnabled(unlocked)
        self.new_menu.setEnabled(unlocked)
        self.sensitivity_menu.setEnabled(unlocked)
        self.sharing_menu.set_unlocked(unlocked)
        self.correct_action.setEnabled(unlocked and self.current_record_id is not None)
        self.toolbar.setVisible(unlocked)

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
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self.tabs)
        self.splitter.setContentsMargins(6, 6, 6, 6)
        self.splitter.setChildrenCollapsible(False)
        self.timeline = TimelineView(session, self.splitter)
        self.detail = RecordDetailView(session, self.splitter)
        self.splitter.addWidget(self.timeline)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
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

    def client_ids_clicked(self) -> None:
        from phr_desktop.ui.client_ids_dialog import ClientIdsDialog

        dialog = ClientIdsDialog(self.profiles.data_dir, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()

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

    # --- get started: the empty dashboard's first steps ---------------------------------------

    def _wire_getting_started(self, dashboard: Dashboard) -> None:
        dashboard.importRequested.connect(lambda: self.import_clicked(folder=False))
        dashboard.addResultRequested.connect(lambda: self.new_entry("LabResultDialog"))
        dashboard.demoRequested.connect(self.open_demo_clicked)

    def open_demo_clicked(self) -> None:
        """Lock this profile and open the demo (created on first use) in its place."""
        profiles = self.profiles
        self.lock()

        def run(progress: ProgressCallback, _cancel: CancelToken) -> Session:
            session, _created = open_demo(profiles, progress)
            return session

        self.runner.run(
            run, title="Opening the demo", on_success=self.open_session, cancellable=False
        )

    def guide_clicked(self) -> None:
        if self.user_guide is None:
            self.user_guide = UserGuide(self)  # kept: it reopens where the reader left it
        self.user_guide.show()
        self.user_guide.raise_()
        self.user_guide.activateWindow()

    # --- import -------------------------------------------------------------------------------

    def import_clicked(self, *, folder: bool) -> None:
        paths = choose_import_paths(self, folder)
        if paths:
            self.import_paths(paths)

    def import_paths(self, paths: list[Path], *, same_person: bool = False) -> None:
        session = self.session
        if session is None:
            return

        def run(progress: ProgressCallback, cancel: CancelToken) -> ImportReport:
            return import_files(
                session, paths, progress=progress, cancel=cancel, same_person=same_person
            )

        self.runner.run(
            run, title="Importing", on_success=self._imported, on_error=self._import_failed
        )

    def _exported(self, path: Path) -> None:
        self.statusBar().showMessage(f"Exported to {path}", 15_000)

    def _imported(self, report: ImportReport) -> None:
        self.refresh_views()
        self._person_changed()  # the first imported Patient may have set the person
        summary = import_summary(report)
        self.statusBar().showMessage(summary, 15_000)
        if report.failed:
            style.show_message(self, QMessageBox.Icon.Warning, "Import", summary)
        self._decide_held(report.other_person)

    def _decide_held(self, held: list[FileOutcome]) -> None:
        """Each file held as another person's: the patient chooses, one file at a time."""
        mine, elsewhere = other_person_dialog.decide_held(self, held)
        if mine:
            self.import_paths(mine, same_person=True)
        if elsewhere:
            self.pending_import = elsewhere
            self.lock()
            self.statusBar().showMessage(
                f"Open or create that person's profile: {len(elsewhere)} file(s) will be "
                "imported into it (and checked again).",
                30_000,
            )

    def _import_failed(self, _exc: BaseException) -> bool:
        self.refresh_views()  # files finished before the failure or cancel are in
        return False

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

    # --- preferences, about, closing ----------------------------------------------------------

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

    def closeEvent(self, event: QCloseEvent) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.lock()
        self.share_opener.close_all()
        self.profile_screen.discard_pending()
        self.settings.sync()
        super().closeEvent(event)
