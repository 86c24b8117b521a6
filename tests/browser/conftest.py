"""A real headless Chromium for the browser share viewer, one per test session."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

from tests.browser.chromium import Browser, Page, chromium, chromium_path


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if chromium_path() is None:
        pytest.skip(
            "Chromium is not installed (Debian: apt-get install chromium; `python3 dev.py "
            "test` installs it under CI when run as root)"
        )
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as running:
        yield running


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    tab = Page(browser)
    try:
        yield tab
    finally:
        tab.close()


AXE_DIR = Path(__file__).resolve().parent / "axe"


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script (tests/browser/axe, installed with `npm ci` from its lock file)."""
    wanted = hashlib.sha256((AXE_DIR / "package-lock.json").read_bytes()).hexdigest()
    marker = AXE_DIR / "node_modules" / ".phr-lock-hash"
    with FileLock(Path(tempfile.gettempdir()) / "phr-browser-axe-npm.lock", timeout=600):
        if not (marker.is_file() and marker.read_text().strip() == wanted):
            npm = shutil.which("npm")
            if npm is None:
                pytest.skip("npm is not installed, so axe-core cannot be (install Node.js)")
            done = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=AXE_DIR, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            if done.returncode != 0:
                pytest.fail(
                    f"npm ci failed in {AXE_DIR}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
                )
            marker.write_text(wanted + "\n")
    return (AXE_DIR / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
