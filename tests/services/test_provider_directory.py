"""Specification of the shipped provider directory and of loading a newer brands bundle."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phr_desktop.services.errors import ServiceError
from phr_desktop.services.provider_directory import ProviderDirectory
from tests.domain.brands_fixtures import sample_bundle


@pytest.fixture
def directory(tmp_path: Path) -> ProviderDirectory:
    return ProviderDirectory(tmp_path / "data")


def test_the_shipped_directory_holds_every_organisation_and_athena_practice(
    directory: ProviderDirectory,
) -> None:
    providers = directory.index().providers
    # ../shared/directory/README.md: 13,847 organisations + 7 sandboxes, 20,811 athena practices
    assert sum(not p.test_system for p in providers) == 13_847 + 20_811
    assert sum(p.test_system for p in providers) == 7
    assert directory.info().timestamp == "2026-08-22T05:50:45Z"
    assert directory.info().updated_file is None


def test_mayo_and_denver_are_found_with_their_fhir_base(directory: ProviderDirectory) -> None:
    mayo = directory.search("mayo")[0]
    assert (mayo.name, mayo.vendor) == ("Mayo Clinic", "epic")
    assert mayo.fhir_base.startswith("https://")
    assert any(p.name == "Denver Health" for p in directory.search("denver"))
    oracle_in_denver = directory.search("denver", vendor="oracle")
    assert oracle_in_denver and all(p.vendor == "oracle" for p in oracle_in_denver)
    assert all(p.city.casefold() == "denver" or "denver" in p.name.casefold()
               for p in oracle_in_denver)  # fmt: skip


def test_sandboxes_appear_only_when_asked_for(directory: ProviderDirectory) -> None:
    assert not any(p.test_system for p in directory.search("sandbox"))
    assert any(p.test_system for p in directory.search("sandbox", include_test_systems=True))


def test_a_name_names_one_provider_or_says_why_not(directory: ProviderDirectory) -> None:
    assert directory.named("mayo clinic").vendor == "epic"
    with pytest.raises(ServiceError, match=r"No provider is called 'Mayo Clinik'.*Did you mean"):
        directory.named("Mayo Clinik")


def test_a_known_fhir_address_gives_its_vendor(directory: ProviderDirectory) -> None:
    mayo = directory.named("Mayo Clinic")
    found = directory.for_base(mayo.fhir_base.rstrip("/").upper().replace("HTTPS", "https"))
    assert found is not None and found.vendor == "epic"
    assert directory.for_base("https://unknown.example/fhir") is None


def test_a_newer_bundle_replaces_the_shipped_brands_and_keeps_athena(
    directory: ProviderDirectory, tmp_path: Path
) -> None:
    bundle = tmp_path / "brands.json"
    bundle.write_text(json.dumps(sample_bundle("2027-03-01T00:00:00Z")))
    report = directory.update_from_file(bundle)
    assert report.organisations == 4 and report.skipped == 1  # the plain-http one left out
    assert directory.info().updated_file == report.path
    assert directory.info().timestamp == "2027-03-01T00:00:00Z"
    assert [p.name for p in directory.search("denver", vendor="oracle")] == ["Denver Health"]
    assert directory.search("mayo clinic")[0].fhir_base == "https://fhir.mayo.example/api/FHIR/R4/"
    assert len(directory.search("athenahealth", vendor="athena", limit=5)) == 5


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{not json", "is not JSON"),
        (b'{"resourceType": "Patient"}', "not a FHIR Bundle"),
        (json.dumps(sample_bundle("2020-01-01T00:00:00Z")).encode(), "older than the directory"),
    ],
)
def test_a_bad_or_older_bundle_changes_nothing(
    directory: ProviderDirectory, tmp_path: Path, content: bytes, says: str
) -> None:
    before = directory.info()
    bundle = tmp_path / "brands.json"
    bundle.write_bytes(content)
    with pytest.raises(ServiceError, match=f"{says}.*[Nn]othing changed"):
        directory.update_from_file(bundle)
    assert directory.info() == before
    assert not directory.updated_file.exists()


def test_a_missing_file_is_named(directory: ProviderDirectory, tmp_path: Path) -> None:
    with pytest.raises(ServiceError, match="There is no file"):
        directory.update_from_file(tmp_path / "nope.json")
