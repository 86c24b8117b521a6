"""Before Qt starts on Linux: are the X11 (xcb) libraries Qt's xcb platform plugin needs
installed? Without them Qt prints "Could not load the Qt platform plugin xcb" and aborts (a
core dump under `dev.py demo`); this finds them first and says what to install.

Standard library only: it runs before PySide6 is imported, in `phr-desktop`, in the packaged
app (whose bundled libraries dlopen finds through the loader path the bundle sets) and so
under `dev.py demo`.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SystemLibrary:
    soname: str
    apt: str  # Debian, Ubuntu
    dnf: str  # Fedora, RHEL
    pacman: str  # Arch


# What Qt 6's libqxcb.so and libQt6XcbQpa.so need beyond Qt itself (their ELF DT_NEEDED).
XCB_LIBRARIES: tuple[SystemLibrary, ...] = (
    SystemLibrary("libxcb-cursor.so.0", "libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    SystemLibrary("libxcb-icccm.so.4", "libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    SystemLibrary("libxcb-keysyms.so.1", "libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    SystemLibrary("libxcb-image.so.0", "libxcb-image0", "xcb-util-image", "xcb-util-image"),
    SystemLibrary(
        "libxcb-render-util.so.0", "libxcb-render-util0", "xcb-util-renderutil",
        "xcb-util-renderutil",
    ),
    SystemLibrary("libxcb-util.so.1", "libxcb-util1", "xcb-util", "xcb-util"),
    SystemLibrary("libxcb-randr.so.0", "libxcb-randr0", "libxcb", "libxcb"),
    SystemLibrary("libxcb-render.so.0", "libxcb-render0", "libxcb", "libxcb"),
    SystemLibrary("libxcb-shape.so.0", "libxcb-shape0", "libxcb", "libxcb"),
    SystemLibrary("libxcb-shm.so.0", "libxcb-shm0", "libxcb", "libxcb"),
    SystemLibrary("libxcb-sync.so.1", "libxcb-sync1", "libxcb", "libxcb"),
    SystemLibrary("libxcb-xfixes.so.0", "libxcb-xfixes0", "libxcb", "libxcb"),
    SystemLibrary("libxcb-xkb.so.1", "libxcb-xkb1", "libxcb", "libxcb"),
    SystemLibrary("libxcb.so.1", "libxcb1", "libxcb", "libxcb"),
    SystemLibrary("libX11-xcb.so.1", "libx11-xcb1", "libX11-xcb", "libx11"),
    SystemLibrary("libX11.so.6", "libx11-6", "libX11", "libx11"),
    SystemLibrary(
        "libxkbcommon-x11.so.0", "libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"
    ),
    SystemLibrary("libxkbcommon.so.0", "libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    SystemLibrary("libGL.so.1", "libgl1", "libglvnd-glx", "libglvnd"),
)  # fmt: skip


def _bundled_copies(soname: str) -> list[Path]:
    """Where a frozen build keeps libraries it bundled (beside the executable, or with Qt)."""
    root = getattr(sys, "_MEIPASS", None)
    if not root:
        return []
    folders = (Path(root), Path(root) / "PySide6" / "Qt" / "lib")
    return [folder / soname for folder in folders if (folder / soname).is_file()]


def library_loads(soname: str) -> bool:
    """True if the dynamic loader finds and loads the library (as Qt's plugin would), from
    the system or, in the packaged app, from the bundle."""
    for candidate in (soname, *map(str, _bundled_copies(soname))):
        try:
            ctypes.CDLL(candidate)
        except OSError:
            continue
        return True
    return False


def xcb_expected(env: Mapping[str, str], platform: str = sys.platform) -> bool:
    """Will Qt try its xcb plugin first? Not off Linux, not for offscreen or another chosen
    platform, not in a Wayland session that did not ask for xcb."""
    if not platform.startswith("linux"):
        return False
    chosen = env.get("QT_QPA_PLATFORM", "").strip()
    if chosen:
        return chosen.split(";")[0].split(":")[0].strip() == "xcb"
    wayland_session = env.get("XDG_SESSION_TYPE") == "wayland" and env.get("WAYLAND_DISPLAY")
    return not wayland_session


def missing_xcb_libraries(
    loads: Callable[[str], bool] | None = None,
) -> list[SystemLibrary]:
    loads = loads or library_loads
    return [lib for lib in XCB_LIBRARIES if not loads(lib.soname)]


def _unique(names: list[str]) -> str:
    return " ".join(dict.fromkeys(names))


def missing_libraries_message(missing: list[SystemLibrary]) -> str:
    return (
        "phr-desktop cannot open its window: Qt's X11 (xcb) support needs libraries this "
        f"computer lacks: {', '.join(lib.soname for lib in missing)}.\n"
        "Install them, then start phr-desktop again:\n"
        f"  Debian, Ubuntu:  sudo apt install {_unique([lib.apt for lib in missing])}\n"
        f"  Fedora, RHEL:    sudo dnf install {_unique([lib.dnf for lib in missing])}\n"
        f"  Arch:            sudo pacman -S {_unique([lib.pacman for lib in missing])}\n"
        "(The `phr` command works without them.)"
    )


NO_DISPLAY_MESSAGE = (
    "phr-desktop cannot open its window: there is no graphical display (DISPLAY is not set). "
    "Start it from a desktop session, or use the `phr` command."
)


def display_problem(
    env: Mapping[str, str] | None = None,
    loads: Callable[[str], bool] | None = None,
    platform: str = sys.platform,
) -> str | None:
    """Why Qt would abort at start-up, as a message to print; None when it should start."""
    env = os.environ if env is None else env
    if not xcb_expected(env, platform):
        return None
    missing = missing_xcb_libraries(loads)
    if missing:
        return missing_libraries_message(missing)
    if not env.get("DISPLAY"):
        return NO_DISPLAY_MESSAGE
    return None
