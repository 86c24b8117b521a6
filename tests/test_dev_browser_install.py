"""`dev.py test` installs Chromium for the browser viewer's tests under CI as root, only when
none is installed, and goes on (the tests then skip) when the install fails."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _dev() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev_script", ROOT / "dev.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def dev(monkeypatch: pytest.MonkeyPatch) -> tuple[ModuleType, list[list[str]]]:
    module = _dev()
    ran: list[list[str]] = []

    def run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(module.subprocess, "run", run)
    monkeypatch.setattr(module.sys, "platform", "linux")
    monkeypatch.setattr(module.os, "geteuid", lambda: 0, raising=False)
    monkeypatch.setenv("CI", "true")
    return module, ran


def _which(present: set[str]) -> Any:
    return lambda name: f"/usr/bin/{name}" if name in present else None


def test_installs_chromium_under_ci_when_missing(
    dev: tuple[ModuleType, list[list[str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, ran = dev
    monkeypatch.setattr(module.shutil, "which", _which({"apt-get"}))
    module.ensure_browser()
    assert ran == [
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
    ]


@pytest.mark.parametrize(
    ("present", "ci", "root"),
    [
        ({"apt-get", "chromium"}, "true", 0),  # already there: nothing to do
        ({"apt-get"}, "", 0),  # not CI: a developer's machine is left alone
        ({"apt-get"}, "true", 1000),  # not root: apt-get would fail
        (set(), "true", 0),  # no apt-get: not Debian-like
    ],
)
def test_does_nothing_otherwise(
    dev: tuple[ModuleType, list[list[str]]],
    monkeypatch: pytest.MonkeyPatch,
    present: set[str],
    ci: str,
    root: int,
) -> None:
    module, ran = dev
    monkeypatch.setattr(module.shutil, "which", _which(present))
    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(module.os, "geteuid", lambda: root, raising=False)
    module.ensure_browser()
    assert ran == []


def test_a_failed_install_is_reported_not_fatal(
    dev: tuple[ModuleType, list[list[str]]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    module, _ = dev
    monkeypatch.setattr(module.shutil, "which", _which({"apt-get"}))
    failed = subprocess.CompletedProcess(["apt-get"], 100, "", "E: Unable to locate package")
    monkeypatch.setattr(module.subprocess, "run", lambda *a, **k: failed)
    module.ensure_browser()
    out = capsys.readouterr().out
    assert "browser tests will be skipped" in out and "Unable to locate package" in out
    assert sys.modules.get("dev_script") is None
