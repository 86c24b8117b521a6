"""`phr-desktop`: the desktop entry point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from phr_desktop import __version__
from phr_desktop.services.demo import open_demo
from phr_desktop.services.errors import USER_ERRORS
from phr_desktop.services.profiles import Profiles


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phr-desktop", description="phr-desktop: your health record."
    )
    parser.add_argument(
        "--demo", action="store_true", help="open the demo profile (created on first use)"
    )
    parser.add_argument(
        "--data-dir", help="data folder (default: the per-user data folder; PHR_DATA_DIR)"
    )
    parser.add_argument("--version", action="version", version=f"phr-desktop {__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from PySide6.QtWidgets import QApplication, QMessageBox

    from phr_desktop.ui.placeholder import PlaceholderWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    profiles = Profiles(Path(args.data_dir) if args.data_dir else None)
    try:
        if args.demo:
            session, _created = open_demo(profiles)
            with session:
                window = PlaceholderWindow("Demo patient", session.counts_by_kind(), [])
        else:
            window = PlaceholderWindow("Profiles", None, profiles.names())
    except USER_ERRORS as exc:
        QMessageBox.critical(None, "phr-desktop", str(exc))
        return 1
    window.show()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
