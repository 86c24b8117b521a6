"""Backups in the app: Settings → Automatic backups, background runs after changes, File →
Back up now… and Restore from backup…, the dashboard's status, and restore offered on the
profile screen of a computer with no profiles."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from phr_desktop.services.backup_status import BackupStatus, LastBackup
from phr_desktop.services.profiles import Profiles
from phr_desktop.ui.backups import controller as backup_controller
from phr_desktop.ui.backups.dialogs import AutoBackupDialog, RestoreDialog
from phr_desktop.ui.backups.status import status_text
from phr_desktop.ui.main_window.window import MainWindow
from tests.ui.test_app_flow import PASSPHRASE, create_profile
from tests.ui.windows import close_left_open, settings_in, shown_main_window


@pytest.fixture
def make_window(qtbot, fast_kdf: None, tmp_path: Path):  # type: ignore[no-untyped-def]
    made: list[MainWindow] = []

    def make(profiles: Profiles) -> MainWindow:
        win = shown_main_window(qtbot, profiles, settings_in(tmp_path))
        made.append(win)
        return win

    yield make
    close_left_open()
    for win in made:
        win.lock()


@pytest.fixture
def window(make_window, profiles: Profiles) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    win = make_window(profiles)
    create_profile(win)
    assert win.session is not None
    yield win


def backups(folder: Path) -> list[Path]:
    return sorted(folder.glob("phr-backup-*"))


def turn_on(window: MainWindow, folder: Path, keep: int = 10) -> None:
    window.backups.settings_action.trigger()
    dialog = window.backups.dialog
    assert isinstance(dialog, AutoBackupDialog)
    dialog.enabled.setChecked(True)
    dialog.folder.setText(str(folder))
    dialog.keep.setValue(keep)
    dialog.accept()


def test_turning_backups_on_makes_one_and_the_dashboard_says_when(
    window: MainWindow, tmp_path: Path, demo_files: list[Path]
) -> None:
    status = window.dashboard.backup_status  # type: ignore[union-attr]
    assert status.warning and "no backup yet" in status.label.text()
    folder = tmp_path / "usb"
    turn_on(window, folder, keep=3)
    assert len(backups(folder)) == 1  # the first one at once
    status = window.dashboard.backup_status  # type: ignore[union-attr]
    assert not status.warning and status.label.text().startswith("Last good backup:")
    assert window.session is not None and window.session.auto_backup.keep == 3

    window.session.auto_backup.min_interval = timedelta(0)
    window.import_paths(demo_files)  # a change: backed up in the background after it
    assert len(backups(folder)) == 2


def test_a_failed_background_backup_is_a_warning_and_the_import_stands(
    window: MainWindow, tmp_path: Path, demo_files: list[Path]
) -> None:
    folder = tmp_path / "usb"
    turn_on(window, folder)
    shutil.rmtree(folder)  # unplugged
    assert window.session is not None
    window.session.auto_backup.min_interval = timedelta(0)
    window.import_paths(demo_files)
    assert window.timeline is not None and window.timeline.model.record_count() > 0
    status = window.dashboard.backup_status  # type: ignore[union-attr]
    assert status.warning and "The last backup failed" in status.label.text()
    assert str(folder) in status.label.text()


def test_back_up_now_without_a_folder_asks_for_one(
    window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "once"
    monkeypatch.setattr(backup_controller, "choose_folder", lambda _parent, _title: target)
    window.backups.back_up_now_action.trigger()
    (made,) = backups(target)
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    assert any(str(made) in box.text() for box in boxes)


def test_the_profile_screen_of_a_new_computer_restores_a_backup(
    window: MainWindow,
    make_window,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    folder = tmp_path / "cloud"
    turn_on(window, folder)
    window.lock()
    new_computer = make_window(Profiles(tmp_path / "new-computer"))
    screen = new_computer.profile_screen
    assert screen.profile_list.count() == 0
    assert new_computer.backups.restore_action.isEnabled()
    footer = [screen.footer.itemAt(i).widget() for i in range(screen.footer.count())]
    assert any(
        getattr(w, "defaultAction", lambda: None)() is new_computer.backups.restore_action
        for w in footer
    )

    new_computer.backups.restore_action.trigger()
    dialog = new_computer.backups.dialog
    assert isinstance(dialog, RestoreDialog)
    dialog.source.setText(str(folder))
    dialog.secret.setText("not the passphrase")
    dialog.accept()
    assert "passphrase does not unlock" in dialog.error.text()
    assert screen.profile_list.count() == 0

    dialog.secret.setText(PASSPHRASE)
    dialog.accept()
    assert [screen.profile_list.item(i).text() for i in range(screen.profile_list.count())] == [
        "alex"
    ]
    screen.passphrase.setText(PASSPHRASE)
    screen.unlock_clicked()
    assert new_computer.session is not None and new_computer.session.profile_name == "alex"


def test_the_dashboard_line_warns_about_a_backup_older_than_a_week(tmp_path: Path) -> None:
    now = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
    recent = BackupStatus(
        tmp_path, 10, LastBackup(tmp_path / "b", now - timedelta(days=2)), None, None
    )
    text, warning = status_text(recent, now)
    assert not warning and "2 days ago" in text and text.startswith("Last good backup:")
    old = BackupStatus(
        tmp_path, 10, LastBackup(tmp_path / "b", now - timedelta(days=9)), None, None
    )
    text, warning = status_text(old, now)
    assert warning and "9 days old" in text and str(tmp_path) in text
