"""Shared fixtures: real vaults in temporary folders; the KDF at its floor keeps tests fast."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.vault.keys import KdfParams

REPO = Path(__file__).resolve().parent.parent
DEMO_DIR = REPO / "resources" / "demo"
DATA = Path(__file__).resolve().parent / "data"
PASSPHRASE = "correct horse battery staple"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "phr-data"


@pytest.fixture
def profiles(data_dir: Path) -> Profiles:
    return Profiles(data_dir)


@pytest.fixture
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calibration would pick ~0.5 s per unlock; tests use the floor (64 MiB, 3 passes)."""
    monkeypatch.setattr("phr_desktop.vault.vault.calibrate_kdf", KdfParams.minimum)


@pytest.fixture
def session(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    created, _recovery = profiles.create("alex", PASSPHRASE)
    with created:
        yield created


@pytest.fixture
def demo_files() -> list[Path]:
    files = sorted(DEMO_DIR.glob("*.json"))
    assert files, "resources/demo is empty"
    return files
