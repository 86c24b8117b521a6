"""`phr connect --provider NAME` end to end against the real SMART server: the directory (a
newer brands bundle loaded with `phr providers update`) gives the FHIR base and vendor, the
app id given once is kept for the vendor, and a second organisation of that vendor connects
without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

from phr_desktop.services.profiles import Profiles
from tests.conftest import PASSPHRASE
from tests.domain.brands_fixtures import brands_bundle, endpoint, organization
from tests.e2e.smart_login import CLIENT_ID, drive_login


def _sign_in_in_browser(url: str) -> None:
    httpx.get(drive_login(url), timeout=10)


def _connect(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "phr_desktop.cli", "--profile", "cli", "connect", *args,
         "--no-browser", "--timeout", "60"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Open: "), process.communicate(timeout=10)
        browser = threading.Thread(target=_sign_in_in_browser, args=(line[6:].strip(),))
        browser.start()
        out, err = process.communicate(timeout=60)
        browser.join(10)
        return process.returncode, out, err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_connect_by_provider_name_uses_the_directory_and_the_vendors_kept_app_id(
    data_dir: Path,
    profiles: Profiles,
    fast_kdf: None,
    start_smart_server: Any,
    synthea_seed: Path,
    tmp_path: Path,
) -> None:
    server = start_smart_server(synthea_seed)
    bundle = tmp_path / "brands.json"
    bundle.write_text(json.dumps(brands_bundle(
        endpoint("local", server.base, "smarthealthit"),
        organization("a", "Local Test Hospital", "local"),
        organization("b", "Local Test Clinic", "local"),
        timestamp="2030-01-01T00:00:00Z",
    )))  # fmt: skip
    profiles.create("cli", PASSPHRASE)[0].close()
    env = dict(os.environ, PHR_DATA_DIR=str(data_dir), PHR_PASSPHRASE=PASSPHRASE)
    update = subprocess.run(
        [sys.executable, "-m", "phr_desktop.cli", "providers", "update", str(bundle)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert update.returncode == 0, update.stderr

    code, out, err = _connect(env, "--provider", "local test hospital", "--client-id", CLIENT_ID)
    assert code == 0, err
    assert "Connected 'Local Test Hospital'" in out

    # The second organisation on the same vendor needs no --client-id: it was kept.
    code, out, err = _connect(env, "--provider", "Local Test Clinic")
    assert code == 0, err
    assert "Connected 'Local Test Clinic'" in out
    listed = subprocess.run(
        [sys.executable, "-m", "phr_desktop.cli", "--profile", "cli", "connections", "--json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    connections = {c["name"]: c["fhir_base"] for c in json.loads(listed.stdout)}
    assert connections == {"Local Test Hospital": server.base, "Local Test Clinic": server.base}
