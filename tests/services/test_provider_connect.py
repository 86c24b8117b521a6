"""Specification of choosing the server and app id for a connection: by a provider's name or
a typed FHIR address, with one client id kept per EHR vendor."""

from __future__ import annotations

from pathlib import Path

import pytest

from phr_desktop.services.client_ids import ClientIds
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.provider_connect import connect_target


def test_a_name_gives_the_fhir_base_and_vendor(tmp_path: Path) -> None:
    target = connect_target(tmp_path, provider="Mayo Clinic")
    assert target.vendor_code == "epic" and target.name == "Mayo Clinic"
    assert target.fhir_base.startswith("https://") and target.client_id is None
    with pytest.raises(ServiceError, match="registered with Epic"):
        target.require_client_id()


def test_a_client_id_given_once_serves_every_organisation_of_the_vendor(tmp_path: Path) -> None:
    connect_target(tmp_path, provider="Mayo Clinic", client_id="epic-app-1")
    other = connect_target(tmp_path, provider="Denver Health")
    assert other.vendor_code == "epic" and other.require_client_id() == "epic-app-1"
    assert ClientIds(tmp_path).all() == {"epic": "epic-app-1"}


def test_a_typed_address_of_a_listed_organisation_finds_its_vendor(tmp_path: Path) -> None:
    mayo = connect_target(tmp_path, provider="Mayo Clinic")
    ClientIds(tmp_path).set("epic", "epic-app-2")
    typed = connect_target(tmp_path, fhir_base=mayo.fhir_base.rstrip("/"))
    assert (typed.name, typed.vendor_code, typed.client_id) == ("Mayo Clinic", "epic", "epic-app-2")


def test_an_unlisted_address_needs_its_own_client_id(tmp_path: Path) -> None:
    target = connect_target(tmp_path, fhir_base="https://ehr.example.org/fhir")
    assert (target.vendor_code, target.client_id) == ("", None)
    with pytest.raises(ServiceError, match="--client-id"):
        target.require_client_id()
    given = connect_target(tmp_path, fhir_base="https://ehr.example.org/fhir", client_id="x")
    assert given.client_id == "x" and ClientIds(tmp_path).all() == {}


def test_a_damaged_settings_file_only_costs_a_question(tmp_path: Path) -> None:
    ids = ClientIds(tmp_path)
    ids.path.parent.mkdir(parents=True)
    ids.path.write_bytes(b"\x00not json")
    assert ids.get("epic") is None
    ids.set("epic", "again")
    assert ids.get("epic") == "again"
