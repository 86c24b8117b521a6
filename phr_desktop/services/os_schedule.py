"""`phr schedule`: a daily `phr sync --scheduled` installed for the user in the OS's own way.

Linux: a systemd user timer (tested here: the unit files are written and checked with
`systemd-analyze verify`). macOS: a launchd agent (plist). Windows: a scheduled task (Task
Scheduler XML given to `schtasks`). The macOS and Windows forms follow their documented formats
but are untested (README). The files hold a command line (the profile's name and folders),
never a key or health data.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from phr_desktop.services.errors import ServiceError
from phr_desktop.vault.files import write_atomically

UNIT_NAME = "phr-desktop-sync"
LAUNCHD_LABEL = "org.phr-desktop.sync"
WINDOWS_TASK = "phr-desktop sync"
DAILY_HOUR = 9  # launchd and Task Scheduler start at a fixed time; systemd adds a random delay

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run(command: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(command), capture_output=True, text=True, timeout=60, check=False)


def sync_command(profile: str, data_dir: Path) -> list[str]:
    """The command the timer runs: this Python, this phr, this profile, this data folder."""
    return [
        sys.executable, "-m", "phr_desktop.cli", "sync", "--scheduled",
        "--profile", profile, "--data-dir", str(data_dir),
    ]  # fmt: skip


# --- the three formats ------------------------------------------------------------------------


def _systemd_quote(arg: str) -> str:
    """One ExecStart word: double-quoted, with systemd's specifier (%) and variable ($)
    characters doubled so a path is taken as written."""
    quoted = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{quoted}"'


def systemd_units(command: Sequence[str], profile: str) -> dict[str, str]:
    description = f"phr-desktop: sync the connected providers of profile {profile}"
    service = (
        "[Unit]\n"
        f"Description={description.replace('%', '%%')}\n"
        "After=network-online.target\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"ExecStart={' '.join(_systemd_quote(a) for a in command)}\n"
        "Nice=10\n"
    )
    timer = (
        "[Unit]\n"
        "Description=phr-desktop: daily sync\n\n"
        "[Timer]\n"
        "OnCalendar=daily\n"
        "Persistent=true\n"  # a day missed while the computer was off runs at the next boot
        "RandomizedDelaySec=1h\n\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return {f"{UNIT_NAME}.service": service, f"{UNIT_NAME}.timer": timer}


def launchd_plist(command: Sequence[str]) -> bytes:
    return plistlib.dumps(
        {
            "Label": LAUNCHD_LABEL,
            "ProgramArguments": list(command),
            "StartCalendarInterval": {"Hour": DAILY_HOUR, "Minute": 0},
            "RunAtLoad": False,
            "ProcessType": "Background",
        }
    )


def windows_task_xml(command: Sequence[str]) -> str:
    """A Task Scheduler 1.2 task: daily, as the signed-in user, only when they are logged on
    (the keyring is theirs), started late when a day was missed."""
    arguments = " ".join(_windows_quote(a) for a in command[1:])
    return (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\n'
        "  <RegistrationInfo><Description>phr-desktop: daily sync</Description>"
        "</RegistrationInfo>\n"
        "  <Triggers><CalendarTrigger>\n"
        f"    <StartBoundary>2020-01-01T{DAILY_HOUR:02d}:00:00</StartBoundary>\n"
        "    <ScheduleByDay><DaysInterval>1</DaysInterval></ScheduleByDay>\n"
        "  </CalendarTrigger></Triggers>\n"
        '  <Principals><Principal id="Author"><LogonType>InteractiveToken</LogonType>'
        "<RunLevel>LeastPrivilege</RunLevel></Principal></Principals>\n"
        "  <Settings><StartWhenAvailable>true</StartWhenAvailable>"
        "<RunOnlyIfNetworkAvailable>true</RunOnlyIfNetworkAvailable>"
        "<MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy></Settings>\n"
        '  <Actions Context="Author"><Exec>\n'
        f"    <Command>{escape(command[0])}</Command>\n"
        f"    <Arguments>{escape(arguments)}</Arguments>\n"
        "  </Exec></Actions>\n"
        "</Task>\n"
    )


def _windows_quote(arg: str) -> str:
    return subprocess.list2cmdline([arg])


# --- installing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleState:
    """Where the schedule stands: the files written (or found), and what was said while
    installing, checking or activating them."""

    system: str  # linux, macos, windows
    installed: bool
    files: list[Path]
    messages: list[str] = field(default_factory=list)


class OsScheduler:
    def __init__(
        self,
        platform: str = sys.platform,
        environ: Mapping[str, str] | None = None,
        run: Runner = _run,
        which: Callable[[str], str | None] = shutil.which,
    ) -> None:
        windows = platform.startswith("win")
        self.system = "macos" if platform == "darwin" else "windows" if windows else "linux"
        self.environ = dict(os.environ if environ is None else environ)
        self.run, self.which = run, which

    def _home(self) -> Path:
        home = self.environ.get("HOME") or self.environ.get("USERPROFILE")
        return Path(home) if home else Path.home()

    def folder(self) -> Path:
        """Where the schedule's files go."""
        if self.system == "macos":
            return self._home() / "Library" / "LaunchAgents"
        if self.system == "windows":
            base = self.environ.get("LOCALAPPDATA") or str(self._home() / "AppData" / "Local")
            return Path(base) / "phr-desktop"
        config = self.environ.get("XDG_CONFIG_HOME") or str(self._home() / ".config")
        return Path(config) / "systemd" / "user"

    def files(self) -> list[Path]:
        names = {
            "linux": [f"{UNIT_NAME}.service", f"{UNIT_NAME}.timer"],
            "macos": [f"{LAUNCHD_LABEL}.plist"],
            "windows": [f"{UNIT_NAME}.xml"],
        }[self.system]
        return [self.folder() / n for n in names]

    def status(self) -> ScheduleState:
        found = [p for p in self.files() if p.exists()]
        return ScheduleState(self.system, len(found) == len(self.files()), found)

    def enable(self, profile: str, data_dir: Path, *, activate: bool = True) -> ScheduleState:
        command = sync_command(profile, data_dir)
        folder = self.folder()
        folder.mkdir(parents=True, exist_ok=True)
        contents: dict[str, bytes] = {
            "linux": lambda: {k: v.encode() for k, v in systemd_units(command, profile).items()},
            "macos": lambda: {f"{LAUNCHD_LABEL}.plist": launchd_plist(command)},
            "windows": lambda: {f"{UNIT_NAME}.xml": windows_task_xml(command).encode("utf-16")},
        }[self.system]()
        for name, data in contents.items():
            write_atomically(folder / name, data)
        messages = self._verify() if self.system == "linux" else []
        if activate:
            messages += self._activate()
        else:
            messages.append("Written only; activate it with: " + " ".join(self._activation()[-1]))
        return ScheduleState(self.system, True, self.files(), messages)

    def disable(self, *, deactivate: bool = True) -> ScheduleState:
        messages = self._deactivate() if deactivate and self.status().installed else []
        removed = [p for p in self.files() if p.exists()]
        for path in removed:
            path.unlink()
        return ScheduleState(self.system, False, removed, messages)

    # --- the OS's own tools -------------------------------------------------------------------

    def _verify(self) -> list[str]:
        if not self.which("systemd-analyze"):
            return ["systemd-analyze is not installed: the unit files were not checked."]
        # The system manager's view checks the same syntax and the program path without
        # needing a running user session (`--user` fails without one).
        done = self.run(["systemd-analyze", "verify", *[str(p) for p in self.files()]])
        problems = (done.stdout + done.stderr).strip()
        if done.returncode != 0:
            for path in self.files():
                path.unlink(missing_ok=True)
            raise ServiceError(
                f"systemd refused the timer ({problems or 'no reason given'}); nothing was "
                "installed."
            )
        return ["Checked with systemd-analyze verify."]

    def _activation(self) -> list[list[str]]:
        if self.system == "macos":
            plist = str(self.files()[0])
            return [["launchctl", "unload", plist], ["launchctl", "load", plist]]
        if self.system == "windows":
            xml = str(self.files()[0])
            return [["schtasks", "/Create", "/F", "/TN", WINDOWS_TASK, "/XML", xml]]
        timer = f"{UNIT_NAME}.timer"
        return [["systemctl", "--user", "daemon-reload"],
                ["systemctl", "--user", "enable", "--now", timer]]  # fmt: skip

    def _deactivation(self) -> list[list[str]]:
        if self.system == "macos":
            return [["launchctl", "unload", str(self.files()[0])]]
        if self.system == "windows":
            return [["schtasks", "/Delete", "/F", "/TN", WINDOWS_TASK]]
        return [["systemctl", "--user", "disable", "--now", f"{UNIT_NAME}.timer"]]

    def _activate(self) -> list[str]:
        return self._run_all(self._activation(), "started")

    def _deactivate(self) -> list[str]:
        return self._run_all(self._deactivation(), "stopped")

    def _run_all(self, commands: list[list[str]], what: str) -> list[str]:
        for command in commands:
            if not self.which(command[0]):
                return [f"{command[0]} is not available: the schedule was not {what}; run "
                        f"`{' '.join(commands[-1])}` where it is."]  # fmt: skip
            try:
                done = self.run(command)
            except (OSError, subprocess.SubprocessError) as exc:
                return [f"`{' '.join(command)}` could not run ({exc})."]
            if done.returncode != 0 and command[1] != "unload":  # unloading nothing is fine
                said = (done.stderr or done.stdout).strip()
                return [f"`{' '.join(command)}` failed ({said or done.returncode}); the "
                        f"schedule was not {what}."]  # fmt: skip
        return [f"The schedule was {what} ({' '.join(commands[-1])})."]
