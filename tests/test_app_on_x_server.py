"""The app once in a real X server (Xvfb), not offscreen: it starts on the demo profile through
Qt's xcb plugin, the screen shows its window (grabbed from the X server by another process),
and it quits.

Needs Xvfb and Qt's xcb libraries (Debian: xvfb libxcb-cursor0 libxcb-icccm4 …, see the
README); `python3 dev.py test` installs them under CI when running as root with apt.
Elsewhere the test is skipped, saying what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phr_desktop.qt_platform_check import display_problem

REPO = Path(__file__).resolve().parents[1]
SCREEN = (1280, 800)

# Run in its own process on the same X server: grab the whole screen until the app's window
# is there (far from blank) and has settled, then print what was seen.
GRABBER = """
import json, sys, time
from PySide6.QtGui import QGuiApplication
app = QGuiApplication(sys.argv[:1])
screen = app.primaryScreen()
deadline, previous, stats = time.monotonic() + float(sys.argv[1]), None, {}
while time.monotonic() < deadline:
    image = screen.grabWindow(0).toImage()
    colours, lit, total = set(), 0, 0
    for y in range(0, image.height(), 8):
        for x in range(0, image.width(), 8):
            rgb = image.pixel(x, y) & 0xFFFFFF
            colours.add(rgb)
            lit += rgb != 0
            total += 1
    stats = {"width": image.width(), "height": image.height(), "colours": len(colours),
             "lit_fraction": lit / total}
    key = image.bits().tobytes() if hasattr(image.bits(), "tobytes") else bytes(image.constBits())
    if stats["lit_fraction"] > 0.3 and stats["colours"] > 10 and key == previous:
        image.save(sys.argv[2])
        break
    previous = key
    time.sleep(1.0)
print(json.dumps(stats))
"""


def _start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
         "-nolisten", "tcp", "-br"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write_fd)
    with os.fdopen(read_fd) as displayfd:
        number = displayfd.readline().strip()  # written once the server accepts clients
    if not number:
        xvfb.kill()
        xvfb.wait(10)
        pytest.fail("Xvfb did not start")
    return xvfb, f":{number}"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def test_the_app_starts_on_the_demo_in_a_real_x_server_and_shows_its_window(
    tmp_path: Path,
) -> None:
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb not installed (Debian: apt-get install xvfb; `python3 dev.py test` "
                    "installs it under CI as root)")  # fmt: skip
    problem = display_problem({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"})
    if problem:
        pytest.skip(problem.splitlines()[0])
    xvfb, display = _start_xvfb()
    home = tmp_path / "home"
    home.mkdir()
    dropped = ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        DISPLAY=display, XDG_SESSION_TYPE="x11", HOME=str(home), PYTHONPATH=str(REPO),
        XDG_CONFIG_HOME=str(home / ".config"), PHR_CRASH_DIR=str(tmp_path / "crash"),
    )  # fmt: skip
    app = subprocess.Popen(
        [sys.executable, "-m", "phr_desktop.app", "--demo", "--data-dir", str(tmp_path / "data")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        shot = tmp_path / "screen.png"
        grab = subprocess.run(
            [sys.executable, "-c", GRABBER, "90", str(shot)],
            env=env, capture_output=True, text=True, timeout=150, check=False,
        )  # fmt: skip
        assert grab.returncode == 0, grab.stderr
        seen = json.loads(grab.stdout.strip().splitlines()[-1])
        assert app.poll() is None, app.communicate(timeout=10)[1]  # still running: not aborted
        assert (seen["width"], seen["height"]) == SCREEN
        assert seen["lit_fraction"] > 0.3 and seen["colours"] > 10, seen  # not a blank screen
        assert shot.exists()
        # it opened the demo (made while the window is already up, so on a busy machine the
        # folder may come a moment after the first lit screen)
        demo = tmp_path / "data" / "profiles" / "demo"
        deadline = time.monotonic() + 60
        while not demo.is_dir() and time.monotonic() < deadline and app.poll() is None:
            time.sleep(0.2)
        assert demo.is_dir()
    finally:
        _stop(app)
        _stop(xvfb)
        _out, err = app.communicate(timeout=10)  # also closes its pipes when an assert failed
    assert b"Could not load the Qt platform plugin" not in err
    assert app.returncode in (0, -signal.SIGTERM)  # quit when asked
