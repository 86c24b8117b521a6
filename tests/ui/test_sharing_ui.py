"""Sharing in the app: the Share dialog seals a file the shown key opens, refuses what it
must, the history revokes only what can be revoked, and the activity log shows and verifies
what happened (and names the entry someone edited)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, QSettings
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from phr_desktop.services.demo import open_demo
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.services.share_history import list_shares
from phr_desktop.services.share_opening import open_share
from phr_desktop.services.sharing import ShareError, ShareSelection, count_selection, create_share
from phr_desktop.ui import style
from phr_desktop.ui.audit_view import ActivityLogDialog
from phr_desktop.ui.main_window.window import MainWindow
from phr_desktop.ui.sharing import dialog as share_dialog
from phr_desktop.ui.sharing import key_panel as share_key_panel
from phr_desktop.ui.sharing.dialog import ShareDialog
from phr_desktop.ui.sharing.history import (
    HELD_BACK,
    NO_REVOKE_GIVEN,
    REVOKED,
    KeyDialog,
    ShareHistoryDialog,
)
from phr_desktop.ui.workers import TaskRunner


@pytest.fixture
def demo(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _created = open_demo(profiles)
    with session:
        yield session


@pytest.fixture
def runner() -> TaskRunner:
    return TaskRunner(synchronous=True)


@pytest.fixture
def share_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "out" / "for-dr-rivera.phrshare"
    path.parent.mkdir()  # a save dialog only ever offers an existing folder
    monkeypatch.setattr(share_dialog, "choose_share_path", lambda _parent, _suggested: path)
    return path


@pytest.fixture(autouse=True)
def _close_message_boxes() -> Iterator[None]:
    yield
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox):
            widget.close()


def share_dialog_for(qtbot, session: Session, runner: TaskRunner) -> ShareDialog:  # type: ignore[no-untyped-def]
    dialog = ShareDialog(session, runner)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_a_share_made_in_the_dialog_opens_with_the_key_it_shows(
    qtbot, demo: Session, runner: TaskRunner, share_path: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    dialog = share_dialog_for(qtbot, demo, runner)
    assert dialog.choice.preset.isChecked() and dialog.expiry.currentText() == "30 days"
    assert dialog.choice.matching > 0 and "match" in dialog.choice.count_label.text()
    dialog.label.setText("Dr Rivera, pulmonology")
    dialog.create_button.click()

    assert share_path.exists() and dialog.pages.currentIndex() == 1
    panel = dialog.key_panel
    shown_key = panel.key_label.text()
    # 10 groups of 5, in two lines, read and typed as they are shown
    assert [len(line.split("-")) for line in shown_key.splitlines()] == [5, 5]
    view = open_share(share_path, shown_key)
    assert view.signer_confirmed
    assert view.recipient == "Dr Rivera, pulmonology"
    assert view.record_count == dialog.choice.matching
    assert not panel.qr_label.pixmap().isNull()
    assert panel.fingerprint.text().replace(" ", "") == view.signer_fingerprint
    assert panel.passcode_note.isHidden()

    handout = tmp_path / "handout.pdf"
    monkeypatch.setattr(share_key_panel, "choose_handout_path", lambda _p, _s: handout)
    panel.handout_button.click()
    assert handout.read_bytes().startswith(b"%PDF") and str(handout) in panel.status.text()

    panel.copy_button.click()
    assert QGuiApplication.clipboard().text() == shown_key.replace("\n", "-")
    dialog.close_button.click()
    assert panel.key_label.text() == "" and panel.qr_label.pixmap().isNull()
    assert QGuiApplication.clipboard().text() == ""
    assert dialog.created is None and dialog.session is None


def test_a_filtered_share_with_a_passcode_needs_the_passcode(
    qtbot, demo: Session, runner: TaskRunner, share_path: Path
) -> None:  # type: ignore[no-untyped-def]
    dialog = share_dialog_for(qtbot, demo, runner)
    choice = dialog.choice
    choice.by_filter.setChecked(True)
    choice.kind_boxes["lab_result"].setChecked(True)
    choice.since_calendar.calendar.setSelectedDate(QDate(2019, 7, 4))
    choice.since_calendar.precision_buttons["yyyy"].click()  # picked, not typed
    assert choice.since.text() == "2019"
    choice.recount()
    expected = count_selection(demo, ShareSelection(kinds=("lab_result",), since="2019"))
    assert choice.matching == expected > 0 and f"{expected:,}" in choice.count_label.text()
    dialog.label.setText("Dr Rivera")
    dialog.passcode.setText("tulip-42")
    dialog.passcode_again.setText("tulip-42")
    dialog.expiry.setCurrentIndex(0)  # 1 day
    dialog.create_button.click()

    key = dialog.key_panel.key
    assert dialog.key_panel.passcode_note.isVisible()
    assert dialog.passcode.text() == "" and dialog.passcode_again.text() == ""
    with pytest.raises(ShareError):
        open_share(share_path, key)
    view = open_share(share_path, key, passcode="tulip-42")
    assert view.record_count == expected
    assert (view.expires_at - view.issued_at).days == 1


def test_different_passcodes_are_refused_with_a_message_and_nothing_is_written(
    qtbot, demo: Session, runner: TaskRunner, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    def no_file_dialog(_parent, _suggested):  # type: ignore[no-untyped-def]
        raise AssertionError("asked for a file although the form was wrong")

    monkeypatch.setattr(share_dialog, "choose_share_path", no_file_dialog)
    dialog = share_dialog_for(qtbot, demo, runner)
    dialog.label.setText("Dr Rivera")
    dialog.passcode.setText("tulip-42")
    dialog.passcode_again.setText("tulip-43")
    dialog.create_button.click()
    assert "passcodes differ" in dialog.error.text() and dialog.error.isVisible()
    assert dialog.pages.currentIndex() == 0 and list_shares(demo) == []

    dialog.passcode_again.setText("tulip-42")
    dialog.label.clear()
    dialog.create_button.click()
    assert "who the share is for" in dialog.error.text()


def test_a_choice_matching_nothing_cannot_be_shared(
    qtbot, demo: Session, runner: TaskRunner
) -> None:  # type: ignore[no-untyped-def]
    dialog = share_dialog_for(qtbot, demo, runner)
    dialog.choice.by_filter.setChecked(True)
    dialog.choice.since.setText("2999")
    dialog.choice.recount()
    assert dialog.choice.matching == 0 and not dialog.create_button.isEnabled()
    dialog.choice.since.setText("20x9")
    dialog.choice.recount()
    assert "is not a date" in dialog.choice.count_label.text()


def test_a_held_back_key_is_not_shown_and_can_be_revoked_or_shown_from_the_history(
    qtbot, demo: Session, runner: TaskRunner, share_path: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    dialog = share_dialog_for(qtbot, demo, runner)
    dialog.label.setText("Dr Held")
    dialog.hold_back.setChecked(True)
    dialog.create_button.click()
    assert dialog.key_panel.isHidden() and dialog.held_back_note.isVisible()
    assert "revoke" in dialog.held_back_note.text()
    dialog.close_button.click()
    selection = ShareSelection(kinds=("problem",))
    create_share(demo, tmp_path / "given.phrshare", selection, "Dr Given")
    create_share(demo, tmp_path / "other.phrshare", selection, "Dr Other", hand_out_key=False)

    history = ShareHistoryDialog(demo, runner)
    qtbot.addWidget(history)
    history.show()
    rows = {history.table.item(r, 0).text(): r for r in range(history.table.rowCount())}
    assert set(rows) == {"Dr Held", "Dr Given", "Dr Other"}

    history.table.selectRow(rows["Dr Given"])
    assert not history.revoke_button.isEnabled() and not history.show_key_button.isEnabled()
    assert history.revoke_button.toolTip() == NO_REVOKE_GIVEN
    assert history.reason.text() == NO_REVOKE_GIVEN

    answers = iter([(True, False), (True, False)])
    monkeypatch.setattr(style, "ask", lambda *_a, **_k: next(answers))
    history.table.selectRow(rows["Dr Other"])
    assert history.table.item(rows["Dr Other"], 5).text() == HELD_BACK
    assert history.revoke_button.isEnabled()
    history.revoke_button.click()
    assert history.table.item(history.table.currentRow(), 5).text() == REVOKED
    assert not history.revoke_button.isEnabled() and not history.show_key_button.isEnabled()
    with pytest.raises(ShareError):
        open_share(tmp_path / "other.phrshare", "A" * 43)

    rows = {history.table.item(r, 0).text(): r for r in range(history.table.rowCount())}
    history.table.selectRow(rows["Dr Held"])
    assert history.show_key_button.isEnabled()
    history.show_key_button.click()
    key_dialog = history.key_dialog
    assert isinstance(key_dialog, KeyDialog)
    shown = key_dialog.panel.key_label.text()
    assert open_share(share_path, shown).recipient == "Dr Held"
    assert not history.revoke_button.isEnabled()  # shown once: it can no longer be revoked
    history.close()
    assert key_dialog.panel.key == ""


def test_the_activity_log_lists_the_share_and_names_a_tampered_entry(
    qtbot, demo: Session, runner: TaskRunner, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    create_share(demo, tmp_path / "s.phrshare", ShareSelection(kinds=("problem",)), "Dr Rivera")
    log = ActivityLogDialog(demo, runner)
    qtbot.addWidget(log)
    log.show()
    events = [log.table.item(r, 2).text() for r in range(log.table.rowCount())]
    assert events[0] == "Shared with a clinician" and "Profile created" in events
    assert "for Dr Rivera" in log.table.item(0, 3).text()

    log.verify_button.click()
    assert log.report is not None and log.report.ok and "intact" in log.verdict.text()

    share_id = int(log.table.item(0, 0).text())
    demo.vault.conn.execute(
        "UPDATE audit_log SET detail = '{\"records\":1}' WHERE id = ?", (share_id,)
    )
    log.verify_button.click()
    assert log.report is not None and not log.report.ok
    assert f"entry #{share_id} was changed" in log.verdict.text()
    assert log.table.currentRow() == log.row_of(share_id) == 0


@pytest.fixture
def window(qtbot, profiles: Profiles, demo: Session, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(profiles, settings=settings, runner=TaskRunner(synchronous=True))
    qtbot.addWidget(win)
    win.show()
    win.open_session(demo)
    yield win


def test_locking_closes_the_share_dialog_and_forgets_the_key(
    window: MainWindow, share_path: Path
) -> None:
    assert window.dashboard is not None and window.dashboard.share_button.isEnabled()
    window.dashboard.share_button.click()
    dialog = window.open_dialog
    assert isinstance(dialog, ShareDialog) and dialog.isVisible()
    dialog.label.setText("Dr Rivera")
    dialog.create_button.click()
    panel = dialog.key_panel
    assert panel.key
    window.lock_action.trigger()
    assert window.session is None and window.open_dialog is None
    assert panel.key == "" and panel.key_label.text() == "" and dialog.session is None
    assert not window.sharing_menu.share_action.isEnabled()


def test_the_menus_open_the_history_and_the_activity_log(window: MainWindow) -> None:
    window.sharing_menu.history_action.trigger()
    assert isinstance(window.open_dialog, ShareHistoryDialog)
    window.open_dialog.close()
    assert window.open_dialog is None
    window.sharing_menu.activity_action.trigger()
    assert isinstance(window.open_dialog, ActivityLogDialog)
    window.lock()
    assert window.open_dialog is None


def test_no_two_actions_share_a_shortcut(window: MainWindow) -> None:
    keys = [
        key.toString()
        for action in window.findChildren(QAction)
        for key in action.shortcuts()
        if not key.isEmpty()
    ]
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    assert window.sharing_menu.share_action.shortcut().toString() == "Ctrl+Shift+S"


def test_the_records_shown_in_the_timeline_can_be_shared(
    window: MainWindow, demo: Session, share_path: Path
) -> None:
    window.sharing_menu.share_action.trigger()
    unfiltered = window.open_dialog
    assert isinstance(unfiltered, ShareDialog) and unfiltered.choice.shown.isHidden()
    unfiltered.reject()

    window.show_kind("allergy")
    window.sharing_menu.share_action.trigger()
    dialog = window.open_dialog
    assert isinstance(dialog, ShareDialog) and not dialog.choice.shown.isHidden()
    allergies = demo.record_ids(RecordFilter(kinds=("allergy",)))
    dialog.choice.shown.setChecked(True)
    assert dialog.choice.matching == len(allergies) > 0
    dialog.label.setText("Allergist")
    dialog.create_button.click()
    view = open_share(share_path, dialog.key_panel.key)
    assert {r.kind.value for r in view.records} <= {"allergy", "patient"}
    assert view.record_count == len(allergies)
