"""The whole app through its real main window: create → unlock → import → timeline → detail →
note → lock → unlock; plus menus, shortcuts, auto-lock and the command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QApplication

from phr_desktop import __version__, app
from phr_desktop.services.demo import DEMO_PROFILE
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import RecordFilter
from phr_desktop.ui.auto_lock import DEFAULT_MINUTES, AutoLock, AutoLockDialog, stored_minutes
from phr_desktop.ui.main_window import import_flow
from phr_desktop.ui.main_window.window import MainWindow
from phr_desktop.ui.timeline.model import RecordIdRole
from tests.ui.windows import close_left_open, shown_main_window

PASSPHRASE = "correct horse battery staple"
DEMO_RESOURCES = 436  # resources/demo: 369 + 67 entries, one record each
# Both practices hold the patient, the AATD diagnosis and the penicillin allergy: each fact is
# shown once (issue 13).
DEMO_SHOWN = DEMO_RESOURCES - 3
FEV1_RESULTS = 18  # resources/demo/README.md, "FEV1 series"


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, profiles: Profiles, fast_kdf: None, settings: QSettings) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    yield shown_main_window(qtbot, profiles, settings)
    close_left_open()


def create_profile(window: MainWindow, name: str = "alex") -> None:
    screen = window.profile_screen
    screen.new_name.setText(name)
    screen.new_passphrase.setText(PASSPHRASE)
    screen.confirm_passphrase.setText(PASSPHRASE)
    screen.create_button.click()
    screen.kept_key.setChecked(True)
    screen.continue_button.click()


def first_record_index(window: MainWindow):  # type: ignore[no-untyped-def]
    model = window.timeline.model  # type: ignore[union-attr]
    year = model.index(0, 0)
    month = model.index(0, 0, year)
    return model.index(0, 0, month)


def test_create_import_browse_note_lock_and_unlock_again(
    window: MainWindow, demo_files: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # create → unlocked straight into the dashboard
    assert window.stack.currentWidget() is window.profile_screen
    assert not window.lock_action.isEnabled() and not window.import_action.isEnabled()
    create_profile(window)
    assert window.session is not None and window.session.profile_name == "alex"
    assert window.stack.currentWidget() is window.tabs
    assert window.windowTitle().startswith("alex")
    assert window.timeline is not None and window.timeline.model.record_count() == 0

    # import the demo through File → Import (the file dialog answered by the test)
    monkeypatch.setattr(import_flow, "choose_import_paths", lambda _parent, folder: demo_files)
    window.import_action.trigger()
    timeline = window.timeline
    assert timeline.model.record_count() == DEMO_SHOWN
    assert "436 new" in window.statusBar().currentMessage()
    assert window.dashboard is not None and window.dashboard.counts.count() > 5

    # filter: test results mentioning FEV1
    window.show_tab(1)
    counts = window.session.counts_by_kind()
    timeline.apply_filter(RecordFilter(kinds=("lab_result",)))
    assert timeline.model.record_count() == counts["lab_result"]
    timeline.apply_filter(RecordFilter(kinds=("lab_result",), text="FEV1"))
    fev1_rows = timeline.model.record_count()
    assert FEV1_RESULTS <= fev1_rows < counts["lab_result"]

    # open the newest one: the detail shows it with the whole series on the chart
    index = first_record_index(window)
    record_id = index.data(RecordIdRole)
    timeline.tree.setCurrentIndex(index)
    assert window.current_record_id == record_id
    detail = window.detail
    assert detail is not None and detail.record_id() == record_id
    assert detail.chart.point_count() == FEV1_RESULTS

    # add a note of my own to it
    detail.note_edit.setPlainText("Felt breathless on the stairs that week.")
    detail.add_note_button.click()
    assert any("breathless" in str(n) for n in window.session.notes(record_id))

    # the AATD overview is built when first shown
    assert window.aatd is None
    window.show_tab(2)
    aatd = window.aatd
    assert aatd is not None and aatd.isVisible()

    # lock (Ctrl+L): every view is cleared and the vault closed
    dashboard = window.dashboard
    assert window.lock_action.shortcut() == QKeySequence("Ctrl+L")
    window.lock_action.trigger()
    assert timeline.model.record_count() == 0
    assert detail.record_id() is None and detail.chart.point_count() == 0
    assert dashboard.counts.count() == 0 and dashboard.latest.count() == 0
    assert aatd is not None
    assert window.session is None and window.timeline is None
    assert window.stack.currentWidget() is window.profile_screen
    assert window.profile_screen.selected_profile() == "alex"
    assert not window.import_action.isEnabled()

    # unlock again: everything is back, including the note
    window.profile_screen.passphrase.setText(PASSPHRASE)
    window.profile_screen.unlock_button.click()
    assert window.session is not None
    assert window.timeline.model.record_count() == DEMO_SHOWN
    assert any("breathless" in str(n) for n in window.session.notes(record_id))


def test_a_new_entry_dialog_saves_and_shows_the_record(window: MainWindow) -> None:
    create_profile(window)
    window.new_entry_actions["NoteDialog"].trigger()
    dialog = window.open_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.text.setPlainText("Started pulmonary rehab.")  # type: ignore[attr-defined]
    dialog.accept()  # type: ignore[attr-defined]
    assert window.timeline is not None and window.timeline.model.record_count() == 1
    assert window.current_record_id == dialog.saved_ids[0]  # type: ignore[attr-defined]
    assert window.tabs is not None and window.tabs.currentIndex() == 1


def test_locking_closes_an_open_dialog(window: MainWindow) -> None:
    create_profile(window)
    window.new_entry_actions["LabResultDialog"].trigger()
    dialog = window.open_dialog
    window.lock()
    assert window.open_dialog is None and dialog is not None and not dialog.isVisible()


def test_locking_after_a_cancelled_dialog_still_locks(window: MainWindow) -> None:
    create_profile(window)
    window.new_entry_actions["NoteDialog"].trigger()
    assert window.open_dialog is not None
    window.open_dialog.reject()  # type: ignore[attr-defined]
    QApplication.processEvents()  # the cancelled dialog deletes itself
    assert window.open_dialog is None
    window.lock_action.trigger()
    assert window.session is None and window.stack.currentWidget() is window.profile_screen


def test_menus_use_the_platform_shortcuts(window: MainWindow) -> None:
    std = QKeySequence.StandardKey
    assert window.import_action.shortcut() == QKeySequence(std.Open)
    assert window.find_action.shortcut() == QKeySequence(std.Find)
    assert window.quit_action.shortcuts()
    assert window.new_entry_actions["NoteDialog"].shortcut() == QKeySequence(std.New)
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&View", "&Sharing", "&Settings", "&Help"]
    new_entries = [a.text() for a in window.new_menu.actions()]
    assert new_entries[0] == "Test result…" and len(new_entries) == 7  # with AAT genotype…


def test_find_focuses_the_search_of_the_view_in_front(window: MainWindow) -> None:
    create_profile(window)
    window.find_action.trigger()
    assert window.dashboard is not None and window.focusWidget() is window.dashboard.search
    window.show_tab(1)
    window.find_action.trigger()
    assert window.timeline is not None and window.focusWidget() is window.timeline.search


def test_a_dashboard_record_opens_on_the_timeline(
    window: MainWindow, demo_files: list[Path]
) -> None:
    create_profile(window)
    window.import_paths(demo_files)
    assert window.dashboard is not None
    item = window.dashboard.latest.item(0)
    window.dashboard.latest.itemActivated.emit(item)
    assert window.tabs is not None and window.tabs.currentIndex() == 1
    assert window.current_record_id == item.data(Qt.ItemDataRole.UserRole)
    window.dashboard.categoryActivated.emit("medication")
    assert window.timeline is not None
    assert window.timeline.current_filter().kinds == ("medication",)


def test_a_cancelled_import_keeps_finished_files_and_says_so(
    window: MainWindow, demo_files: list[Path]
) -> None:
    create_profile(window)
    reported: list[str] = []
    window.runner.reported.connect(lambda kind, text: reported.append(kind))

    def cancel_after_first_file(done: int, total: int, message: str) -> None:
        if " records" in message:  # a file's batch was written: cancel before the next file
            window.runner.cancel_all()

    session = window.session
    assert session is not None
    window.runner.run(
        lambda p, c: session.import_paths(demo_files, progress=p, cancel=c),
        title="Importing",
        on_progress=cancel_after_first_file,
    )
    assert reported == ["cancelled"]
    # the first file (67 resources) was written before the cancel was seen; the second was not
    assert sum(session.counts_by_kind().values()) == 67


# --- auto-lock ------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_idle_time_locks_the_window(window: MainWindow, qtbot) -> None:  # type: ignore[no-untyped-def]
    create_profile(window)
    assert window.auto_lock.armed and window.auto_lock.minutes == DEFAULT_MINUTES
    clock = FakeClock()
    window.auto_lock.clock = clock
    window.auto_lock.arm()
    clock.now += DEFAULT_MINUTES * 60 - 1
    window.auto_lock._check()
    assert window.session is not None  # a second short
    clock.now += 1
    window.auto_lock._check()
    assert window.session is None
    assert "not used for a while" in window.statusBar().currentMessage()


def test_input_resets_the_idle_time(qtbot, settings: QSettings) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock()
    lock = AutoLock(settings, clock=clock)
    locked: list[str] = []
    lock.lock_requested.connect(locked.append)
    lock.arm()
    clock.now += 599
    QApplication.sendEvent(  # any object: the filter sits on the application
        lock, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_A, Qt.KeyboardModifier.NoModifier)
    )
    clock.now += 2
    lock._check()
    assert locked == []
    assert lock.timer.isActive() and lock.timer.remainingTime() > 590_000
    clock.now += 600
    lock._check()
    assert locked == ["idle"]


def test_the_timer_really_fires(qtbot, settings: QSettings) -> None:  # type: ignore[no-untyped-def]
    lock = AutoLock(settings)
    lock.arm()
    with qtbot.waitSignal(lock.lock_requested, timeout=2000) as blocker:
        lock.set_interval_ms(20)
    assert blocker.args == ["idle"]
    assert not lock.armed


def test_a_screen_lock_reported_by_the_desktop_locks(settings: QSettings) -> None:
    lock = AutoLock(settings)
    locked: list[str] = []
    lock.lock_requested.connect(locked.append)
    lock.on_screensaver_active(False)
    lock.arm()
    lock.on_screensaver_active(False)
    assert locked == []
    lock.on_screensaver_active(True)
    lock.on_session_lock()  # already locked: not twice
    assert locked == ["screen locked"]


def test_the_delay_is_a_setting_and_zero_means_never(qtbot, settings: QSettings) -> None:  # type: ignore[no-untyped-def]
    lock = AutoLock(settings)
    dialog = AutoLockDialog(lock)
    qtbot.addWidget(dialog)
    dialog.minutes.setValue(0)
    dialog.accept()
    assert stored_minutes(settings) == 0 and lock.minutes == 0
    lock.arm()
    assert not lock.timer.isActive()
    lock.set_minutes(5)
    assert AutoLock(settings).minutes == 5
    settings.setValue("security/auto_lock_minutes", "garbage")
    assert stored_minutes(settings) == DEFAULT_MINUTES


# --- the command line -----------------------------------------------------------------------


def test_demo_opens_the_demo_profile_unlocked(qtbot, window: MainWindow) -> None:  # type: ignore[no-untyped-def]
    app.open_demo_in(window)
    assert window.session is not None and window.session.profile_name == DEMO_PROFILE
    assert window.timeline is not None and window.timeline.model.record_count() == DEMO_SHOWN
    assert window.dashboard is not None
    qtbot.waitUntil(lambda: not window.dashboard.milestones_pending)  # after its first paint
    assert window.dashboard.milestones.count() > 3
    window.show_tab(2)
    assert window.aatd is not None


def test_version_and_help_are_accurate(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        app.build_parser().parse_args(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"phr-desktop {__version__}"
    help_text = app.build_parser().format_help()
    for option in ("--demo", "--data-dir", "--version", "--help"):
        assert option in help_text


def test_export_from_the_menu_writes_the_file_and_reports_it(
    window: MainWindow, demo_files: list[Path], tmp_path: Path
) -> None:
    create_profile(window)
    window.import_paths(demo_files)
    assert window.dashboard is not None and window.dashboard.export_button.isEnabled()
    target = tmp_path / "summary.pdf"
    window.export_menu.export_to("emergency", target)
    assert target.read_bytes().startswith(b"%PDF")
    assert "Exported to" in window.statusBar().currentMessage()
    texts = [a.text() for a in window.export_menu.actions()]
    assert len(texts) == 7 and any("C-CDA" in t for t in texts)
    assert any("wallet card" in t for t in texts)
    card = tmp_path / "card.pdf"
    window.export_menu.export_to("wallet", card)
    from pypdf import PdfReader

    assert "Emergency wallet card" in PdfReader(card).pages[0].extract_text()
