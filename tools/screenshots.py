#!/usr/bin/env python3
"""Render the main screens offscreen to docs/screenshots/*.png, from the demo profile.

    .venv/bin/python tools/screenshots.py [--out docs/screenshots] [--scale 1]

Uses a temporary data folder (deleted afterwards), so the user's profiles are never touched.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from phr_desktop.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WINDOW_SIZE = (1280, 820)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--scale", default="1", help="device pixel ratio (QT_SCALE_FACTOR)")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["QT_SCALE_FACTOR"] = args.scale

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from phr_desktop.services.demo import DEMO_PASSPHRASE, DEMO_PROFILE, open_demo
    from phr_desktop.services.profiles import Profiles
    from phr_desktop.services.session import RecordFilter
    from phr_desktop.ui.main_window import MainWindow
    from phr_desktop.ui.manual_entry import LabResultDialog
    from phr_desktop.ui.workers import TaskRunner

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("phr-desktop")
    args.out.mkdir(parents=True, exist_ok=True)

    def save(widget: QWidget, name: str) -> None:
        app.processEvents()
        path = args.out / f"{name}.png"
        widget.grab().save(str(path))
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)

    with tempfile.TemporaryDirectory(prefix="phr-shots-") as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)

        def new_window(data: Path) -> MainWindow:
            window = MainWindow(
                Profiles(data), settings=settings, runner=TaskRunner(synchronous=True)
            )
            window.resize(*WINDOW_SIZE)
            window.show()
            return window

        # first run: the create page with the strength meter
        first = new_window(Path(tmp) / "empty")
        first.profile_screen.new_name.setText("Margaret")
        first.profile_screen.new_passphrase.setText("tulip granite oboe harbour")
        save(first, "create-profile")
        first.close()

        profiles = Profiles(Path(tmp) / "data")
        session, _created = open_demo(profiles)
        session.close()
        window = new_window(profiles.data_dir)
        window.profile_screen.reset(select=DEMO_PROFILE)
        save(window, "profile-screen")

        window.profile_screen.passphrase.setText(DEMO_PASSPHRASE)
        window.profile_screen.unlock_button.click()
        assert window.session is not None and window.dashboard is not None
        window.dashboard.run_search("emphysema")
        window.dashboard.search.clear()
        save(window, "dashboard")

        labs = window.session.records(RecordFilter(kinds=("lab_result",), text="FEV1"))
        window.show_record(next(s.id for s in labs if s.record.title == "FEV1"))
        save(window, "timeline")

        window.show_tab(2)
        save(window, "aatd")

        window.show_tab(0)
        dialog = LabResultDialog(window.session, window)
        for field, text in (
            (dialog.test_name, "Alpha-1 antitrypsin"), (dialog.value, "94"),
            (dialog.unit, "mg/dL"), (dialog.low, "100"), (dialog.high, "200"),
            (dialog.loinc, "1825-9"),
        ):  # fmt: skip
            field.setText(text)
        dialog.resize(520, dialog.sizeHint().height())
        dialog.show()
        save(dialog, "manual-entry")
        dialog.close()

        share_shots(window, Path(tmp), save)
        window.close()
    return 0


def share_shots(window: MainWindow, tmp: Path, save: Callable[[QWidget, str], None]) -> None:
    """The Share dialog, its result page (key as text and QR), and the activity log."""
    from phr_desktop.ui.sharing import dialog as share_dialog

    def fixed_path(parent: QWidget, suggested: Path) -> Path | None:
        return tmp / "share.phrshare"

    share_dialog.choose_share_path = fixed_path
    dialog = window.sharing_menu.share_clicked()
    assert dialog is not None
    dialog.label.setText("Dr Rivera, pulmonology clinic")
    dialog.passcode.setText("tulip-42")
    dialog.passcode_again.setText("tulip-42")
    dialog.resize(720, dialog.sizeHint().height())
    save(dialog, "share-dialog")
    dialog.create_button.click()
    dialog.resize(860, dialog.sizeHint().height())
    save(dialog, "share-result")
    created = dialog.created
    assert created is not None
    dialog.close()
    viewer_shot(created.file, created.key, "tulip-42", save)
    log = window.sharing_menu.activity_clicked()
    assert log is not None
    log.verify_button.click()
    save(log, "activity-log")
    log.close()


def viewer_shot(path: Path, key: str, passcode: str, save: Callable[[QWidget, str], None]) -> None:
    """What the clinician sees: the banner, the timeline and a record, read-only."""
    from phr_desktop.services.session import RecordFilter
    from phr_desktop.services.share_viewer import open_share_session
    from phr_desktop.ui.sharing.window import ShareWindow

    session = open_share_session(path, key, passcode=passcode)
    window = ShareWindow(session, synchronous=True)
    window.resize(*WINDOW_SIZE)
    window.show()
    aat = session.records(RecordFilter(tag="aatd", kinds=("lab_result",)))[0]
    window.show_record(aat.id)
    save(window, "share-viewer")
    window.close()


if __name__ == "__main__":
    sys.exit(main())
