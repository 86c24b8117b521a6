"""Specification of the start-up check on Linux: missing X11 (xcb) libraries or no display are
told, with the install commands, before Qt would abort."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from phr_desktop.qt_platform_check import (
    NO_DISPLAY_MESSAGE,
    display_problem,
    missing_xcb_libraries,
    xcb_expected,
)

REPO = Path(__file__).resolve().parents[1]
X11_SESSION = {"DISPLAY": ":0", "XDG_SESSION_TYPE": "x11"}


def lacking(*sonames: str):  # type: ignore[no-untyped-def]
    return lambda soname: soname not in sonames


def test_the_missing_libraries_are_named_with_apt_dnf_and_pacman_commands() -> None:
    message = display_problem(
        X11_SESSION, lacking("libxcb-cursor.so.0", "libxcb-icccm.so.4"), "linux"
    )
    assert message is not None
    assert "libxcb-cursor.so.0, libxcb-icccm.so.4" in message
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4" in message
    assert "sudo dnf install xcb-util-cursor xcb-util-wm" in message
    assert "sudo pacman -S xcb-util-cursor xcb-util-wm" in message


def test_a_package_is_named_once_for_several_missing_libraries() -> None:
    message = display_problem(
        X11_SESSION, lacking("libxcb-randr.so.0", "libxcb-shape.so.0"), "linux"
    )
    assert message is not None and "sudo dnf install libxcb\n" in message


def test_all_present_and_a_display_is_fine() -> None:
    assert display_problem(X11_SESSION, lacking(), "linux") is None
    assert missing_xcb_libraries(lacking()) == []


def test_no_display_is_told_instead_of_qts_abort() -> None:
    assert display_problem({}, lacking(), "linux") == NO_DISPLAY_MESSAGE


def test_nothing_is_checked_where_qt_will_not_use_xcb() -> None:
    nothing = lacking("libxcb.so.1")
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}, nothing, "linux") is None
    assert display_problem({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"},
                           nothing, "linux") is None  # fmt: skip
    assert display_problem(X11_SESSION, nothing, "darwin") is None
    assert xcb_expected({"QT_QPA_PLATFORM": "xcb:dpi=96"}, "linux")
    assert not xcb_expected({"QT_QPA_PLATFORM": "wayland;xcb"}, "linux")


def test_phr_desktop_prints_the_install_command_and_exits_instead_of_aborting() -> None:
    # The real entry point in a real process, with libxcb-cursor0 made to look absent (it is
    # present wherever the Xvfb test runs): a message and exit 1, not Qt's abort (SIGABRT).
    program = (
        "import sys, phr_desktop.qt_platform_check as check\n"
        "real = check.library_loads\n"
        "check.library_loads = lambda name: name != 'libxcb-cursor.so.0' and real(name)\n"
        "from phr_desktop.app import main\n"
        "sys.exit(main([]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=":99", XDG_SESSION_TYPE="x11", PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "libxcb-cursor.so.0" in result.stderr and "sudo apt install" in result.stderr
    assert "libxcb-cursor0" in result.stderr
    assert "Could not load the Qt platform plugin" not in result.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a Linux start-up check")
def test_the_packaged_app_finds_a_library_it_bundled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import _ctypes

    from phr_desktop import qt_platform_check

    # Any real shared object will do as the bundled library: copy one under a new name.
    bundled = tmp_path / "libphr-bundled-test.so.1"
    bundled.write_bytes(Path(_ctypes.__file__).read_bytes())
    assert not qt_platform_check.library_loads(bundled.name)  # not on the loader's path
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert qt_platform_check.library_loads(bundled.name)
