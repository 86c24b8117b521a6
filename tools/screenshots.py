#!/usr/bin/env python3
"""Render every main screen and dialog offscreen, on screens of 1024×700, 1366×768 and
1920×1080, at the size the app itself opens them (nothing is resized before the grab).

    .venv/bin/python tools/screenshots.py [--out docs/screenshots] [--sizes 1024x700,...]
                                          [--scale 1] [--measure FILE.json]

Each size runs in its own process: the offscreen screen's size is fixed when Qt starts.
PNGs go to OUT/WIDTHxHEIGHT/ (docs/screenshots/1024x700/ is committed). `--measure` also
writes, per size, the widths the tests check (tests/ui/test_screens_fit.py). Uses a
temporary data folder (deleted afterwards), so the user's profiles are never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QDialog, QWidget

    from phr_desktop.ui.main_window.window import MainWindow

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SIZES = ("1024x700", "1366x768", "1920x1080")


def screen_config(size: str, folder: Path) -> str:
    """The offscreen platform's argument for one screen of `size` (Qt's JSON config file)."""
    width, height = (int(n) for n in size.split("x"))
    screen = {"name": size, "x": 0, "y": 0, "width": width, "height": height,
              "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}  # fmt: skip
    config = folder / f"screen-{size}.json"
    config.write_text(json.dumps({"screens": [screen]}), encoding="utf-8")
    return f"offscreen:configfile={config}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--sizes", default=",".join(SIZES))
    parser.add_argument("--scale", default="1", help="device pixel ratio (QT_SCALE_FACTOR)")
    parser.add_argument("--measure", type=Path, help="write the measured widths (JSON) here")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # the child process: this size only
    args = parser.parse_args()
    if args.one:
        return render(args.one, args.out, args.scale, args.measure)
    measured: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="phr-shots-") as tmp:
        for size in args.sizes.split(","):
            part = Path(tmp) / f"measure-{size}.json"
            env = dict(os.environ, QT_QPA_PLATFORM=screen_config(size, Path(tmp)))
            command = [sys.executable, __file__, "--one", size, "--out", str(args.out / size),
                       "--scale", args.scale, "--measure", str(part)]  # fmt: skip
            subprocess.run(command, env=env, check=True)
            measured[size] = json.loads(part.read_text(encoding="utf-8"))
    if args.measure:
        args.measure.write_text(json.dumps(measured, indent=1), encoding="utf-8")
    return 0


def render(size: str, out: Path, scale: str, measure: Path | None) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["QT_SCALE_FACTOR"] = scale
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("phr-desktop")
    out.mkdir(parents=True, exist_ok=True)
    shots = Shots(app, out)
    with tempfile.TemporaryDirectory(prefix="phr-shots-") as tmp:
        take_all(shots, Path(tmp))
    if measure is not None:
        measure.write_text(json.dumps(shots.measured, indent=1), encoding="utf-8")
    return 0


class Shots:
    """Grabs widgets as they are and records their sizes and the screen's."""

    def __init__(self, app: QApplication, out: Path) -> None:
        self.app = app
        self.out = out
        screen = app.primaryScreen().availableGeometry()
        self.measured: dict[str, Any] = {"screen": [screen.width(), screen.height()], "shots": {}}

    def save(self, widget: QWidget, name: str) -> None:
        self.app.processEvents()
        path = self.out / f"{name}.png"
        widget.grab().save(str(path))
        frame = widget.frameGeometry()
        self.measured["shots"][name] = [frame.width(), frame.height()]
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)

    def newest_dialog(self) -> QDialog:
        from PySide6.QtWidgets import QDialog

        self.app.processEvents()
        shown = [w for w in self.app.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]
        assert shown, "no dialog opened"
        return shown[-1]

    def dialog(self, open_it: Callable[[], object], name: str) -> QDialog:
        """Open a dialog the way the app does, grab it at the size it opened at, close it."""
        open_it()
        dialog = self.newest_dialog()
        self.save(dialog, name)
        return dialog


def take_all(shots: Shots, tmp: Path) -> None:
    from PySide6.QtCore import QSettings

    from phr_desktop.services.demo import DEMO_PASSPHRASE, DEMO_PROFILE, open_demo
    from phr_desktop.services.profiles import Profiles
    from phr_desktop.services.session import RecordFilter
    from phr_desktop.ui.main_window.window import MainWindow
    from phr_desktop.ui.workers import TaskRunner

    settings = QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)

    def new_window(data: Path) -> MainWindow:
        window = MainWindow(Profiles(data), settings=settings, runner=TaskRunner(synchronous=True))
        window.show()  # at the size the app chooses for this screen
        return window

    # first run: the create page with the strength meter, then the empty record's first steps
    first = new_window(tmp / "empty")
    screen = first.profile_screen
    screen.new_name.setText("Margaret")
    screen.new_passphrase.setText("tulip granite oboe harbour")
    shots.save(first, "create-profile")
    screen.confirm_passphrase.setText("tulip granite oboe harbour")
    screen.create_button.click()
    screen.kept_key.setChecked(True)
    screen.continue_button.click()
    shots.save(first, "get-started")
    first.close()

    profiles = Profiles(tmp / "data")
    session, _created = open_demo(profiles)
    session.close()
    window = new_window(profiles.data_dir)
    window.profile_screen.reset(select=DEMO_PROFILE)
    shots.save(window, "profile-screen")
    window.profile_screen.passphrase.setText(DEMO_PASSPHRASE)
    window.profile_screen.unlock_button.click()
    assert window.session is not None and window.dashboard is not None
    window.dashboard.run_search("emphysema")
    window.dashboard.search.clear()
    shots.save(window, "dashboard")

    labs = window.session.records(RecordFilter(kinds=("lab_result",), text="FEV1"))
    window.show_record(next(s.id for s in labs if s.record.title == "FEV1"))
    shots.save(window, "timeline")
    measure_timeline(shots, window)
    window.show_tab(2)
    shots.save(window, "aatd")
    window.show_tab(1)
    entry_dialogs(shots, window)
    window.show_tab(0)
    assert window.dashboard is not None
    shots.dialog(window.dashboard.providers.connect_clicked, "connect").close()
    shots.dialog(window.auto_lock_clicked, "auto-lock").close()
    shots.dialog(window.guide_clicked, "user-guide").close()
    share_shots(shots, window, tmp)
    window.close()


def measure_timeline(shots: Shots, window: MainWindow) -> None:
    from phr_desktop.ui.timeline.columns import TITLE, title_min_width

    timeline = window.timeline
    assert timeline is not None
    header = timeline.tree.header()
    shots.measured["timeline_title"] = {
        "width": header.sectionSize(TITLE),
        "needs": title_min_width(timeline.fontMetrics()),
    }


def entry_dialogs(shots: Shots, window: MainWindow) -> None:
    """Every File → New entry form, and the correction form, as the menu opens them."""
    from phr_desktop.ui.main_window.menus import NEW_ENTRIES
    from phr_desktop.ui.manual_entry import MEDICINE_NAME_CHARS, MedicationDialog

    for _text, class_name, _keys in NEW_ENTRIES:
        name = "entry-" + class_name.removesuffix("Dialog").lower()
        dialog = shots.dialog(window.new_entry_actions[class_name].trigger, name)
        if isinstance(dialog, MedicationDialog):
            shots.measured["medicine_box"] = {
                "width": dialog.name.width(),
                "needs": dialog.name.fontMetrics().averageCharWidth() * MEDICINE_NAME_CHARS,
            }
        dialog.close()
    shots.dialog(window.correct_action.trigger, "entry-correction").close()


def share_shots(shots: Shots, window: MainWindow, tmp: Path) -> None:
    """The Share dialog, its result page (key as text and QR), the history, the activity log
    and what the clinician sees."""
    from phr_desktop.ui.sharing import dialog as share_dialog

    def fixed_path(parent: QWidget, suggested: Path) -> Path | None:
        return tmp / "share.phrshare"

    share_dialog.choose_share_path = fixed_path
    dialog = window.sharing_menu.share_clicked()
    assert dialog is not None
    dialog.choice.by_filter.setChecked(True)  # the kind grid in use
    dialog.label.setText("Dr Rivera, pulmonology clinic")
    dialog.passcode.setText("tulip-42")
    dialog.passcode_again.setText("tulip-42")
    shots.save(dialog, "share-dialog")
    measure_share_kinds(shots, dialog)
    dialog.choice.preset.setChecked(True)
    dialog.create_button.click()
    shots.save(dialog, "share-result")
    created = dialog.created
    assert created is not None
    dialog.close()
    history = window.sharing_menu.history_clicked()
    assert history is not None
    shots.save(history, "share-history")
    history.close()
    log = window.sharing_menu.activity_clicked()
    assert log is not None
    log.verify_button.click()
    shots.save(log, "activity-log")
    log.close()
    viewer_shot(shots, created.file, created.key, "tulip-42")


def measure_share_kinds(shots: Shots, dialog: QWidget) -> None:
    """Each kind checkbox's width and height against what its text needs, and overlaps."""
    boxes = list(dialog.choice.kind_boxes.values())  # type: ignore[attr-defined]
    rects = [b.geometry() for b in boxes]
    overlaps = sum(
        1 for i, a in enumerate(rects) for b in rects[i + 1 :] if a.intersects(b)
    )  # siblings in one grid: any intersection is text drawn over text
    shots.measured["share_kinds"] = {
        "boxes": [
            [b.text(), b.width(), b.sizeHint().width(), b.height(), b.sizeHint().height()]
            for b in boxes
        ],
        "overlaps": overlaps,
    }


def viewer_shot(shots: Shots, path: Path, key: str, passcode: str) -> None:
    """What the clinician sees: the banner and the AATD overview it opens on, then a record."""
    from phr_desktop.services.session import RecordFilter
    from phr_desktop.services.share_viewer import open_share_session
    from phr_desktop.ui.sharing.window import ShareWindow

    session = open_share_session(path, key, passcode=passcode)
    window = ShareWindow(session, synchronous=True)
    window.show()
    shots.save(window, "share-viewer")
    aat = session.records(RecordFilter(tag="aatd", kinds=("lab_result",)))[0]
    window.show_record(aat.id)
    shots.save(window, "share-viewer-record")
    window.close()


if __name__ == "__main__":
    sys.exit(main())
