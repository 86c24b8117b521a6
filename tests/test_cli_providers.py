"""Specification of `phr providers` (search, update, vendors, client-id) and of
`phr connect --provider` choosing the server and the vendor's app id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phr_desktop.cli import main
from tests.domain.brands_fixtures import sample_bundle


@pytest.fixture(autouse=True)
def _data_dir(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHR_DATA_DIR", str(data_dir))


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> object:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_search_lists_name_city_state_vendor_and_fhir_base(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = run_json(capsys, "providers", "search", "mayo", "clinic")
    assert isinstance(rows, list)
    assert rows[0]["name"] == "Mayo Clinic"
    assert set(rows[0]) == {"name", "city", "state", "vendor", "fhir_base"}
    assert rows[0]["vendor"] == "epic" and rows[0]["fhir_base"].startswith("https://")


def test_search_by_city_and_vendor(capsys: pytest.CaptureFixture[str]) -> None:
    rows = run_json(capsys, "providers", "search", "denver", "--vendor", "oracle")
    assert rows and all(r["vendor"] == "oracle" for r in rows)
    assert any(r["city"] == "Denver" and r["state"] == "CO" for r in rows)


def test_search_without_a_match_says_what_to_try(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "search", "zzqqxx"]) == 0
    assert "No provider matches" in capsys.readouterr().out


def test_update_loads_a_newer_bundle_and_search_uses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "brands.json"
    bundle.write_text(json.dumps(sample_bundle("2027-05-01T00:00:00Z")))
    report = run_json(capsys, "providers", "update", str(bundle))
    assert report["organisations"] == 4  # type: ignore[index]
    rows = run_json(capsys, "providers", "search", "mayo", "clinic", "--vendor", "epic")
    assert [r["fhir_base"] for r in rows] == ["https://fhir.mayo.example/api/FHIR/R4/"]  # type: ignore[union-attr]


def test_update_with_a_file_that_is_not_a_bundle_says_so_and_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceType": "Patient", "id": "x"}')
    assert main(["providers", "update", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "not a FHIR Bundle" in err and "Nothing changed" in err and "Traceback" not in err
    rows = run_json(capsys, "providers", "search", "mayo", "clinic")
    assert rows[0]["fhir_base"] != "https://fhir.mayo.example/api/FHIR/R4/"  # type: ignore[index]


def test_connect_by_name_without_an_app_id_explains_how_to_register(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # No profile exists: the missing app id is told before any passphrase is asked for.
    assert main(["connect", "--provider", "Mayo Clinic", "--no-browser"]) == 1
    err = capsys.readouterr().err
    assert "app id (client id) registered with Epic" in err
    assert "https://fhir.epic.com/Developer/Apps" in err and "--client-id" in err


def test_connect_needs_exactly_one_of_address_and_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connect", "https://x.example/fhir", "--provider", "Mayo Clinic"]) == 1
    assert "either a FHIR address or --provider NAME" in capsys.readouterr().err


def test_an_unknown_name_suggests_near_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["connect", "--provider", "Mayo Clinik"]) == 1
    assert "Did you mean: Mayo Clinic" in capsys.readouterr().err


def test_a_vendor_app_id_is_kept_once_for_every_organisation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["providers", "client-id", "epic", "my-epic-app"]) == 0
    capsys.readouterr()
    vendors = run_json(capsys, "providers", "vendors")
    epic = next(v for v in vendors if v["vendor"] == "epic")  # type: ignore[union-attr]
    assert epic["client_id"] == "my-epic-app"
    assert epic["registration_url"].startswith("https://")
    assert main(["providers", "client-id", "nosuchvendor", "x"]) == 1
    assert "There is no vendor 'nosuchvendor'" in capsys.readouterr().err
    assert main(["providers", "client-id", "epic", "has spaces in it"]) == 1
    assert "without spaces" in capsys.readouterr().err


def test_search_without_words_says_what_to_give(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["providers", "search"]) == 1
    assert "Give words of the provider's name" in capsys.readouterr().err
    rows = run_json(capsys, "providers", "search", "--vendor", "va")
    assert [r["vendor"] for r in rows] == ["va"]  # type: ignore[union-attr]
