"""Specification of dev.py installing the Debian packages of the X server and keyring tests:
only under CI (or when asked), as root with apt, and only what is missing."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def dev_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def dev(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = dev_module()
    monkeypatch.setattr(module.os, "geteuid", lambda: 0, raising=False)
    monkeypatch.setattr(module.sys, "platform", "linux")
    monkeypatch.setattr(module.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.delenv("PHR_SYSTEM_PACKAGES", raising=False)
    return module


def test_packages_are_installed_only_under_ci_or_when_asked(
    dev: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert not dev.system_packages_wanted()
    monkeypatch.setenv("CI", "true")
    assert dev.system_packages_wanted()
    monkeypatch.setenv("PHR_SYSTEM_PACKAGES", "0")
    assert not dev.system_packages_wanted()
    monkeypatch.delenv("CI")
    monkeypatch.setenv("PHR_SYSTEM_PACKAGES", "1")
    assert dev.system_packages_wanted()
    monkeypatch.setattr(dev.os, "geteuid", lambda: 1000, raising=False)
    assert not dev.system_packages_wanted()  # not root: never sudo, never asked


def test_only_missing_packages_are_installed_and_nothing_when_all_are_there(
    dev: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    installed = set(dev.CI_DEBIAN_PACKAGES) - {"xvfb", "gnome-keyring"}
    commands: list[list[str]] = []

    def fake_run(command: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        if command[0] == "dpkg-query":
            lines = [f"{p} install ok installed" for p in command[4:] if p in installed]
            return subprocess.CompletedProcess(command, 1, "\n".join(lines), "")
        installed.update(command[4:] if command[1] == "install" else [])
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(dev.subprocess, "run", fake_run)
    dev.ensure_system_packages()
    assert ["apt-get", "install", "-y", "-qq", "xvfb", "gnome-keyring"] in commands
    commands.clear()
    dev.ensure_system_packages()  # the second run finds everything installed
    assert [c[0] for c in commands] == ["dpkg-query"]
