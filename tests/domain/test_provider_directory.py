"""Specification of reading a SMART User-access Brands bundle into providers, and of the
compact form the app ships them in."""

from __future__ import annotations

import pytest

from phr_desktop.domain.provider_directory import (
    DirectoryFormatError,
    from_compact,
    parse_brands_bundle,
    to_compact,
)
from tests.domain.brands_fixtures import brands_bundle, endpoint, organization, sample_bundle


def test_each_organisation_becomes_a_provider_on_its_endpoint() -> None:
    parsed = parse_brands_bundle(sample_bundle())
    by_name = {p.name: p for p in parsed.providers}
    denver = by_name["Denver Health"]
    assert (denver.city, denver.state, denver.postal_code) == ("Denver", "CO", "80204")
    assert denver.vendor == "oracle"
    assert denver.fhir_base == "https://fhir-myrecord.cerner.example/r4/denver/"
    assert by_name["Mayo Clinic"].aliases == ("Mayo Clinic Health System",)
    assert parsed.timestamp == "2027-01-01T00:00:00Z"


def test_a_sandbox_tag_marks_a_test_system() -> None:
    by_name = {p.name: p for p in parse_brands_bundle(sample_bundle()).providers}
    assert by_name["Epic Sandbox"].test_system
    assert not by_name["Mayo Clinic"].test_system


def test_plain_http_and_unresolved_endpoints_are_left_out_and_counted() -> None:
    bundle = sample_bundle()
    bundle["entry"].append(organization("o9", "Nowhere Clinic", "missing"))
    parsed = parse_brands_bundle(bundle)
    names = {p.name for p in parsed.providers}
    assert "Plain Clinic" not in names and "Nowhere Clinic" not in names
    assert parsed.skipped == 2


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ([], "not a FHIR Bundle"),
        ({"resourceType": "Patient"}, "not a FHIR Bundle"),
        ({"resourceType": "Bundle"}, "no entries"),
        (brands_bundle(endpoint("e", "http://x.example", "epic"), organization("o", "X", "e")),
         "no organisation with a usable https FHIR address"),
    ],
)  # fmt: skip
def test_what_is_not_a_brands_bundle_is_refused_with_the_reason(value: object, says: str) -> None:
    with pytest.raises(DirectoryFormatError, match=says):
        parse_brands_bundle(value)


def test_the_compact_form_gives_back_the_same_providers() -> None:
    parsed = parse_brands_bundle(sample_bundle())
    compact = to_compact(parsed.providers, parsed.timestamp)
    assert from_compact(compact) == parsed.providers
    assert compact["timestamp"] == parsed.timestamp


def test_a_shared_endpoint_is_stored_once_in_the_compact_form() -> None:
    bundle = brands_bundle(
        endpoint("e", "https://api.athena.example/fhir/r4", "athena"),
        *(organization(f"o{i}", f"Practice {i}", "e") for i in range(50)),
    )
    compact = to_compact(parse_brands_bundle(bundle).providers, "")
    assert compact["bases"] == ["https://api.athena.example/fhir/r4"]
    assert len(compact["rows"]) == 50


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"format": "something else"}, "not a phr-desktop provider directory"),
        ({"format": "phr-desktop provider directory", "version": 99}, "version 99"),
        ({"format": "phr-desktop provider directory", "version": 1, "bases": [], "rows": [[1]]},
         "damaged"),
    ],
)  # fmt: skip
def test_a_damaged_or_foreign_compact_file_is_refused(data: object, says: str) -> None:
    with pytest.raises(DirectoryFormatError, match=says):
        from_compact(data)
