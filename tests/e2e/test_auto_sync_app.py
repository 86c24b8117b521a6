"""The app syncs due connections by itself at unlock, through its usual task runner, and tells
the patient in a desktop notification (captured here) that holds no health data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from phr_desktop.services.notices import RESULT_KINDS, record_scheduled_problem
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.sync_schedule import SyncSchedules
from phr_desktop.ui.main_window.window import MainWindow
from tests.conftest import PASSPHRASE
from tests.e2e.test_smart_sync import _connect
from tests.ui.windows import close_left_open, settings_in, shown_main_window

NAME = "Local SMART"


@pytest.fixture
def window(qtbot, profiles: Profiles, fast_kdf: None, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    yield shown_main_window(qtbot, profiles, settings_in(tmp_path))
    close_left_open()


def test_unlocking_syncs_an_overdue_connection_and_tells_how_many_new_results(
    qtbot, window: MainWindow, profiles: Profiles, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    created, _ = profiles.create("e2e", PASSPHRASE)
    with created:
        _connect(created, server)
    # Last night's scheduled run found no remembered key.
    record_scheduled_problem(profiles.path("e2e"), datetime(2026, 12, 5, 9, 0, tzinfo=UTC))

    window.open_session(profiles.unlock("e2e", passphrase=PASSPHRASE))
    assert window.auto_sync is not None
    qtbot.waitUntil(lambda: len(window.notice_tray.told) == 2, timeout=60_000)
    session = window.session
    assert session is not None
    marks = ", ".join("?" for _ in RESULT_KINDS)
    results = session.vault.conn.execute(
        f"SELECT count(*) FROM records WHERE kind IN ({marks})", RESULT_KINDS
    ).fetchone()[0]
    told = window.notice_tray.told
    assert told[0].startswith("The scheduled sync on 2026-12-05 09:00 UTC could not run")
    assert told[1] == f"{NAME}: {results} new results"
    titles = {r[0] for r in session.vault.conn.execute("SELECT title FROM records")}
    assert not [t for t in titles if t in " ".join(told)]
    assert SyncSchedules(session).due() == []  # synced: not due again today
    assert window.timeline is not None and window.timeline.model.rowCount() > 0

    # A later check finds nothing due: no second sync, nothing told again.
    window.auto_sync.check()
    assert len(window.notice_tray.told) == 2
    window.lock()
    assert window.auto_sync is None


def test_an_automatic_sync_shows_the_usual_progress_and_cancel_stops_it_quietly(
    qtbot,
    profiles: Profiles,
    fast_kdf: None,
    tmp_path: Path,
    start_smart_server,
    synthea_seed: Path,
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QProgressDialog

    server = start_smart_server(synthea_seed)
    created, _ = profiles.create("e2e", PASSPHRASE)
    with created:
        _connect(created, server)
    server.faults(delay_ms=1000, count=100)  # a slow provider: time to see it and cancel
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(profiles, settings=settings)  # a real worker thread
    qtbot.addWidget(window)
    window.show()
    reported: list[tuple[str, str]] = []
    window.runner.reported.connect(lambda kind, text: reported.append((kind, text)))

    window.open_session(profiles.unlock("e2e", passphrase=PASSPHRASE))
    qtbot.waitUntil(lambda: window.runner.busy, timeout=10_000)
    qtbot.waitUntil(
        lambda: any(
            isinstance(w, QProgressDialog) and w.isVisible() and "automatic" in w.windowTitle()
            for w in QApplication.topLevelWidgets() + window.findChildren(QProgressDialog)
        ),
        timeout=10_000,
    )
    window.runner.cancel_all()
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=60_000)
    assert window.auto_sync is not None and not window.auto_sync.running
    assert reported == []  # cancelled by the patient: no error box, no "sync failed" notice
    assert window.notice_tray.told == []
    server.clear_faults()
    window.lock()
