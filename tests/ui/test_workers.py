"""The task runner: progress and cancel reach the GUI thread; errors are shown, split in two."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QWidget

from phr_desktop.services.errors import ServiceError
from phr_desktop.services.tasks import CancelToken, Progress, ProgressCallback
from phr_desktop.ui.workers import TaskRunner


def message_boxes() -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]


@pytest.fixture(autouse=True)
def close_message_boxes(qapp: QApplication) -> Iterator[None]:
    yield
    for box in message_boxes():
        box.close()


@pytest.fixture
def parent(qtbot) -> QWidget:  # type: ignore[no-untyped-def]
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


def counting_task(progress: ProgressCallback, cancel: CancelToken) -> int:
    for done in range(4):
        cancel.raise_if_cancelled()
        progress(Progress(done, 3, f"step {done}"))
    return 42


def test_synchronous_mode_delivers_progress_and_result_before_run_returns(
    parent: QWidget,
) -> None:
    runner = TaskRunner(parent, synchronous=True)
    busy: list[bool] = []
    seen: list[tuple[int, int, str]] = []
    results: list[object] = []
    runner.busy_changed.connect(busy.append)
    handle = runner.run(
        counting_task,
        title="Counting",
        on_success=results.append,
        on_progress=lambda *args: seen.append(args),
    )
    assert results == [42]
    assert seen[0] == (0, 3, "step 0") and seen[-1] == (3, 3, "step 3")
    assert handle.done and handle.result == 42 and handle.error is None
    assert busy == [True, False]
    assert not runner.busy


def test_progress_is_throttled_but_the_last_step_always_arrives(parent: QWidget) -> None:
    runner = TaskRunner(parent, synchronous=True)
    seen: list[tuple[int, int, str]] = []

    def task(progress: ProgressCallback, cancel: CancelToken) -> None:
        for done in range(20_001):
            progress(Progress(done, 20_000, f"{done}"))

    runner.run(task, title="Fast", on_progress=lambda *args: seen.append(args))
    assert seen[-1] == (20_000, 20_000, "20000")
    assert len(seen) < 2_000  # 20,001 reports, far fewer signals


def test_unknown_totals_are_passed_as_minus_one(parent: QWidget) -> None:
    runner = TaskRunner(parent, synchronous=True)
    seen: list[tuple[int, int, str]] = []

    def task(progress: ProgressCallback, cancel: CancelToken) -> None:
        progress(Progress(0, None, "Waiting for the browser"))

    runner.run(task, title="Connecting", on_progress=lambda *args: seen.append(args))
    assert seen == [(0, -1, "Waiting for the browser")]


def test_a_user_error_is_shown_as_its_message(parent: QWidget) -> None:
    runner = TaskRunner(parent, synchronous=True)
    reported: list[tuple[str, str]] = []
    runner.reported.connect(lambda kind, text: reported.append((kind, text)))

    def task(progress: ProgressCallback, cancel: CancelToken) -> None:
        raise ServiceError("That file is not FHIR; choose a .json export.")

    handle = runner.run(task, title="Importing")
    assert isinstance(handle.error, ServiceError)
    assert reported == [("error", "That file is not FHIR; choose a .json export.")]
    (box,) = message_boxes()
    assert box.text() == "That file is not FHIR; choose a .json export."
    assert box.icon() == QMessageBox.Icon.Warning
    assert not box.detailedText()


def test_any_other_exception_is_shown_as_a_bug_with_a_crash_report_and_no_data(
    parent: QWidget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHR_CRASH_DIR", str(tmp_path))
    runner = TaskRunner(parent, synchronous=True)
    reported: list[tuple[str, str]] = []
    runner.reported.connect(lambda kind, text: reported.append((kind, text)))

    def broken_task(progress: ProgressCallback, cancel: CancelToken) -> None:
        raise KeyError("Jane Doe's AAT 42 mg/dL")

    runner.run(broken_task, title="Importing")
    assert reported == [("bug", "KeyError")]
    (box,) = message_boxes()
    (report,) = tmp_path.iterdir()
    assert "internal error (KeyError)" in box.text() and str(report) in box.text()
    assert box.icon() == QMessageBox.Icon.Critical
    assert "in broken_task" in box.detailedText() and "in broken_task" in report.read_text()
    for shown in (box.text(), box.detailedText(), report.read_text()):
        assert "Jane Doe" not in shown and "Traceback" not in shown


def test_an_io_error_is_shown_in_words_not_as_a_bug(
    parent: QWidget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHR_CRASH_DIR", str(tmp_path / "crash"))
    runner = TaskRunner(parent, synchronous=True)

    def read_only(progress: ProgressCallback, cancel: CancelToken) -> None:
        raise PermissionError(30, "Read-only file system", "/media/usb/phr")

    runner.run(read_only, title="Creating the profile")
    (box,) = message_boxes()
    assert box.icon() == QMessageBox.Icon.Warning
    assert "read-only (/media/usb/phr)" in box.text() and not box.detailedText()
    assert not (tmp_path / "crash").exists()


def test_an_error_handler_may_take_over_showing_the_error(parent: QWidget) -> None:
    runner = TaskRunner(parent, synchronous=True)
    handled: list[BaseException] = []

    def task(progress: ProgressCallback, cancel: CancelToken) -> None:
        raise ServiceError("shown inline")

    runner.run(task, title="Unlocking", on_error=lambda exc: handled.append(exc) or True)
    assert [str(e) for e in handled] == ["shown inline"]
    assert message_boxes() == []


def test_cancelling_from_a_progress_slot_stops_the_task_and_says_so(parent: QWidget) -> None:
    runner = TaskRunner(parent, synchronous=True)
    reported: list[str] = []
    runner.reported.connect(lambda kind, text: reported.append(kind))
    results: list[object] = []
    handle = runner.run(
        counting_task,
        title="Counting",
        on_success=results.append,
        on_progress=lambda *args: runner.cancel_all(),
    )
    assert handle.cancelled
    assert results == []
    assert reported == ["cancelled"]
    (box,) = message_boxes()
    assert box.icon() == QMessageBox.Icon.Information
    assert "nothing is half-done" in box.text()


def test_threaded_mode_runs_off_the_gui_thread_and_reports_on_it(qtbot, parent: QWidget) -> None:  # type: ignore[no-untyped-def]
    runner = TaskRunner(parent)
    gui_thread = threading.get_ident()
    task_threads: list[int] = []
    progress_threads: list[int] = []

    def task(progress: ProgressCallback, cancel: CancelToken) -> str:
        task_threads.append(threading.get_ident())
        progress(Progress(1, 1, "done"))
        return "ok"

    results: list[object] = []
    handle = runner.run(task, title="Working", on_success=results.append, show_progress=False)
    handle.progressed.connect(lambda *args: progress_threads.append(threading.get_ident()))
    qtbot.waitUntil(lambda: handle.done, timeout=5000)
    assert results == ["ok"]
    assert task_threads and task_threads[0] != gui_thread
    assert all(t == gui_thread for t in progress_threads)


def test_the_progress_dialog_cancel_button_cancels_a_waiting_task(qtbot, parent: QWidget) -> None:  # type: ignore[no-untyped-def]
    runner = TaskRunner(parent)
    started = threading.Event()
    reported: list[str] = []
    runner.reported.connect(lambda kind, text: reported.append(kind))

    def task(progress: ProgressCallback, cancel: CancelToken) -> None:
        started.set()
        cancel.event.wait(10)
        cancel.raise_if_cancelled()

    handle = runner.run(task, title="Waiting for the provider")
    started.wait(5)
    _job, dialog = runner._running[handle]
    assert dialog is not None
    dialog.findChild(QPushButton).click()
    qtbot.waitUntil(lambda: handle.done, timeout=5000)
    assert reported == ["cancelled"]
    assert not runner.busy


def test_cancel_all_and_wait_end_every_task(qtbot, parent: QWidget) -> None:  # type: ignore[no-untyped-def]
    runner = TaskRunner(parent)
    started = threading.Barrier(3)

    def task(progress: ProgressCallback, cancel: CancelToken) -> None:
        started.wait(5)
        cancel.event.wait(10)
        cancel.raise_if_cancelled()

    handles = [
        runner.run(task, title="Task", show_progress=False, on_error=lambda exc: True)
        for _ in range(2)
    ]
    started.wait(5)
    runner.cancel_all()
    assert runner.wait(5000)
    qtbot.waitUntil(lambda: all(h.done for h in handles), timeout=5000)
    assert all(h.cancelled for h in handles)
