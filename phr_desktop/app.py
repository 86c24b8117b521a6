"""`phr-desktop`: the desktop entry point (profile screen, or the demo profile with --demo)."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from phr_desktop import __version__
from phr_desktop.process_hardening import harden_process

if TYPE_CHECKING:
    from phr_desktop.services.session import Session
    from phr_desktop.ui.main_window import MainWindow


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


def _install_excepthook(window: MainWindow) -> None:
    """An exception escaping a Qt slot is a bug: show it, do not lose it on stderr only."""
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        previous(kind, exc, tb)
        exc.phr_traceback = "".join(traceback.format_exception(kind, exc, tb))  # type: ignore[attr-defined]
        window.runner.present_error("phr-desktop", exc)

    sys.excepthook = hook


def main(argv: Sequence[str] | None = None) -> int:
    harden_process()  # before any key is in memory: no core dumps
    args = build_parser().parse_args(argv)
    if args.self_test:
        from phr_desktop.self_test import run_self_test

        return run_self_test()
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from phr_desktop.services.profiles import Profiles
    from phr_desktop.ui.app_icon import app_icon
    from phr_desktop.ui.file_open import FileOpenFilter
    from phr_desktop.ui.main_window import MainWindow

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
    profiles = Profiles(Path(args.data_dir) if args.data_dir else None)
    window = MainWindow(profiles)
    _install_excepthook(window)
    file_open = FileOpenFilter(window.share_opener.open_file, app)
    app.installEventFilter(file_open)
    window.show()
    open_requested(window, args)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
