"""The app's last-resort handler: an error escaping a Qt slot, a thread or start-up reaches the
user as a message, never a traceback; a bug leaves a crash report with no health data."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QWidget

from phr_desktop import app
from phr_desktop.services.errors import ServiceError
from phr_desktop.ui.workers import TaskRunner

SECRET = "Jane Doe, AAT 22 mg/dL"


def message_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]


@pytest.fixture(autouse=True)
def crash_dir(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    folder = tmp_path / "crash"
    monkeypatch.setenv("PHR_CRASH_DIR", str(folder))
    # the handler replaces both hooks; monkeypatch puts the test runner's back afterwards
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    yield folder
    for box in message_boxes():
        box.close()


@pytest.fixture
def handler(qtbot) -> app.CrashHandler:  # type: ignore[no-untyped-def]
    parent = QWidget()
    qtbot.addWidget(parent)
    crash_handler = app.CrashHandler()
    crash_handler.install()
    crash_handler.runner = TaskRunner(parent, synchronous=True)
    return crash_handler


@pytest.mark.qt_no_exception_capture
def test_a_bug_in_a_qt_slot_shows_a_message_and_writes_a_report(
    handler: app.CrashHandler, crash_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    button = QPushButton()

    def broken_slot() -> None:
        raise ValueError(f"cannot draw {SECRET}")

    button.clicked.connect(broken_slot)
    button.click()  # PySide hands the exception to sys.excepthook
    (box,) = message_boxes()
    (report,) = crash_dir.iterdir()
    assert box.icon() == QMessageBox.Icon.Critical
    assert "internal error (ValueError)" in box.text() and str(report) in box.text()
    assert "in broken_slot" in report.read_text()
    _out, err = capsys.readouterr()
    for shown in (box.text(), box.detailedText(), report.read_text(), err):
        assert SECRET not in shown and "Traceback" not in shown


@pytest.mark.qt_no_exception_capture
def test_a_users_error_in_a_slot_is_shown_as_it_is_without_a_report(
    handler: app.CrashHandler, crash_dir: Path
) -> None:
    button = QPushButton()

    def refuse() -> None:
        raise ServiceError("That folder does not exist; choose another.")

    button.clicked.connect(refuse)
    button.click()
    (box,) = message_boxes()
    assert box.text() == "That folder does not exist; choose another."
    assert box.icon() == QMessageBox.Icon.Warning and not crash_dir.exists()


def test_a_bug_in_a_thread_is_reported_on_stderr_without_data(
    handler: app.CrashHandler, crash_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken_worker() -> None:
        raise RuntimeError(SECRET)

    thread = threading.Thread(target=broken_worker)
    thread.start()
    thread.join()
    _out, err = capsys.readouterr()
    (report,) = crash_dir.iterdir()
    assert "internal error (RuntimeError)" in err and str(report) in err
    assert SECRET not in err + report.read_text() and "Traceback" not in err


@pytest.mark.parametrize(
    ("failure", "code", "says"),
    [
        (PermissionError(13, "Permission denied", "/data/phr"), 1, "read-only (/data/phr)"),
        (ServiceError("There is no such profile."), 1, "There is no such profile."),
        (KeyError(SECRET), 70, "internal error (KeyError)"),
    ],
)
def test_a_failure_at_start_up_ends_with_a_message_and_an_exit_code(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    failure: Exception,
    code: int,
    says: str,
) -> None:
    def fail(_args: argparse.Namespace, _handler: app.CrashHandler) -> int:
        raise failure

    monkeypatch.setattr(app, "run_app", fail)
    assert app.main([]) == code
    _out, err = capsys.readouterr()
    assert err.startswith("phr-desktop: ") and says in err
    assert SECRET not in err and "Traceback" not in err
