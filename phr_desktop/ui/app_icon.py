"""The app's own icon (resources/icons, drawn by packaging/make_icons.py) for its windows."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from phr_desktop.resources import resource_path


def app_icon() -> QIcon:
    """Every rendered size, so each window decoration and task bar picks a sharp one."""
    icon = QIcon()
    for png in sorted(resource_path("icons").glob("phr-desktop-*.png")):
        icon.addFile(str(png))
    return icon
