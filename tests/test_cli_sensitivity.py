"""`phr label`, `--include-restricted`, and the `sensitivity` and `shared_in` fields of
`records --json`: restricted records stay out of `phr` output unless asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from phr_desktop.services.demo import DEMO_PASSPHRASE
from tests.cli_runner import cli_runner

CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"


@pytest.fixture
def phr(data_dir: Path, fast_kdf: None, monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path):  # type: ignore[no-untyped-def]
    run = cli_runner(monkeypatch, capsys, data_dir, DEMO_PASSPHRASE)
    assert run("profile", "create", "alex")[0] == 0
    bundle = tmp_path / "labs.json"
    bundle.write_bytes(
        orjson.dumps(
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [
                    {"resource": _lab("hiv", "HIV screen", "R")},
                    {"resource": _lab("glucose", "Glucose level", None)},
                ],
            }
        )
    )
    assert run("--profile", "alex", "import", str(bundle))[0] == 0
    return run


def _lab(rid: str, title: str, security: str | None) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"text": title},
        "effectiveDateTime": "2024-03-01",
        "valueString": "negative",
    }
    if security:
        resource["meta"] = {"security": [{"system": CONFIDENTIALITY, "code": security}]}
    return resource


def _titles(out: str) -> dict[str, dict[str, Any]]:
    return {r["title"]: r for r in orjson.loads(out)}


def test_records_and_search_leave_restricted_out_unless_asked(phr) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = phr("--profile", "alex", "records", "--json")
    assert code == 0 and set(_titles(out)) == {"Glucose level"}
    code, out, _ = phr("--profile", "alex", "records", "--json", "--include-restricted")
    found = _titles(out)
    assert found["HIV screen"]["sensitivity"] == "restricted"
    assert found["Glucose level"]["sensitivity"] == "normal"
    assert found["Glucose level"]["shared_in"] == []
    _, out, _ = phr("--profile", "alex", "search", "HIV", "--json")
    assert "HIV screen" not in _titles(out)
    _, out, _ = phr("--profile", "alex", "search", "HIV", "--json", "--include-restricted")
    assert "HIV screen" in _titles(out)
    code, out, _ = phr("--profile", "alex", "records")
    assert "HIV" not in out


def test_label_sets_the_level_and_an_unknown_record_is_a_clear_error(phr) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = phr("--profile", "alex", "records", "--json")
    glucose = _titles(out)["Glucose level"]["id"]
    code, out, _ = phr("--profile", "alex", "label", str(glucose), "--sensitivity", "restricted")
    assert code == 0 and "labelled restricted" in out
    _, out, _ = phr("--profile", "alex", "records", "--json")
    assert orjson.loads(out) == []
    code, _, err = phr("--profile", "alex", "label", "9999", "--sensitivity", "sensitive")
    assert code != 0 and "no record 9999" in err and "Traceback" not in err


def test_a_share_and_an_export_say_how_many_restricted_were_left_out_and_list_who(
    phr, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = phr(
        "--profile", "alex", "share", "create", "--for", "Mum", "--recipient-type",
        "family_member", "--view-only", "-o", str(tmp_path / "s.phrshare"), "--json",
    )  # fmt: skip
    made = orjson.loads(out)
    assert code == 0 and made["records"] == 1 and made["restricted_left_out"] == 1
    assert made["recipient_type"] == "family_member" and made["view_only"] is True
    _, out, _ = phr("--profile", "alex", "records", "--json", "--include-restricted")
    found = _titles(out)
    assert found["HIV screen"]["shared_in"] == []
    (entry,) = found["Glucose level"]["shared_in"]
    assert entry["share_id"] == made["id"]
    assert (entry["recipient"], entry["recipient_type"], entry["status"]) == (
        "Mum", "family_member", "active",
    )  # fmt: skip
    assert set(entry) == {"share_id", "recipient", "recipient_type", "expires", "status"}
    code, out, _ = phr(
        "--profile", "alex", "export", "--format", "fhir", "-o", str(tmp_path / "e.json")
    )
    assert code == 0 and "1 restricted record(s) were left out" in out
    assert b"HIV screen" not in (tmp_path / "e.json").read_bytes()


def test_share_open_of_a_view_only_share_says_so_and_refuses_to_save_files(
    phr, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = phr(
        "--profile", "alex", "share", "create", "--view-only", "--for", "Dr Rivera",
        "-o", str(tmp_path / "v.phrshare"), "--json",
    )  # fmt: skip
    monkeypatch.setenv("PHR_SHARE_KEY", orjson.loads(out)["key"])
    code, out, _ = phr("share", "open", str(tmp_path / "v.phrshare"), "--json")
    assert code == 0 and orjson.loads(out)["view_only"] is True
    code, _, err = phr(
        "share", "open", str(tmp_path / "v.phrshare"), "--save-files", str(tmp_path / "files")
    )
    assert code != 0 and "View only" in err and "Traceback" not in err
    assert not (tmp_path / "files").exists()
