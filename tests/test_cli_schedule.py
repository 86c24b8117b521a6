"""`phr schedule` and `phr sync --scheduled`: a daily sync installed for the user, in the OS's
own format, written under a HOME and XDG_CONFIG_HOME that point at a tmp folder."""

from __future__ import annotations

import plistlib
import shutil
from pathlib import Path

import orjson
import pytest
from lxml import etree

from phr_desktop.services.demo import DEMO_PASSPHRASE
from phr_desktop.services.os_schedule import (
    launchd_plist,
    sync_command,
    systemd_units,
    windows_task_xml,
)
from phr_desktop.services.profiles import Profiles
from tests.cli_runner import cli_runner


@pytest.fixture
def phr(
    data_dir: Path,
    fast_kdf: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):  # type: ignore[no-untyped-def]
    home = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    run = cli_runner(monkeypatch, capsys, data_dir, DEMO_PASSPHRASE, env=home)
    # No key is remembered on this device (the keyring holds none for the profile).
    monkeypatch.setattr("phr_desktop.services.profiles.recall_data_key", lambda _id: None)
    monkeypatch.setattr("phr_desktop.services.scheduled_sync.recall_data_key", lambda _id: None)

    assert run("demo")[0] == 0
    return run


def test_enable_writes_a_checked_systemd_user_timer_and_disable_removes_it(
    phr, tmp_path: Path, data_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    units = tmp_path / "config" / "systemd" / "user"
    code, out, err = phr("schedule", "enable", "--no-activate", "--profile", "demo", "--json")
    assert code == 0, err
    state = orjson.loads(out)
    assert state["installed"] and state["profile"] == "demo" and state["remembered"] is False
    assert sorted(Path(p).name for p in state["files"]) == [
        "phr-desktop-sync.service",
        "phr-desktop-sync.timer",
    ]
    service = (units / "phr-desktop-sync.service").read_text()
    timer = (units / "phr-desktop-sync.timer").read_text()
    assert '"sync" "--scheduled" "--profile" "demo"' in service
    assert f'"--data-dir" "{data_dir}"' in service
    assert "OnCalendar=daily" in timer and "Persistent=true" in timer
    if shutil.which("systemd-analyze"):
        assert "Checked with systemd-analyze verify." in state["messages"]
    assert "systemctl --user enable --now phr-desktop-sync.timer" in " ".join(state["messages"])

    code, out, _ = phr("schedule", "status")
    assert code == 0 and "A daily sync is set up (linux)" in out

    code, out, _ = phr("schedule", "disable", "--no-activate")
    assert code == 0 and "Removed" in out
    assert not list(units.iterdir())
    assert "No daily sync is set up" in phr("schedule", "status")[1]


def test_enable_says_when_the_profile_is_not_remembered(phr) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = phr("schedule", "enable", "--no-activate", "--profile", "demo")
    assert code == 0
    assert "not remembered on this device" in err and "phr profile remember" in err


def test_a_scheduled_sync_without_a_remembered_key_fails_cleanly_and_leaves_a_marker(
    phr, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("PHR_PASSPHRASE")  # a timer has no one to type it
    code, out, err = phr("sync", "--scheduled", "--profile", "demo")
    assert code == 1 and out == ""
    assert "could not unlock profile 'demo' without you" in err
    assert "Traceback" not in err
    marker = Profiles(data_dir).path("demo") / "scheduled-sync-problem.json"
    assert orjson.loads(marker.read_bytes())["problem"] == "no_remembered_key"


def test_a_connection_schedule_is_set_from_the_command_line(phr) -> None:  # type: ignore[no-untyped-def]
    code, _out, err = phr("schedule", "set", "Nowhere", "weekly")
    assert code == 1 and "no connection named 'Nowhere'" in err
    with pytest.raises(SystemExit) as refused:  # argparse names the choices
        phr("schedule", "set", "Nowhere", "hourly")
    assert refused.value.code == 2


def test_the_launchd_agent_and_the_windows_task_are_well_formed() -> None:
    command = sync_command("Alex O'Neil", Path("/data/phr folder"))
    plist = plistlib.loads(launchd_plist(command))
    assert plist["ProgramArguments"] == command
    assert plist["StartCalendarInterval"] == {"Hour": 9, "Minute": 0}
    xml = windows_task_xml(command).encode("utf-16")
    task = etree.fromstring(xml)
    ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
    assert task.findtext(".//t:Exec/t:Command", namespaces=ns) == command[0]
    arguments = task.findtext(".//t:Exec/t:Arguments", namespaces=ns)
    assert '"Alex O\'Neil"' in arguments and '"/data/phr folder"' in arguments
    assert task.findtext(".//t:DaysInterval", namespaces=ns) == "1"


def test_systemd_words_are_quoted_so_spaces_and_percent_signs_survive() -> None:
    service = systemd_units(["/opt/py thon", "100%", "$HOME"], "p")["phr-desktop-sync.service"]
    assert 'ExecStart="/opt/py thon" "100%%" "$$HOME"' in service


def test_connections_show_the_schedule_and_the_same_warnings_as_the_notices(
    phr, data_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    from phr_desktop.vault.connections import ConnectionStore
    from phr_desktop.vault.database import transaction

    session = Profiles(data_dir).unlock("demo", passphrase=DEMO_PASSPHRASE)
    with session, transaction(session.vault.conn):
        source_id = session.store.ensure_source("smart", "Riverside", {})
        store = ConnectionStore(session.vault.conn)
        cid = store.add("Riverside", "https://x.test/fhir", "app", source_id, "p", "s", {})
        store.update(cid, status="expired")
    code, out, _ = phr("connections", "--profile", "demo", "--json")
    assert code == 0
    (riverside,) = orjson.loads(out)
    reconnect = "Riverside: the provider refused to renew access. Reconnect to keep syncing."
    assert riverside["schedule"] == "daily" and riverside["notices"] == [reconnect]
    assert phr("schedule", "set", "Riverside", "weekly", "--profile", "demo")[0] == 0
    code, out, _ = phr("connections", "--profile", "demo")
    assert "syncs weekly" in out and f"! {reconnect}" in out


@pytest.mark.parametrize(
    ("platform", "relative_file", "start", "stop"),
    [
        ("linux", "config/systemd/user/phr-desktop-sync.timer",
         "systemctl --user enable --now phr-desktop-sync.timer",
         "systemctl --user disable --now phr-desktop-sync.timer"),
        ("darwin", "home/Library/LaunchAgents/org.phr-desktop.sync.plist",
         "launchctl load", "launchctl unload"),
        ("win32", "local/phr-desktop/phr-desktop-sync.xml",
         "schtasks /Create /F /TN phr-desktop sync /XML",
         "schtasks /Delete /F /TN phr-desktop sync"),
    ],
)  # fmt: skip
def test_each_os_gets_its_files_and_its_own_tool_to_start_and_stop_them(
    tmp_path: Path, platform: str, relative_file: str, start: str, stop: str
) -> None:
    import subprocess

    from phr_desktop.services.os_schedule import OsScheduler

    ran: list[str] = []

    def run(command):  # type: ignore[no-untyped-def]
        ran.append(" ".join(command))
        return subprocess.CompletedProcess(command, 0, "", "")

    environ = {
        "HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "LOCALAPPDATA": str(tmp_path / "local"),
    }  # fmt: skip
    scheduler = OsScheduler(platform, environ, run, which=lambda name: f"/usr/bin/{name}")
    state = scheduler.enable("alex", tmp_path / "data")
    assert (tmp_path / relative_file).is_file() and scheduler.status().installed
    assert any(r.startswith(start) for r in ran), ran
    assert state.messages[-1].startswith("The schedule was started")
    ran.clear()
    scheduler.disable()
    assert any(r.startswith(stop) for r in ran), ran
    assert not (tmp_path / relative_file).exists() and not scheduler.status().installed


def test_a_scheduled_sync_leaves_a_profile_open_in_the_app_to_the_app(phr, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    with Profiles(data_dir).unlock("demo", passphrase=DEMO_PASSPHRASE):  # the app has it open
        code, out, err = phr("sync", "--scheduled", "--profile", "demo")
    assert code == 0 and err == ""
    assert "open in phr-desktop, which syncs it while it runs" in out
    assert not (Profiles(data_dir).path("demo") / "scheduled-sync-problem.json").exists()
