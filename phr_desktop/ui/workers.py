"""Run service tasks off the GUI thread: progress and cancel marshalled to Qt with signals.

A task is `fn(progress, cancel) -> result`, the shape every long service call has. The runner
gives it a `services.tasks.CancelToken` and a progress callback that emits a queued signal, so
the window never freezes. Tests use `synchronous=True` (Picard's fake pool idea): the task runs
inline and every signal is delivered before `run()` returns, with no waiting and no sleeps.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from phr_desktop.services.crash_reports import (
    bug_message,
    crash_report_text,
    os_error_message,
    report_crash,
)
from phr_desktop.services.errors import USER_ERRORS, Cancelled
from phr_desktop.services.tasks import CancelToken, Progress, ProgressCallback
from phr_desktop.ui import style

log = logging.getLogger(__name__)

Task = Callable[[ProgressCallback, CancelToken], Any]

_PROGRESS_INTERVAL = 0.05  # seconds between progress signals; the last one always goes through


class TaskHandle(QObject):
    """One running task, living in the GUI thread; its signals arrive there."""

    progressed = Signal(int, int, str)  # done, total (-1: unknown), message
    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    finished = Signal()

    def __init__(self, title: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.cancel_token = CancelToken()
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None
        self._last_emit = 0.0
        self.succeeded.connect(self._store_result)
        self.failed.connect(self._store_error)
        self.finished.connect(self._mark_done)

    def cancel(self) -> None:
        self.cancel_token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.cancel_token.cancelled

    def report(self, progress: Progress) -> None:
        """The progress callback handed to the task; runs in the worker thread."""
        now = time.monotonic()
        final = progress.total is not None and progress.done >= progress.total
        if not final and now - self._last_emit < _PROGRESS_INTERVAL:
            return
        self._last_emit = now
        total = -1 if progress.total is None else progress.total
        self.progressed.emit(progress.done, total, progress.message)

    def _store_result(self, result: object) -> None:
        self.result = result

    def _store_error(self, error: object) -> None:
        self.error = error if isinstance(error, BaseException) else None

    def _mark_done(self) -> None:
        self.done = True


class _Job(QRunnable):
    def __init__(self, fn: Task, handle: TaskHandle) -> None:
        super().__init__()
        self.fn = fn
        self.handle = handle
        self.setAutoDelete(False)  # the runner holds it until `finished`

    def run(self) -> None:
        handle = self.handle
        try:
            result = self.fn(handle.report, handle.cancel_token)
        except BaseException as exc:  # every failure is shown (its traceback travels with it)
            handle.failed.emit(exc)
        else:
            handle.succeeded.emit(result)
        finally:
            handle.finished.emit()


class _TaskProgressDialog(QProgressDialog):
    """A task's progress; Cancel asks the task to stop after its current step.

    Cancel and progress reach bound methods, not closures over the dialog: the runner deletes
    the dialog when the task ends, and PySide can crash deleting a dialog whose own signal
    holds a closure over it.
    """

    def __init__(self, handle: TaskHandle, cancellable: bool, parent: QWidget | None) -> None:
        super().__init__(f"{handle.title}…", "Cancel" if cancellable else "", 0, 0, parent)
        self.handle = handle
        self.setWindowTitle(handle.title)
        self.setAccessibleName(f"{handle.title}: progress")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(300)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 60)
        if not cancellable:
            self.setCancelButton(None)
        self.canceled.connect(self._cancel_task)
        handle.progressed.connect(self.show_progress)

    def _cancel_task(self) -> None:
        self.handle.cancel()
        self.setLabelText("Cancelling… finishing the current step first.")

    def show_progress(self, done: int, total: int, message: str) -> None:
        if self.handle.cancelled:
            return
        if total < 0:
            self.setRange(0, 0)
        else:
            self.setRange(0, max(total, 1))
            self.setValue(min(done, max(total, 1)))
        self.setLabelText(message)


class TaskRunner(QObject):
    """Starts tasks on a thread pool (or inline when synchronous) and shows their progress."""

    busy_changed = Signal(bool)
    # kind is "error" (a message the user can act on), "cancelled" or "bug"; for tests and logs
    reported = Signal(str, str)

    def __init__(
        self,
        parent_widget: QWidget | None = None,
        *,
        synchronous: bool = False,
        pool: QThreadPool | None = None,
    ) -> None:
        super().__init__(parent_widget)
        self.parent_widget = parent_widget
        self.synchronous = synchronous
        self.pool = pool or QThreadPool(self)
        self._running: dict[TaskHandle, tuple[_Job, QProgressDialog | None]] = {}

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def run(
        self,
        fn: Task,
        *,
        title: str,
        on_success: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], bool] | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
        show_progress: bool = True,
        cancellable: bool = True,
    ) -> TaskHandle:
        """Start `fn`; `on_error` may return True to say it showed the error itself."""
        handle = TaskHandle(title)  # owned by Python: callers may keep it after it ends
        dialog = self._progress_dialog(handle, cancellable) if show_progress else None
        job = _Job(fn, handle)
        was_busy = self.busy
        self._running[handle] = (job, dialog)
        if not was_busy:
            self.busy_changed.emit(True)
        if on_progress is not None:
            handle.progressed.connect(on_progress)
        if on_success is not None:
            handle.succeeded.connect(on_success)
        handle.failed.connect(lambda exc: self._failed(handle, exc, on_error))
        handle.finished.connect(lambda: self._finished(handle))
        if self.synchronous:
            job.run()
        else:
            self.pool.start(job)
        return handle

    def cancel_all(self) -> None:
        for handle in list(self._running):
            handle.cancel()

    def wait(self, msecs: int = -1) -> bool:
        """Block until every task has ended (used when locking); True if they all did."""
        return bool(self.pool.waitForDone(msecs))

    # --- presentation -------------------------------------------------------------------------

    def _progress_dialog(self, handle: TaskHandle, cancellable: bool) -> QProgressDialog | None:
        if self.synchronous:
            return None
        return _TaskProgressDialog(handle, cancellable, self.parent_widget)

    def _failed(
        self,
        handle: TaskHandle,
        exc: BaseException,
        on_error: Callable[[BaseException], bool] | None,
    ) -> None:
        if on_error is not None and on_error(exc):
            return
        self.present_error(handle.title, exc)

    def present_error(self, title: str, exc: BaseException) -> None:
        parent = self.parent_widget
        if isinstance(exc, Cancelled):
            self.reported.emit("cancelled", str(exc))
            style.show_message(parent, QMessageBox.Icon.Information, title, str(exc))
        elif isinstance(exc, USER_ERRORS):
            self.reported.emit("error", str(exc))
            style.show_message(parent, QMessageBox.Icon.Warning, title, str(exc))
        elif isinstance(exc, OSError):  # a read-only folder, a full disk: not a bug
            self.reported.emit("error", os_error_message(exc))
            style.show_message(parent, QMessageBox.Icon.Warning, title, os_error_message(exc))
        else:
            # A bug: the message and the crash report name the error's type and where it
            # happened, never its text or values, which may hold the record's data.
            report = report_crash(exc, where="phr-desktop")
            log.error(
                "%s failed with a bug (%s); crash report: %s", title, type(exc).__name__, report
            )
            self.reported.emit("bug", type(exc).__name__)
            style.show_message(
                parent, QMessageBox.Icon.Critical, title, bug_message(exc, report),
                crash_report_text(exc, where="phr-desktop"),
            )  # fmt: skip

    def _finished(self, handle: TaskHandle) -> None:
        _job, dialog = self._running.pop(handle, (None, None))
        if dialog is not None:
            dialog.close()
            dialog.deleteLater()
        if not self.busy:
            self.busy_changed.emit(False)
