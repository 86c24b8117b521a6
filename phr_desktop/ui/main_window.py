"""The main window: the profile screen while locked; dashboard, timeline and AATD once unlocked.

Views are built for each unlocked session and torn down on lock: every view's `clear()` runs,
the session closes, and the profile screen comes back with no field remembering anything.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
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
from phr_desktop.services.importing import ImportReport
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.services.tasks import CancelToken, ProgressCallback
from phr_desktop.ui import manual_entry, style
from phr_desktop.ui.aatd_view import AatdView
from phr_desktop.ui.auto_lock import AutoLock, AutoLockDialog, app_settings
from phr_desktop.ui.dashboard import Dashboard
from phr_desktop.ui.export_menu import ExportMenu
from phr_desktop.ui.profile_screen import ProfileScreen
from phr_desktop.ui.record.detail import RecordDetailView
from phr_desktop.ui.sensitivity_menu import SensitivityMenu
from phr_desktop.ui.sharing.menu import install_sharing_menu
from phr_desktop.ui.sharing.open_dialog import ShareOpener
from phr_desktop.ui.timeline.view import TimelineView
from phr_desktop.ui.workers import TaskRunner

IMPORT_FILTER = (
    "FHIR JSON or C-CDA (*.json *.ndjson *.jsonl *.xml *.ccd *.cda *.txt);;All files (*)"
)
# Shortcuts as StandardKey: a QKeySequence cannot be built before the QGuiApplication exists.
NEW_ENTRIES: tuple[tuple[str, str, QKeySequence.StandardKey | None], ...] = (
    ("Test result…", "LabResultDialog", None),
    ("Spirometry…", "SpirometryDialog", None),
    ("Medication or infusion…", "MedicationDialog", None),
    ("Condition…", "ConditionDialog", None),
    ("Note…", "NoteDialog", QKeySequence.StandardKey.New),
    ("Document (PDF or image)…", "UploadDialog", None),
)


def choose_import_paths(parent: QWidget, folder: bool) -> list[Path]:
    """Ask for FHIR files or a folder (tests replace this)."""
    if folder:
        chosen = QFileDialog.getExistingDirectory(parent, "Import a folder of FHIR files")
        return [Path(chosen)] if chosen else []
    files, _ = QFileDialog.getOpenFileNames(parent, "Import FHIR files", "", IMPORT_FILTER)
    return [Path(f) for f in files]


def import_summary(report: ImportReport) -> str:
    t = report.totals
    tried = len(report.files) - len(report.skipped)
    text = (
        f"Imported {tried - len(report.failed)} of {tried} file(s): "
        f"{t.new:,} new, {t.updated:,} updated, {t.unchanged:,} unchanged."
    )
    if report.failed:
        text += " Not imported: " + "; ".join(
            f"{Path(f.path).name} ({f.error})" for f in report.failed[:5]
        )
        if len(report.failed) > 5:
            text += f"; and {len(report.failed) - 5} more"
        text += "."
    if report.skipped:
        text += f" Skipped {len(report.skipped)} file(s) that hold no records: " + "; ".join(
            f"{Path(f.path).name} ({f.error})" for f in report.skipped[:5]
        )
        text += f"; and {len(report.skipped) - 5} more." if len(report.skipped) > 5 else "."
    return text


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
        self.setWindowTitle(style.APP_NAME)
        self.stack = QStackedWidget(self)
        self.setCentralWidget(self.stack)
        self.profile_screen = ProfileScreen(profiles, self.runner, self.stack)
        self.profile_screen.unlocked.connect(self.open_session)
        self.stack.addWidget(self.profile_screen)
        self.auto_lock = AutoLock(self.settings, self)
        self.auto_lock.lock_requested.connect(self._auto_locked)
        self.session_label = QLabel(self)
        self.session_label.setAccessibleName("Open profile")
        self.statusBar().addPermanentWidget(self.session_label)
        self.share_opener = ShareOpener(self, self.runner)  # also for those with no profile
        self.profile_screen.add_footer_action(
            "A patient gave you a shared file?", self.share_opener.action
        )
        self._build_actions()
        self._set_unlocked_actions(False)
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1200, 800)

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
            "Import FHIR JSON files (Bundles, resources, NDJSON)",
        )  # fmt: skip
        self.import_folder_action = self._action(
            "Import &folder…", lambda: self.import_clicked(folder=True), "Ctrl+Shift+O",
            "Import every FHIR file in a folder and its subfolders",
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
        help_menu = menu.addMenu("&Help")
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
        self.dashboard.app_data_dir = self.profiles.data_dir
        self.dashboard.recordActivated.connect(self.show_record)
        self.dashboard.categoryActivated.connect(self.show_kind)
        self.dashboard.dataChanged.connect(self.refresh_views)
        self.dashboard.export_button.setMenu(self.export_menu)
        self.dashboard.export_button.setEnabled(True)
        self.dashboard.export_button.setToolTip("Export the record as PDF, C-CDA, FHIR or CSV")
        self.dashboard.export_button.setAccessibleDescription("Export the record")
        self.sharing_menu.attach(self.dashboard)
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
        self.setWindowTitle(f"{session.profile_name} — {style.APP_NAME}")
        self.session_label.setText(f"Unlocked: {session.profile_name}")
        self._set_unlocked_actions(True)
        self.auto_lock.arm()
        self.tabs.setFocus()

    def views(self) -> list[QWidget]:
        found = (self.dashboard, self.timeline, self.detail, self.aatd)
        return [v for v in found if v is not None]

    def lock(self) -> None:
        """Close the vault and clear every view; back to the profile screen."""
        session = self.session
        if session is None:
            return
        self.runner.cancel_all()
        self.runner.wait()  # tasks roll back on cancel; the vault closes only after them
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
        self.dashboard = self.timeline = self.detail = self.aatd = None
        self.tabs = self.splitter = self.aatd_page = None
        self.session = None
        self.current_record_id = None
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

    # --- import -------------------------------------------------------------------------------

    def import_clicked(self, *, folder: bool) -> None:
        paths = choose_import_paths(self, folder)
        if paths:
            self.import_paths(paths)

    def import_paths(self, paths: list[Path]) -> None:
        session = self.session
        if session is None:
            return

        def run(progress: ProgressCallback, cancel: CancelToken) -> ImportReport:
            return session.import_paths(paths, progress=progress, cancel=cancel)

        self.runner.run(
            run, title="Importing", on_success=self._imported, on_error=self._import_failed
        )

    def _exported(self, path: Path) -> None:
        self.statusBar().showMessage(f"Exported to {path}", 15_000)

    def _imported(self, report: ImportReport) -> None:
        self.refresh_views()
        summary = import_summary(report)
        self.statusBar().showMessage(summary, 15_000)
        if report.failed:
            style.show_message(self, QMessageBox.Icon.Warning, "Import", summary)

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
