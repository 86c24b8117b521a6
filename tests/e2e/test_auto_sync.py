"""Automatic sync against the real SMART server: due connections sync one after the other,
what arrived and what went wrong become notices, and no notice carries health data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from phr_desktop.services.notices import RESULT_KINDS, Notices
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.scheduled_sync import run_scheduled_sync
from phr_desktop.services.session import Session
from phr_desktop.services.sync_schedule import SyncSchedules
from tests.conftest import PASSPHRASE
from tests.e2e.test_smart_sync import _connect

NAME = "Local SMART"


@pytest.fixture
def profile(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _ = profiles.create("e2e", PASSPHRASE)
    with session:
        yield session


def _results(session: Session) -> int:
    marks = ", ".join("?" for _ in RESULT_KINDS)
    sql = f"SELECT count(*) FROM records WHERE kind IN ({marks})"
    return int(session.vault.conn.execute(sql, RESULT_KINDS).fetchone()[0])


def _health_words(session: Session) -> set[str]:
    rows = session.vault.conn.execute(
        "SELECT title, value_text, value_num, codes FROM records"
    ).fetchall()
    return {str(v) for row in rows for v in row if v not in (None, "", "[]") and len(str(v)) > 3}


def _assert_no_health_data(session: Session, texts: list[str]) -> None:
    words = _health_words(session)
    assert words
    for text in texts:
        assert not [w for w in words if w in text], text


def test_due_connections_sync_and_new_results_are_told_without_health_data(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    now = datetime.now(UTC)
    schedules = SyncSchedules(profile)
    assert schedules.due(now) == [NAME]  # never synced: due at once

    first = schedules.sync_due(now=now)
    assert list(first.reports) == [NAME] and not first.failures
    results = _results(profile)
    assert results > 0 and first.new_results == {NAME: results}
    texts = [n.text for n in Notices(profile).unshown()]
    assert texts == [f"{NAME}: {results} new results"]
    _assert_no_health_data(profile, texts)
    Notices(profile).mark_shown(Notices(profile).unshown())

    assert schedules.due(now + timedelta(hours=1)) == []  # synced: not due again today
    server.put_resource(
        {
            "resourceType": "Observation", "id": "auto-sync-new-glucose", "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                      "observation-category", "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}],
                     "text": "Glucose [Mass/volume] in Serum or Plasma"},
            "subject": {"reference": f"Patient/{server.patient}"},
            "effectiveDateTime": "2026-12-01T08:00:00Z",
            "valueQuantity": {"value": 187, "unit": "mg/dL"},
        }
    )  # fmt: skip
    second = schedules.sync_due(now=now + timedelta(days=1))
    assert second.new_results == {NAME: 1}
    texts = [n.text for n in Notices(profile).unshown()]
    assert texts == [f"{NAME}: 1 new result"]
    for health in ("Glucose", "187", "2345-7", "mg/dL"):
        assert health not in texts[0]
    _assert_no_health_data(profile, texts)


def test_weekly_and_off_schedules_hold_a_connection_back(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    schedules = SyncSchedules(profile)
    now = datetime.now(UTC)
    schedules.sync_due(now=now)
    schedules.set(NAME, "weekly")
    assert schedules.sync_due(now=now + timedelta(days=3)).reports == {}
    assert list(schedules.sync_due(now=now + timedelta(days=8)).reports) == [NAME]
    schedules.set(NAME, "off")
    assert schedules.sync_due(now=now + timedelta(days=60)).reports == {}


def test_a_refused_renewal_during_an_automatic_sync_asks_to_reconnect(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    now = datetime.now(UTC)
    SyncSchedules(profile).sync_due(now=now)
    Notices(profile).mark_shown(Notices(profile).unshown())
    records = sum(profile.counts_by_kind().values())
    profile.vault.conn.execute("UPDATE tokens SET refresh_token = 'revoked-or-stale'")
    server.expire_access_tokens()

    SyncSchedules(profile).sync_due(now=now + timedelta(days=1))
    texts = [n.text for n in Notices(profile).unshown()]
    assert texts == [f"{NAME}: the provider refused to renew access. Reconnect to keep syncing."]
    assert Notices(profile).connection_warnings() == {NAME: texts}
    assert sum(profile.counts_by_kind().values()) == records  # nothing lost
    # An expired connection is not due: the timer does not hammer the provider.
    assert SyncSchedules(profile).due(now + timedelta(days=5)) == []


def test_a_scheduled_run_with_a_remembered_key_syncs_what_is_due(
    profiles: Profiles, profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    profile.close()  # the app is closed; the timer runs on its own
    # Stands in for the keyring's copy of the key (this machine has no secure keyring).
    result = run_scheduled_sync(
        profiles, "e2e", unlock=lambda: profiles.unlock("e2e", passphrase=PASSPHRASE)
    )
    assert list(result.reports) == [NAME] and result.new_results[NAME] > 0
    with profiles.unlock("e2e", passphrase=PASSPHRASE) as reopened:
        texts = [n.text for n in Notices(reopened).unshown()]
        assert texts == [f"{NAME}: {result.new_results[NAME]} new results"]


def test_a_sync_that_did_not_finish_is_told_and_what_arrived_is_kept(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    server.faults(refuse_type="Immunization", status=400)
    result = SyncSchedules(profile).sync_due(now=datetime.now(UTC))
    report = result.reports[NAME]
    assert [o.resource_type for o in report.failed] == ["Immunization"]
    assert result.new_results[NAME] == _results(profile) > 0  # the other types arrived
    texts = [n.text for n in Notices(profile).unshown()]
    assert f"{NAME}: the scheduled sync did not finish. Open phr-desktop to see why." in texts
    _assert_no_health_data(profile, texts)
