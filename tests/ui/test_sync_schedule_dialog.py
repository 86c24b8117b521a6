"""Edit ▸ Automatic sync…: each connection's schedule, chosen in the app, kept in the vault;
notices shown as notifications (the status bar where the desktop has no tray)."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow

from phr_desktop.services.notices import Notice
from phr_desktop.services.session import Session
from phr_desktop.services.sync_schedule import SyncSchedules
from phr_desktop.ui.notices import NoticeTray
from phr_desktop.ui.sync_schedule_dialog import SyncScheduleDialog
from phr_desktop.vault.connections import ConnectionStore
from phr_desktop.vault.database import transaction


def _connection(session: Session, name: str) -> None:
    with transaction(session.vault.conn):
        source_id = session.store.ensure_source("smart", name, {})
        ConnectionStore(session.vault.conn).add(
            name, "https://x.test/fhir", "app", source_id, "p", "s", {}
        )


def test_the_dialog_shows_each_schedule_and_saves_the_changed_ones(qtbot, session: Session) -> None:  # type: ignore[no-untyped-def]
    _connection(session, "Riverside")
    _connection(session, "Lakeside")
    SyncSchedules(session).set("Lakeside", "weekly")
    dialog = SyncScheduleDialog(session)
    qtbot.addWidget(dialog)
    assert {n: c.currentData() for n, c in dialog.choosers.items()} == {
        "Lakeside": "weekly",
        "Riverside": "daily",
    }
    riverside = dialog.choosers["Riverside"]
    riverside.setCurrentIndex(riverside.findData("off"))
    dialog.save()
    assert SyncSchedules(session).all() == {"Lakeside": "weekly", "Riverside": "off"}


def test_without_a_tray_a_notice_goes_to_the_status_bar(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = QMainWindow()
    qtbot.addWidget(window)
    tray = NoticeTray(lambda text: window.statusBar().showMessage(text), window)
    tray.tell([Notice("k", "Riverside: 3 new results")])
    assert tray.told == ["Riverside: 3 new results"]
    if tray.icon is None:  # offscreen has no tray
        assert window.statusBar().currentMessage() == "Riverside: 3 new results"
