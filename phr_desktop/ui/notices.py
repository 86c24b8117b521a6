"""Automatic sync while the app is unlocked, and desktop notifications (a tray icon).

The texts come from services/notices.py, which never puts health data in them; this module
only decides when to sync and shows what the service says. One `AutoSync` lives per unlocked
session: it checks at unlock (an overdue connection syncs then) and every few minutes after,
runs the due connections through the window's TaskRunner (the usual progress and Cancel), and
never starts while another task runs.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QSystemTrayIcon, QWidget

from phr_desktop.services.errors import Cancelled
from phr_desktop.services.notices import Notice, Notices, take_scheduled_problem
from phr_desktop.services.session import Session
from phr_desktop.services.sync_schedule import DueSyncResult, SyncSchedules
from phr_desktop.services.tasks import CancelToken, ProgressCallback
from phr_desktop.ui import style
from phr_desktop.ui.app_icon import app_icon
from phr_desktop.ui.workers import TaskRunner

CHECK_INTERVAL_MS = 10 * 60 * 1000  # how often the app asks "is a connection due?"
NOTICE_SHOWN_MS = 10_000


class NoticeTray(QObject):
    """Shows notices as desktop notifications from a tray icon where the desktop has a tray,
    else through `fallback` (the status bar). `told` keeps what was shown, for tests."""

    def __init__(self, fallback: Callable[[str], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fallback = fallback
        self.told: list[str] = []
        self.icon: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages():
            self.icon = QSystemTrayIcon(app_icon(), self)
            self.icon.setToolTip(style.APP_NAME)
            self.icon.show()

    def tell(self, notices: list[Notice]) -> None:
        for notice in notices:
            self.told.append(notice.text)
            if self.icon is not None:
                self.icon.showMessage(
                    style.APP_NAME, notice.text, QSystemTrayIcon.MessageIcon.Information,
                    NOTICE_SHOWN_MS,
                )  # fmt: skip
            else:
                self.fallback(notice.text)

    def close(self) -> None:
        if self.icon is not None:
            self.icon.hide()
            self.icon.deleteLater()
            self.icon = None


class AutoSync(QObject):
    synced = Signal()  # records may have changed: views refresh

    def __init__(
        self,
        session: Session,
        runner: TaskRunner,
        profile_dir: Path,
        tray: NoticeTray,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.session, self.runner, self.profile_dir, self.tray = session, runner, profile_dir, tray
        self.running = False
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_INTERVAL_MS)
        self.timer.timeout.connect(self.check)

    def start(self) -> None:
        """At unlock: tell what waited (a scheduled run that could not unlock, what a run
        outside the app found), then sync what is overdue and keep checking."""
        problem = take_scheduled_problem(self.profile_dir)
        if problem is not None:
            self.tray.tell([problem])
        self.tell_unshown()
        self.timer.start()
        QTimer.singleShot(0, self.check)  # after the window has shown the unlocked views

    def stop(self) -> None:
        self.timer.stop()

    def tell_unshown(self) -> None:
        notices = Notices(self.session)
        waiting = notices.unshown()
        if waiting:
            self.tray.tell(waiting)
            notices.mark_shown(waiting)

    def check(self) -> None:
        """Start a sync of the due connections, unless one runs or another task does."""
        if self.running or self.runner.busy or not self.timer.isActive():
            return
        if not SyncSchedules(self.session).due():
            return
        session = self.session

        def sync_due(progress: ProgressCallback, cancel: CancelToken) -> DueSyncResult:
            return SyncSchedules(session).sync_due(progress=progress, cancel=cancel)

        self.running = True
        self.runner.run(
            sync_due, title="Syncing (automatic)", on_success=self._done, on_error=self._failed
        )

    def _done(self, _result: object) -> None:
        self.running = False
        if self.timer.isActive():  # not locked meanwhile
            self.tell_unshown()
            self.synced.emit()

    def _failed(self, exc: BaseException) -> bool:
        self.running = False
        return isinstance(exc, Cancelled)  # the patient cancelled it: nothing to say
