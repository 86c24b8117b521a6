"""`phr connect` to a remote plain-http address says why it is refused, without a traceback,
and stores nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from phr_desktop.cli import main
from phr_desktop.services.profiles import Profiles
from tests.conftest import PASSPHRASE


def test_connect_refuses_a_remote_http_address_with_a_message(
    data_dir: Path,
    profiles: Profiles,
    fast_kdf: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    profiles.create("p", PASSPHRASE)[0].close()
    monkeypatch.setenv("PHR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PHR_PASSPHRASE", PASSPHRASE)
    code = main(
        ["--profile", "p", "connect", "http://ehr.example/fhir", "--client-id", "app",
         "--no-browser", "--timeout", "1"]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code != 0
    assert "plain http" in err and "https" in err and "Traceback" not in err + out
    assert "Open:" not in out  # no sign-in page was offered
    monkeypatch.setenv("PHR_PASSPHRASE", PASSPHRASE)
    assert main(["--profile", "p", "connections", "--json"]) == 0
    assert capsys.readouterr().out.strip() == "[]"
