"""'Remember on this device' against a real Secret Service (gnome-keyring on a private D-Bus
session bus), with keyrings.alt installed beside it as in the project's own .venv: the
profile is remembered in the Secret Service, unlocks from it, and nothing reaches
keyrings.alt's plaintext file.

Needs `dbus-run-session` and `gnome-keyring-daemon` (Debian: dbus-daemon, gnome-keyring);
`dev.py test` installs them under CI when running as root with apt. Elsewhere the test is
skipped, saying what is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = ("dbus-run-session", "gnome-keyring-daemon")

# Runs inside the private session: the keyring the app would see there, used as the app does.
PROBE = """
import json, sys
from pathlib import Path
import keyring
from keyring.backends import SecretService
from phr_desktop.services.profiles import Profiles
from phr_desktop.vault.keyring_store import SERVICE, _leaf_backends
from phr_desktop.vault.keys import KdfParams
from phr_desktop.vault.vault import Vault

data = Path(sys.argv[1])
chain = [type(b).__module__ for b in _leaf_backends(keyring.get_keyring())]
vault, _ = Vault.create(data / "profiles" / "anna", "a long passphrase", KdfParams.minimum())
with vault:
    vault.remember_on_device()
    profile_id = vault.header.profile_id
in_secret_service = SecretService.Keyring().get_password(SERVICE, profile_id) is not None
Profiles(data).unlock("anna", use_keyring=True).close()
from keyrings.alt.file import PlaintextKeyring
plaintext = Path(PlaintextKeyring().file_path)
print(json.dumps({"chain": chain, "in_secret_service": in_secret_service,
                  "plaintext_file": plaintext.exists(), "unlocked": True}))
"""


def test_remember_on_device_uses_the_secret_service_beside_keyrings_alt(tmp_path: Path) -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"{', '.join(missing)} not installed (Debian: apt-get install dbus-daemon "
            "gnome-keyring; `python3 dev.py test` installs them under CI as root)"
        )
    home, runtime = tmp_path / "home", tmp_path / "run"
    home.mkdir()
    runtime.mkdir(mode=0o700)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),  # a keyring of its own: the user's is never touched
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "PYTHONPATH": str(REPO),
    }
    script = (
        'printf "%s" "test keyring password" | gnome-keyring-daemon --unlock '
        '--components=secrets >/dev/null 2>&1; exec "$0" -c "$1" "$2"'
    )
    result = subprocess.run(
        ["dbus-run-session", "--", "sh", "-c", script, sys.executable, PROBE,
         str(tmp_path / "data")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    # The situation of the bug: an insecure keyrings.alt backend in the chain.
    assert "keyring.backends.SecretService" in report["chain"]
    assert any(module.startswith("keyrings.alt") for module in report["chain"])
    assert report["in_secret_service"] and report["unlocked"]
    assert not report["plaintext_file"]
