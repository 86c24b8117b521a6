"""Lock the profile after a spell without input, and when the desktop session locks.

An application-wide event filter notes the time of the last keyboard, mouse, wheel or touch
input; a single-shot timer fires when the idle time has passed (re-armed for the remainder
when there was input meanwhile, so input costs one clock read, not a timer restart).

The delay (minutes, 0 = never; default 10) is kept with QSettings: a preference, not health data.

Locking with the OS session. Qt has no cross-platform "screen locked" signal. What we hook:
- every platform: `QGuiApplication.applicationStateChanged` to `ApplicationSuspended` (sent
  where the OS suspends apps, e.g. on some mobile/tablet modes);
- Linux/BSD (QtDBus): `ActiveChanged(true)` of `org.freedesktop.ScreenSaver` and
  `org.gnome.ScreenSaver` on the session bus, and `Lock` of this login session
  (`org.freedesktop.login1.Session`, path from `XDG_SESSION_ID`) on the system bus.
Not hooked (would need native code): Windows `WM_WTSSESSION_CHANGE` after
`WTSRegisterSessionNotification` (a `QAbstractNativeEventFilter` could read it), and macOS
`com.apple.screenIsLocked` from `NSDistributedNotificationCenter`. There the idle timer is the
protection.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from PySide6.QtCore import (
    SLOT,
    QCoreApplication,
    QEvent,
    QObject,
    QSettings,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from phr_desktop.ui import style

log = logging.getLogger(__name__)

SETTING_KEY = "security/auto_lock_minutes"
DEFAULT_MINUTES = 10
MAX_MINUTES = 240
_INPUT_EVENTS = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TabletPress,
    }
)


def app_settings() -> QSettings:
    return QSettings(style.SETTINGS_ORG, style.SETTINGS_APP)


def stored_minutes(settings: QSettings) -> int:
    value = settings.value(SETTING_KEY, DEFAULT_MINUTES)
    try:
        minutes = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return DEFAULT_MINUTES
    return max(0, min(minutes, MAX_MINUTES))


class AutoLock(QObject):
    """Emits `lock_requested(reason)` after idle time or an OS session lock, while armed."""

    lock_requested = Signal(str)

    def __init__(
        self,
        settings: QSettings | None = None,
        parent: QObject | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else app_settings()
        self.clock = clock
        self.armed = False
        self._last_input = clock()
        self._interval_ms = stored_minutes(self.settings) * 60_000
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._check)
        app = QCoreApplication.instance()
        if app is not None:
            app.installEventFilter(self)
            state_changed = getattr(app, "applicationStateChanged", None)
            if state_changed is not None:
                state_changed.connect(self._on_application_state)
        self.os_lock_hooks = _hook_session_lock(self)

    # --- settings -----------------------------------------------------------------------------

    @property
    def minutes(self) -> int:
        return self._interval_ms // 60_000

    def set_minutes(self, minutes: int) -> None:
        minutes = max(0, min(int(minutes), MAX_MINUTES))
        self.settings.setValue(SETTING_KEY, minutes)
        self.settings.sync()
        self.set_interval_ms(minutes * 60_000)

    def set_interval_ms(self, interval_ms: int) -> None:
        """Change the delay for this run only (tests use milliseconds)."""
        self._interval_ms = max(0, interval_ms)
        if self.armed:
            self.arm()

    # --- arming -------------------------------------------------------------------------------

    def arm(self) -> None:
        """Start watching (a profile is open)."""
        self.armed = True
        self._last_input = self.clock()
        if self._interval_ms > 0:
            self.timer.start(self._interval_ms)
        else:
            self.timer.stop()

    def disarm(self) -> None:
        self.armed = False
        self.timer.stop()

    def note_input(self) -> None:
        self._last_input = self.clock()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.armed and event.type() in _INPUT_EVENTS:
            self._last_input = self.clock()
        return False

    @Slot()
    def _check(self) -> None:
        if not self.armed or self._interval_ms <= 0:
            return
        idle_ms = (self.clock() - self._last_input) * 1000
        remaining = self._interval_ms - idle_ms
        if remaining <= 0:
            self.request_lock("idle")
        else:
            self.timer.start(max(1, int(remaining)))

    def request_lock(self, reason: str) -> None:
        if self.armed:
            self.disarm()
            self.lock_requested.emit(reason)

    def _on_application_state(self, state: Qt.ApplicationState) -> None:
        if state == Qt.ApplicationState.ApplicationSuspended:
            self.request_lock("suspended")

    @Slot(bool)
    def on_screensaver_active(self, active: bool) -> None:
        if active:
            self.request_lock("screen locked")

    @Slot()
    def on_session_lock(self) -> None:
        self.request_lock("screen locked")


def _login1_session_path(session_id: str) -> str:
    """systemd's object-path escaping: keep [A-Za-z0-9] (not a leading digit), else _XX."""
    out = []
    for i, ch in enumerate(session_id):
        if ch.isascii() and (ch.isalpha() or (ch.isdigit() and i > 0)):
            out.append(ch)
        else:
            out.append(f"_{ord(ch):02x}")
    return "/org/freedesktop/login1/session/" + "".join(out)


def _hook_session_lock(target: AutoLock) -> list[str]:
    """Subscribe to the desktop's lock signals where there is a D-Bus; names what was hooked."""
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS") and not os.path.exists(
        "/run/dbus/system_bus_socket"
    ):
        return []
    try:
        from PySide6.QtDBus import QDBusConnection
    except ImportError:  # not on this platform's build
        return []
    hooked = []
    session_bus = QDBusConnection.sessionBus()
    if session_bus.isConnected():
        for service in ("org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver"):
            path = "/" + service.replace(".", "/")
            # The (service, path, interface, name, receiver, slot-string) overload exists in Qt
            # but is missing from PySide6's stubs.
            if session_bus.connect(  # type: ignore[call-overload]
                service, path, service, "ActiveChanged", target, SLOT("on_screensaver_active(bool)")
            ):
                hooked.append(service)
    session_id = os.environ.get("XDG_SESSION_ID")
    system_bus = QDBusConnection.systemBus()
    if session_id and system_bus.isConnected():
        path = _login1_session_path(session_id)
        interface = "org.freedesktop.login1.Session"
        if system_bus.connect(  # type: ignore[call-overload]
            "org.freedesktop.login1", path, interface, "Lock", target, SLOT("on_session_lock()")
        ):
            hooked.append(interface)
    log.debug("session lock hooks: %s", hooked or "none")
    return hooked


class AutoLockDialog(QDialog):
    """Preferences → Auto-lock: minutes of inactivity before the profile locks."""

    def __init__(self, auto_lock: AutoLock, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.auto_lock = auto_lock
        self.setWindowTitle("Auto-lock")
        layout = QFormLayout(self)
        self.minutes = QSpinBox(self)
        self.minutes.setRange(0, MAX_MINUTES)
        self.minutes.setSuffix(" min")
        self.minutes.setSpecialValueText("Never")
        self.minutes.setValue(auto_lock.minutes)
        self.minutes.setAccessibleName("Minutes without input before locking")
        layout.addRow("Lock after", self.minutes)
        note = QLabel(
            "The profile also locks when the screen locks, where the desktop reports it. "
            "Locking closes the vault and clears every view.",
            self,
        )
        note.setWordWrap(True)
        layout.addRow(note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addRow(buttons)

    def accept(self) -> None:
        self.auto_lock.set_minutes(self.minutes.value())
        super().accept()
