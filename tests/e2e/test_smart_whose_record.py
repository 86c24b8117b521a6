"""A SMART sign-in or sync that opens another person's record stores nothing (issue 13),
against the real SMART server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from phr_desktop.domain.person_match import PersonName
from phr_desktop.services.person import OtherPersonError
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from tests.conftest import PASSPHRASE
from tests.e2e.test_smart_sync import CLIENT_ID, _browser


@pytest.fixture
def profile(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _ = profiles.create("e2e-person", PASSPHRASE)
    with session:
        yield session


def _seed_patient(seed: Path) -> dict[str, Any]:
    bundle = orjson.loads(seed.read_bytes())
    patient: dict[str, Any] = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    return patient


def _connect(session: Session, server: Any, **kw: Any) -> Any:
    return session.connections.connect(
        server.base, client_id=CLIENT_ID, name="Local SMART", open_url=_browser(), timeout=30,
        **kw,
    )  # fmt: skip


def _stored(session: Session, table: str) -> int:
    return int(session.vault.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_signing_in_as_another_patient_is_refused_and_nothing_is_stored(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    profile.person.set([PersonName(("Rebecca", "Jones"), "Larson")], "1970-05-01")
    server = start_smart_server(synthea_seed)
    with pytest.raises(OtherPersonError) as refused:
        _connect(profile, server)
    message = str(refused.value)
    synthea = _seed_patient(synthea_seed)
    assert synthea["name"][0]["family"] in message and "Rebecca Jones Larson" in message
    assert "Nothing from it was stored" in message
    for table in ("connections", "tokens", "raw_resources", "records"):
        assert _stored(profile, table) == 0, table


def test_the_first_sign_in_sets_the_person_and_same_person_confirms_an_alias(
    profile: Session, profiles: Profiles, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    person = profile.person.get()
    synthea = _seed_patient(synthea_seed)
    assert person is not None and person.person.birth_date == synthea["birthDate"]

    # A profile whose person goes by another name: "this is me" stores the connection.
    other, _ = profiles.create("renamed", PASSPHRASE)
    with other:
        other.person.set([PersonName(("Someone",), "Else")], synthea["birthDate"])
        with pytest.raises(OtherPersonError):
            _connect(other, server)
        connection = _connect(other, server, same_person=True)
        assert connection.patient_id == server.patient
        aliases = other.person.get().aliases  # type: ignore[union-attr]
        assert [a.name.family for a in aliases] == [synthea["name"][0]["family"]]


def test_a_sync_whose_patient_became_another_person_stores_nothing(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    patient = server.get_resource("Patient", server.patient)
    patient.pop("identifier", None)  # a shared identifier alone would say "the same person"
    server.put_resource(
        {**patient, "name": [{"given": ["Karen"], "family": "Mckiney"}], "birthDate": "1970-05-01"}
    )
    with pytest.raises(OtherPersonError, match="Karen Mckiney"):
        profile.connections.sync()
    assert _stored(profile, "raw_resources") == 0
