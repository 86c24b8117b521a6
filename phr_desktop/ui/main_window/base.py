"""What the main window's parts share: its state, and the slots one part calls on another."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMainWindow, QWidget

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.ui.auto_lock import AutoLock
from phr_desktop.ui.backups.controller import BackupController
from phr_desktop.ui.sharing.open_dialog import ShareOpener
from phr_desktop.ui.timeline.view import TimelineView
from phr_desktop.ui.user_guide import UserGuide
from phr_desktop.ui.workers import TaskRunner


class MainWindowBase(QMainWindow):
    """The state `MainWindow` sets up that its menus, dialogs and import flow also use."""

    profiles: Profiles
    settings: QSettings
    runner: TaskRunner
    session: Session | None
    current_record_id: int | None
    timeline: TimelineView | None
    open_dialog: QWidget | None  # the last non-blocking dialog opened
    pending_import: list[Path]  # held as another person's, for when that profile opens
    auto_lock: AutoLock
    share_opener: ShareOpener
    backups: BackupController
    user_guide: UserGuide | None

    if TYPE_CHECKING:  # each defined by one part of the window, called by another

        def open_session(self, session: Session) -> None: ...

        def lock(self) -> None: ...

        def show_tab(self, index: int) -> None: ...

        def show_record(self, record_id: int) -> None: ...

        def find_clicked(self) -> None: ...

        def refresh_views(self) -> None: ...

        def _person_changed(self) -> None: ...

        def import_clicked(self, *, folder: bool) -> None: ...

        def new_entry(self, class_name: str) -> None: ...

        def correct_clicked(self) -> None: ...

        def auto_lock_clicked(self) -> None: ...

        def client_ids_clicked(self) -> None: ...

        def about_clicked(self) -> None: ...

        def guide_clicked(self) -> None: ...
