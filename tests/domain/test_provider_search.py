"""Specification of find-as-you-type over the provider directory."""

from __future__ import annotations

from phr_desktop.domain.ehr_vendors import vendor_codes_matching
from phr_desktop.domain.provider_directory import Provider, parse_brands_bundle
from phr_desktop.domain.provider_search import ProviderIndex
from tests.domain.brands_fixtures import sample_bundle


def index() -> ProviderIndex:
    return ProviderIndex(parse_brands_bundle(sample_bundle()).providers)


def names(found: list[Provider]) -> list[str]:
    return [p.name for p in found]


def test_a_word_prefix_finds_the_organisation() -> None:
    assert names(index().search("may")) == ["Mayo Clinic"]
    # Denver Health by its name first, Mayo Clinic by its alias (Mayo Clinic Health System)
    assert names(index().search("HEALTH")) == ["Denver Health", "Mayo Clinic"]


def test_every_query_word_must_start_a_word_of_the_row() -> None:
    assert names(index().search("denv heal")) == ["Denver Health"]
    assert index().search("denv mayo") == []


def test_city_state_postal_code_alias_and_vendor_are_searched() -> None:
    assert names(index().search("denver co")) == ["Denver Health"]
    assert names(index().search("80204")) == ["Denver Health"]
    assert names(index().search("mayo system")) == ["Mayo Clinic"]
    assert names(index().search("cerner")) == ["Denver Health"]


def test_accents_and_case_are_ignored() -> None:
    assert names(index().search("clinica zoe")) == ["Clínica Zoë"]
    assert names(index().search("ZOË")) == ["Clínica Zoë"]


def test_test_systems_are_hidden_unless_asked_for() -> None:
    assert index().search("sandbox") == []
    assert names(index().search("sandbox", include_test_systems=True)) == ["Epic Sandbox"]


def test_the_vendor_filter_takes_a_code_or_a_name() -> None:
    assert names(index().search("clinic", vendor_filter="epic")) == ["Mayo Clinic"]
    assert names(index().search("", vendor_filter="Oracle")) == ["Denver Health"]
    assert vendor_codes_matching("healow") == {"ecw"}
    assert vendor_codes_matching("cerner") == {"oracle"}


def test_an_empty_query_finds_nothing_and_names_starting_with_it_come_first() -> None:
    assert index().search("   ") == []
    titles = ["The Children's Hospital", "Children's Hospital Colorado", "Children's Clinic"]
    providers = [Provider(n, f"https://x.example/{i}") for i, n in enumerate(titles)]
    found = names(ProviderIndex(providers).search("children"))
    assert found == ["Children's Clinic", "Children's Hospital Colorado", "The Children's Hospital"]


def test_results_are_limited() -> None:
    providers = [Provider(f"Clinic {i}", f"https://x.example/{i}") for i in range(300)]
    assert len(ProviderIndex(providers).search("clinic", limit=20)) == 20


def test_a_name_is_found_exactly_ignoring_case_and_spacing() -> None:
    assert names(index().named("  mayo   CLINIC ")) == ["Mayo Clinic"]
    assert names(index().named("Mayo Clinic Health System")) == ["Mayo Clinic"]
    assert index().named("Mayo") == []


def test_punctuation_in_names_does_not_change_the_ranking() -> None:
    titles = ["Hasbro Children's Hospital", "Children's Hospital Colorado"]
    providers = [Provider(n, f"https://x.example/{i}") for i, n in enumerate(titles)]
    found = names(ProviderIndex(providers).search("children's hosp"))
    assert found == ["Children's Hospital Colorado", "Hasbro Children's Hospital"]
