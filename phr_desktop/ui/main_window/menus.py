"""The main window's menu bar, toolbar and actions, with their shortcuts and enabled state."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from phr_desktop.ui.export_menu import ExportMenu
from phr_desktop.ui.main_window.base import MainWindowBase
from phr_desktop.ui.sensitivity_menu import SensitivityMenu
from phr_desktop.ui.sharing.menu import install_sharing_menu
from phr_desktop.ui.sync_schedule_dialog import sync_schedule_action
from phr_desktop.ui.user_guide import UserGuide

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


class MainWindowMenus(MainWindowBase):
    """File, Edit, View, Sharing, Settings and Help, and the toolbar (a part of `MainWindow`)."""

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

    def _exported(self, path: Path) -> None:
        self.statusBar().showMessage(f"Exported to {path}", 15_000)
