"""`phr-desktop`: the desktop entry point (profile screen, or the demo profile with --demo)."""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from phr_desktop import __version__
from phr_desktop.process_hardening import harden_process
from phr_desktop.services.crash_reports import (
    EXIT_BUG,
    bug_message,
    os_error_message,
    report_crash,
)
from phr_desktop.services.errors import USER_ERRORS

EXIT_ERROR = 1

if TYPE_CHECKING:
    from phr_desktop.services.session import Session
    from phr_desktop.ui.main_window.window import MainWindow
    from phr_desktop.ui.workers import TaskRunner


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phr-desktop",
        description="phr-desktop: your health record, encrypted on this computer. Opens the "
        "profile screen (choose, unlock or create a profile); given a .phrshare FILE, asks for "
        "its key and shows the shared records read-only.",
    )
    parser.add_argument(
        "share",
        nargs="?",
        metavar="FILE",
        help="a .phrshare file a patient gave you (no profile needed; nothing is saved)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="open the demo profile unlocked (a synthetic AATD patient, created on first use)",
    )
    parser.add_argument(
        "--data-dir", help="data folder (default: the per-user data folder; PHR_DATA_DIR)"
    )
    parser.add_argument("--version", action="version", version=f"phr-desktop {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="check this installation offscreen in a temporary folder (profile, demo import, "
        "PDF export, main window), print one line and exit (0: passed)",
    )
    return parser


def open_requested(window: MainWindow, args: argparse.Namespace) -> None:
    """What the command line asked to open once the window shows: the demo, a share file."""
    if args.demo:
        open_demo_in(window)
    if args.share:
        window.share_opener.open_file(Path(args.share))


def open_demo_in(window: MainWindow) -> None:
    """Create or refresh the demo profile in a worker, then show it unlocked."""
    from phr_desktop.services.demo import open_demo

    profiles = window.profiles

    def run(progress, _cancel):  # type: ignore[no-untyped-def]
        return open_demo(profiles, progress)

    def opened(result: tuple[Session, bool]) -> None:
        window.open_session(result[0])

    window.runner.run(run, title="Opening the demo profile", on_success=opened, cancellable=False)


class CrashHandler:
    """The app's one last-resort handler, for errors that escape a Qt slot (PySide hands them
    to `sys.excepthook`), a thread, or start-up. The user gets a message, never a traceback;
    a bug also leaves a crash report with no health data (services/crash_reports.py)."""

    def __init__(self) -> None:
        self.runner: TaskRunner | None = None  # set once the window exists: it shows messages

    def install(self) -> None:
        sys.excepthook = self.uncaught
        threading.excepthook = self.uncaught_in_thread

    def uncaught(
        self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            print("phr-desktop: interrupted.", file=sys.stderr)
            return
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        if self.runner is not None:
            self.runner.present_error("phr-desktop", exc)  # writes the crash report for a bug
        else:
            print(f"phr-desktop: {describe_failure(exc)}", file=sys.stderr)

    def uncaught_in_thread(self, args: threading.ExceptHookArgs) -> None:
        # Not the GUI thread: no window may be touched here, so report and say it on stderr.
        if args.exc_value is not None:
            print(f"phr-desktop: {describe_failure(args.exc_value)}", file=sys.stderr)


def describe_failure(exc: BaseException) -> str:
    """A message for an error outside any window: the user's own (as it is), an I/O problem
    (in words), or a bug (with a crash report)."""
    if isinstance(exc, USER_ERRORS):
        return str(exc)
    if isinstance(exc, OSError):
        return os_error_message(exc)
    return bug_message(exc, report_crash(exc, where="phr-desktop"))


def main(argv: Sequence[str] | None = None) -> int:
    harden_process()  # before any key is in memory: no core dumps
    args = build_parser().parse_args(argv)
    handler = CrashHandler()
    handler.install()
    try:
        return run_app(args, handler)
    except Exception as exc:
        print(f"phr-desktop: {describe_failure(exc)}", file=sys.stderr)
        return EXIT_ERROR if isinstance(exc, (*USER_ERRORS, OSError)) else EXIT_BUG


def run_app(args: argparse.Namespace, handler: CrashHandler) -> int:
    if args.self_test:
        from phr_desktop.self_test import run_self_test

        return run_self_test()
    from phr_desktop.qt_platform_check import display_problem

    problem = display_problem()  # before Qt, which would abort on it
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_ERROR
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from phr_desktop.services.profiles import Profiles
    from phr_desktop.ui.app_icon import app_icon
    from phr_desktop.ui.file_open import FileOpenFilter
    from phr_desktop.ui.main_window.window import MainWindow
    from phr_desktop.ui.readable_colours import follow_palette_changes, readable_placeholders

    # Qt 6 scales for high DPI by itself; pass fractional factors (125 %, 150 %) through as is.
    QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
        Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
    )
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("phr-desktop")
    app.setOrganizationName("phr-desktop")
    app.setApplicationVersion(__version__)
    app.setApplicationDisplayName("phr-desktop")
    app.setWindowIcon(app_icon())
    app.setDesktopFileName("phr-desktop")
    readable_placeholders()
    follow_palette_changes()  # and again after a live switch between light and dark
    profiles = Profiles(Path(args.data_dir) if args.data_dir else None)
    window = MainWindow(profiles)
    handler.runner = window.runner
    file_open = FileOpenFilter(window.share_opener.open_file, app)
    app.installEventFilter(file_open)
    window.show()
    open_requested(window, args)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
