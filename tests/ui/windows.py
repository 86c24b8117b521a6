"""The app's main window as the UI tests open it: settings in the test's own folder, tasks run
synchronously, and message boxes a test left open closed afterwards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from phr_desktop.services.profiles import Profiles
from phr_desktop.ui.main_window.window import MainWindow
from phr_desktop.ui.workers import TaskRunner


def settings_in(folder: Path) -> QSettings:
    """Settings in `folder`, never the user's own."""
    return QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)


def shown_main_window(qtbot: Any, profiles: Profiles, settings: QSettings) -> MainWindow:
    win = MainWindow(profiles, settings=settings, runner=TaskRunner(synchronous=True))
    qtbot.addWidget(win)
    win.show()
    return win


def close_left_open(*kinds: type[QWidget]) -> None:
    """Close the message boxes (and any other `kinds` of window) a test left open."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, (QMessageBox, *kinds)):
            widget.close()
