"""The `phr` command: stable names, stable --json shapes, clear errors and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from phr_desktop.services.demo import DEMO_PASSPHRASE
from tests.cli_runner import cli_runner

RECORD_KEYS = {
    "id",
    "kind",
    "category",
    "title",
    "date",
    "date_precision",
    "value",
    "value_text",
    "unit",
    "reference_range",
    "interpretation",
    "codes",
    "tags",
    "status",
    "source_system",
    "facility",
    "resource_type",
    "resource_id",
    "quality",
    "sensitivity",
    "source_sensitivity",
    "shared_in",
}


@pytest.fixture
def phr(
    data_dir: Path,
    fast_kdf: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):  # type: ignore[no-untyped-def]
    return cli_runner(monkeypatch, capsys, data_dir, DEMO_PASSPHRASE)


def _json(out: str) -> Any:
    return orjson.loads(out)


def test_demo_then_records_search_timeline_and_milestones(phr) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = phr("demo", "--json")
    assert code == 0 and _json(out)["created"] is True
    code, out, _ = phr("--profile", "demo", "records", "--json")
    records = _json(out)
    assert code == 0 and len(records) > 400 and set(records[0]) == RECORD_KEYS | {"sources"}
    dates = [r["date"] for r in records if r["date"]]
    assert dates == sorted(dates, key=lambda d: d[:19], reverse=True)

    code, out, _ = phr(
        "records",
        "--profile",
        "demo",
        "--kind",
        "immunization,allergy",
        "--since",
        "2020",
        "--json",
    )
    kinds = {r["kind"] for r in _json(out)}
    assert kinds == {"immunization"} or kinds == {"immunization", "allergy"}
    assert all(r["date"] >= "2020" for r in _json(out))

    code, out, _ = phr("--profile", "demo", "search", "panlobular", "emphysema", "--json")
    assert code == 0 and any(r["kind"] == "imaging" for r in _json(out))

    code, out, _ = phr("--profile", "demo", "timeline", "--json")
    years = _json(out)
    assert [y["year"] for y in years][:3] == ["2025", "2024", "2023"]
    assert sum(y["total"] for y in years) == len(records)

    code, out, _ = phr("--profile", "demo", "milestones", "--json")
    result = _json(out)
    kinds = [m["kind"] for m in result["milestones"]]
    for expected in (
        "copd_diagnosis",
        "aatd_diagnosis",
        "fev1_decline",
        "augmentation_start",
        "augmentation_change",
        "hospitalisation",
        "surgery",
    ):
        assert expected in kinds
    assert result["fev1_slope_ml_per_year"] < 0


def test_running_demo_twice_changes_nothing(phr) -> None:  # type: ignore[no-untyped-def]
    phr("demo")
    code, out, _ = phr("demo", "--json")
    assert code == 0 and _json(out)["created"] is False
    code, out, _ = phr(
        "--profile",
        "demo",
        "import",
        "--json",
        str(Path(__file__).parent.parent / "resources" / "demo"),
    )
    assert _json(out)["totals"]["new"] == 0


def test_profile_create_list_and_delete(phr, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = phr("profile", "create", "mum", "--json")
    assert code == 0 and len(_json(out)["recovery_key"].split("-")) == 8
    code, out, _ = phr("profile", "list", "--json")
    assert _json(out) == {"profiles": ["mum"]}
    code, out, _ = phr("profile", "delete", "mum", "--yes")
    assert code == 0 and "trash" in out
    assert _json(phr("profile", "list", "--json")[1]) == {"profiles": []}
    assert list((data_dir / "trash").iterdir())


def test_a_wrong_passphrase_exits_1_with_a_message(phr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    phr("profile", "create", "mum")
    monkeypatch.setenv("PHR_PASSPHRASE", "wrong")
    code, out, err = phr("--profile", "mum", "unlock")
    assert code == 1 and "does not unlock" in err and out == ""


def test_unlocking_with_the_recovery_key(phr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    _, out, _ = phr("profile", "create", "mum", "--json")
    monkeypatch.setenv("PHR_PASSPHRASE", "forgotten")
    monkeypatch.setenv("PHR_RECOVERY_KEY", _json(out)["recovery_key"])
    code, out, _ = phr("--profile", "mum", "unlock", "--json")
    assert code == 0 and _json(out)["unlocked"] is True


def test_passphrase_change_from_the_command_line(phr, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    phr("profile", "create", "mum")
    monkeypatch.setenv("PHR_NEW_PASSPHRASE", "brand new words")
    assert phr("--profile", "mum", "profile", "passwd")[0] == 0
    assert phr("--profile", "mum", "unlock")[0] == 1
    monkeypatch.setenv("PHR_PASSPHRASE", "brand new words")
    assert phr("--profile", "mum", "unlock")[0] == 0


def test_an_unparseable_file_gives_exit_3_and_names_file_and_line(phr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    phr("profile", "create", "mum")
    bad = tmp_path / "labs.json"
    bad.write_text('{"resourceType": "Observation",\n"id": }')
    code, _, err = phr("--profile", "mum", "import", str(bad))
    assert code == 3 and "labs.json" in err and "line 2" in err


def test_several_profiles_need_profile_named(phr) -> None:  # type: ignore[no-untyped-def]
    phr("profile", "create", "mum")
    phr("profile", "create", "dad")
    code, _, err = phr("records")
    assert code == 1 and "--profile" in err


def test_vault_check_and_audit_verify(phr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    phr("demo")
    code, out, _ = phr("--profile", "demo", "vault", "check", "--json")
    report = _json(out)
    assert code == 0 and report["ok"] and report["cipher_version"].startswith("4.")
    code, out, _ = phr("--profile", "demo", "audit", "--verify", "--json")
    result = _json(out)
    assert code == 0 and result["verify"]["ok"]
    assert {"create", "import", "unlock"} <= {e["action"] for e in result["entries"]}
    code, out, _ = phr("--profile", "demo", "vault", "backup", str(tmp_path / "backup"))
    assert code == 0 and (tmp_path / "backup" / "vault.db").exists()


def test_without_a_passphrase_and_no_terminal_it_says_how_to_give_one(
    data_dir: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHR_")}
    env["PHR_DATA_DIR"] = str(data_dir)
    data_dir.joinpath("profiles", "mum").mkdir(parents=True)
    data_dir.joinpath("profiles", "mum", "header.json").write_text("{}")
    result = subprocess.run(
        [sys.executable, "-m", "phr_desktop.cli", "--profile", "mum", "records"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1 and "PHR_PASSPHRASE" in result.stderr


def test_help_names_every_documented_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "phr_desktop.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for command in (
        "profile",
        "unlock",
        "import",
        "records",
        "search",
        "timeline",
        "milestones",
        "vault",
        "demo",
        "audit",
        "reindex",
    ):
        assert command in result.stdout


def test_a_profile_open_elsewhere_is_not_deleted(phr, profiles, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    phr("profile", "create", "mum")
    with profiles.unlock("mum", passphrase=DEMO_PASSPHRASE):
        code, _, err = phr("profile", "delete", "mum", "--yes")
    assert code == 1 and "open in another window" in err
    assert (data_dir / "profiles" / "mum" / "header.json").exists()


def test_export_fhir_ips_and_research_csv_from_the_command_line(phr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from fhir.resources.R4B.bundle import Bundle

    phr("demo")
    for fmt in ("fhir", "ips"):
        target = tmp_path / f"{fmt}.json"
        code, out, _ = phr(
            "--profile", "demo", "export", "--format", fmt, "-o", str(target), "--json"
        )
        assert code == 0 and _json(out)["file"] == str(target)
        bundle = orjson.loads(target.read_bytes())
        assert bundle["type"] == ("collection" if fmt == "fhir" else "document")
        if fmt == "ips":
            Bundle.model_validate(bundle)
    csv_path = tmp_path / "registry.csv"
    code, _, err = phr(
        "--profile", "demo", "export", "--format", "csv", "--deidentify", "-o", str(csv_path)
    )
    assert code == 0 and "not shifted" in err
    assert "Doyle" not in csv_path.read_text()
    code, _, err = phr(
        "--profile", "demo", "export", "--format", "fhir", "--deidentify", "-o", str(tmp_path / "x")
    )
    assert code == 1 and "research CSV only" in err
    assert not (tmp_path / "x").exists()


IDENTITY = Path(__file__).parent / "data" / "identity"


def test_import_holds_another_persons_file_with_exit_3_and_imports_it_with_same_person(
    phr,  # type: ignore[no-untyped-def]
) -> None:
    phr(
        "profile", "create", "rebecca",
        "--person-name", "Larson, Rebecca", "--birth-date", "1970-05-01",
    )  # fmt: skip
    karen = str(IDENTITY / "karen_mckiney_successehs.xml")
    rebecca = str(IDENTITY / "rebecca_larson_ipatientcare.xml")
    code, out, _ = phr("--profile", "rebecca", "import", "--json", karen, rebecca)
    files = _json(out)["files"]
    assert code == 3
    assert files[0]["status"] == "other_person"
    assert files[0]["incoming"] == {"name": "KAREN JONES MCKINEY", "birth_date": "1970-05-01"}
    assert files[0]["profile_person"] == {"name": "Rebecca Larson", "birth_date": "1970-05-01"}
    assert "family name" in files[0]["reason"]
    assert files[1]["status"] == "imported"

    code, _, err = phr("--profile", "rebecca", "import", karen)
    assert code == 3 and "KAREN JONES MCKINEY" in err and "Rebecca Larson" in err

    code, out, _ = phr("--profile", "rebecca", "import", "--same-person", "--json", karen)
    assert code == 0 and _json(out)["files"][0]["status"] == "imported"
    code, out, _ = phr("--profile", "rebecca", "person", "--json")
    person = _json(out)["person"]
    assert person["name"] == "Rebecca Larson" and person["birth_date"] == "1970-05-01"
    assert {"name": "KAREN JONES MCKINEY", "birth_date": "1970-05-01"} in person["aliases"]


def test_records_json_names_every_source_of_a_fact_and_split_keeps_two_apart(phr) -> None:  # type: ignore[no-untyped-def]
    phr("profile", "create", "rebecca")
    code, _, _ = phr(
        "--profile", "rebecca", "import",
        str(IDENTITY / "rebecca_larson_ipatientcare.xml"),
        str(IDENTITY / "rebecca_larson_mckesson.xml"),
    )  # fmt: skip
    assert code == 0
    code, out, _ = phr("--profile", "rebecca", "records", "--kind", "problem", "--json")
    shared = [r for r in _json(out) if len(r["sources"]) == 2]
    assert shared, "problems both EHRs list are one record with two sources"
    record = shared[0]
    assert any("mckesson" in s for s in record["sources"])

    code, out, _ = phr("--profile", "rebecca", "split", str(record["id"]), "--json")
    fact = _json(out)
    assert code == 0 and fact[0]["id"] == record["id"] and len(fact) == 2
    other = fact[1]["id"]
    code, _, _ = phr("--profile", "rebecca", "split", str(record["id"]), str(other))
    assert code == 0
    code, out, _ = phr("--profile", "rebecca", "records", "--kind", "problem", "--json")
    assert other in {r["id"] for r in _json(out)}
    code, _, _ = phr("--profile", "rebecca", "split", str(record["id"]), str(other), "--undo")
    code, out, _ = phr("--profile", "rebecca", "records", "--kind", "problem", "--json")
    assert other not in {r["id"] for r in _json(out)}
    code, _, err = phr("--profile", "rebecca", "split", "999999")
    assert code == 1 and "no record 999999" in err


def test_export_wallet_writes_the_emergency_card_to_cut_out(phr, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from pypdf import PdfReader

    phr("demo")
    target = tmp_path / "card.pdf"
    code, out, _ = phr(
        "--profile", "demo", "export", "--format", "wallet", "-o", str(target), "--json"
    )  # fmt: skip
    assert code == 0 and _json(out)["file"] == str(target)
    text = " ".join(PdfReader(target).pages[0].extract_text().split())
    assert "Emergency wallet card: Margaret Ellen Doyle" in text
    assert "EMERGENCY MEDICAL INFORMATION" in text and "Pi*ZZ" in text
