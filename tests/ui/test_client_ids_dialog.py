"""Specification of Edit → Provider app ids: one client id per EHR vendor, changed or
forgotten there, each vendor with its registration page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from phr_desktop.services.client_ids import ClientIds
from phr_desktop.ui.client_ids_dialog import ClientIdsDialog


def test_app_ids_are_shown_changed_and_forgotten_per_vendor(qtbot: Any, tmp_path: Path) -> None:
    ClientIds(tmp_path).set("epic", "old-epic-id")
    dialog = ClientIdsDialog(tmp_path)
    qtbot.addWidget(dialog)
    assert dialog.fields["epic"].text() == "old-epic-id"
    dialog.fields["epic"].clear()
    qtbot.keyClicks(dialog.fields["oracle"], "oracle-app")
    dialog.accept()
    assert dialog.result() == 1
    assert ClientIds(tmp_path).all() == {"oracle": "oracle-app"}


def test_a_malformed_app_id_is_refused_and_nothing_is_saved(qtbot: Any, tmp_path: Path) -> None:
    dialog = ClientIdsDialog(tmp_path)
    qtbot.addWidget(dialog)
    qtbot.keyClicks(dialog.fields["athena"], "two words")
    dialog.accept()
    assert dialog.result() == 0 and "without spaces" in dialog.error.text()
    assert ClientIds(tmp_path).all() == {}


def test_the_edit_menu_opens_it_on_the_apps_data_folder(qtbot: Any, tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from phr_desktop.services.profiles import Profiles
    from phr_desktop.ui.main_window.window import MainWindow

    ClientIds(tmp_path / "data").set("oracle", "kept-oracle-id")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(Profiles(tmp_path / "data"), settings=settings)
    qtbot.addWidget(window)
    window.client_ids_action.trigger()
    dialog = window.findChild(ClientIdsDialog)
    assert dialog is not None and dialog.fields["oracle"].text() == "kept-oracle-id"
    dialog.reject()
