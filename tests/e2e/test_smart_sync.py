"""phr-desktop against a real SMART on FHIR server on loopback: sign-in, sync, refresh, faults."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import orjson
import pytest

from phr_desktop.services.errors import AuthorizationError, ServiceError, SyncError
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from tests.conftest import PASSPHRASE
from tests.e2e.smart_login import drive_login

CLIENT_ID = "phr-desktop-test"


def _browser(
    approve: bool = True, tamper: Callable[[str], str] | None = None
) -> Callable[[str], None]:
    """Stands in for the system browser: signs in on the server's pages, then follows the
    redirect to the app's real loopback listener."""

    def open_url(url: str) -> None:
        location = drive_login(url, approve=approve)
        if tamper:
            location = tamper(location)
        httpx.get(location, timeout=10)

    return open_url


@pytest.fixture
def profile(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _ = profiles.create("e2e", PASSPHRASE)
    with session:
        yield session


def _connect(session: Session, server: Any, **kw: Any) -> Any:
    return session.connections.connect(
        server.base, client_id=CLIENT_ID, name="Local SMART", open_url=_browser(**kw), timeout=30
    )


def _stored_ids(session: Session, resource_type: str) -> set[str]:
    rows = session.vault.conn.execute(
        "SELECT resource_id FROM raw_resources WHERE resource_type = ? AND is_current = 1",
        (resource_type,),
    )
    return {r[0] for r in rows}


def test_connect_and_full_sync_fetch_every_resource_of_the_patient(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    connection = _connect(profile, server)
    assert connection.patient_id == server.patient
    tokens = profile.vault.conn.execute("SELECT access_token, refresh_token FROM tokens").fetchone()
    assert tokens[0] and tokens[1]  # kept in the vault (the vault is encrypted)
    reports = profile.connections.sync()
    report = reports["Local SMART"]
    assert not report.failed, report.outcomes
    seed = orjson.loads(synthea_seed.read_bytes())
    by_type: dict[str, int] = {}
    for entry in seed["entry"]:
        rtype = entry["resource"]["resourceType"]
        by_type[rtype] = by_type.get(rtype, 0) + 1
    for outcome in report.outcomes:
        if outcome.resource_type == "Patient":
            assert outcome.fetched == 1
        else:
            assert outcome.fetched == by_type.get(outcome.resource_type, 0), outcome
        assert len(_stored_ids(profile, outcome.resource_type)) == outcome.fetched
    assert profile.counts_by_kind()["lab_result"] > 0
    again = profile.connections.sync(full=True)["Local SMART"]
    assert again.counts.new == 0 and again.counts.unchanged == report.counts.new


def test_paging_follows_next_links_over_a_thousand_observations(
    profile: Session, start_smart_server, big_seed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("phr_desktop.smart.sync.PAGE_SIZE", 100)  # many pages, grouped commits
    server = start_smart_server(big_seed)
    _connect(profile, server)
    report = profile.connections.sync()["Local SMART"]
    observations = next(o for o in report.outcomes if o.resource_type == "Observation")
    assert observations.fetched >= 1000
    assert len(_stored_ids(profile, "Observation")) == observations.fetched
    pages = [q for q in server.stats()["queries"] if "Observation" in q]
    assert len(pages) >= 10  # 100 per page


def test_access_denied_stores_nothing(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    with pytest.raises(AuthorizationError, match="not granted"):
        _connect(profile, server, approve=False)
    assert profile.vault.conn.execute("SELECT count(*) FROM connections").fetchone()[0] == 0
    assert profile.vault.conn.execute("SELECT count(*) FROM tokens").fetchone()[0] == 0


def test_a_callback_with_the_wrong_state_is_ignored_and_the_real_one_signs_in(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    answers: list[int] = []

    def forge_first(url: str) -> None:
        location = drive_login(url)
        parts = urlsplit(location)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["state"] = "forged" + query["state"][6:]
        forged = parts._replace(query="&".join(f"{k}={v}" for k, v in query.items())).geturl()
        answers.append(httpx.get(forged, timeout=10).status_code)
        answers.append(httpx.get(location, timeout=10).status_code)

    connection = profile.connections.connect(
        server.base, client_id=CLIENT_ID, name="Local SMART", open_url=forge_first, timeout=30
    )
    assert answers == [400, 200]  # the forged answer did not use up the listener
    assert connection.patient_id == server.patient
    assert profile.vault.conn.execute("SELECT count(*) FROM tokens").fetchone()[0] == 1


def test_an_expired_access_token_is_refreshed_and_the_rotated_token_stored_first(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    before = profile.vault.conn.execute("SELECT access_token, refresh_token FROM tokens").fetchone()
    server.expire_access_tokens()
    report = profile.connections.sync()["Local SMART"]
    assert not report.failed
    after = profile.vault.conn.execute("SELECT access_token, refresh_token FROM tokens").fetchone()
    assert after[0] != before[0] and after[1] != before[1]  # rotated, and stored
    # The old refresh token no longer works at the server: only the stored one does.
    token_endpoint = profile.vault.conn.execute("SELECT smart_config FROM connections").fetchone()
    endpoint = orjson.loads(token_endpoint[0])["token_endpoint"]
    reuse = httpx.post(
        endpoint,
        data={"grant_type": "refresh_token", "refresh_token": before[1], "client_id": CLIENT_ID},
        timeout=10,
    )
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"


def test_a_refused_refresh_marks_the_connection_expired_and_keeps_the_data(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    profile.connections.sync()
    records = sum(profile.counts_by_kind().values())
    profile.vault.conn.execute("UPDATE tokens SET refresh_token = 'revoked-or-stale'")
    server.expire_access_tokens()
    report = profile.connections.sync()["Local SMART"]
    assert report.reconnect_needed
    (status,) = profile.vault.conn.execute("SELECT status FROM connections").fetchone()
    assert status == "expired"
    assert sum(profile.counts_by_kind().values()) == records
    with pytest.raises(ServiceError, match="reconnecting"):
        profile.connections.sync("Local SMART")


def test_a_refused_type_is_skipped_and_reported_not_fatal(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    server.faults(refuse_type="Immunization", status=403)
    report = profile.connections.sync()["Local SMART"]
    outcomes = {o.resource_type: o for o in report.outcomes}
    assert outcomes["Immunization"].status == "skipped"
    assert "403" in outcomes["Immunization"].detail
    assert outcomes["Observation"].status == "ok" and outcomes["Observation"].fetched > 0
    statuses = profile.connections.statuses()[0].types
    assert statuses["Immunization"].status == "skipped"


def test_a_429_storm_is_waited_out_honouring_retry_after(
    profile: Session, start_smart_server, synthea_seed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    waits: list[float] = []
    monkeypatch.setattr("phr_desktop.smart.fhir_client.time.sleep", waits.append)
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    server.faults(status=429, count=4, retry_after=3, path_prefix="/fhir/Observation")
    report = profile.connections.sync()["Local SMART"]
    assert not report.failed
    assert waits.count(3.0) >= 4


def test_a_network_drop_mid_sync_resumes_next_time_with_nothing_lost_or_doubled(
    profile: Session, start_smart_server, big_seed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("phr_desktop.smart.fhir_client.time.sleep", lambda _s: None)
    monkeypatch.setattr("phr_desktop.smart.sync.PAGE_SIZE", 100)  # the drop lands mid-chain
    server = start_smart_server(big_seed)
    _connect(profile, server)
    server.faults(drop_after_requests=8)
    first = profile.connections.sync()["Local SMART"]
    assert first.failed
    # Pages share a transaction while they keep coming: the drop commits every page stored
    # before it, with its checkpoint.
    states = profile.connections.store.type_states(1)
    assert sum(s.fetched for s in states.values()) > 0
    for rtype, state in states.items():
        assert len(_stored_ids(profile, rtype)) == state.fetched, rtype
    stored_before = len(_stored_ids(profile, "Observation"))
    server.faults(clear=True)
    second = profile.connections.sync()["Local SMART"]
    assert not second.failed
    full = profile.connections.sync(full=True)["Local SMART"]
    assert full.counts.new == 0  # the resumed run left nothing out
    observations = len(_stored_ids(profile, "Observation"))
    assert observations >= 1000 and observations >= stored_before
    raw_rows = profile.vault.conn.execute(
        "SELECT count(*) FROM raw_resources WHERE resource_type = 'Observation'"
    ).fetchone()[0]
    assert raw_rows == observations  # nothing stored twice


def test_incremental_sync_asks_for_changes_and_gets_the_new_observation_only(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    profile.connections.sync()
    server.put_resource(
        {
            "resourceType": "Observation",
            "id": "new-aat-level",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "1825-9"}], "text": "AAT"},
            "subject": {"reference": f"Patient/{server.patient}"},
            "effectiveDateTime": "2025-06-01",
            "valueQuantity": {"value": 24, "unit": "mg/dL"},
        }
    )
    report = profile.connections.sync()["Local SMART"]
    assert report.counts.new == 1 and report.counts.updated == 0
    assert report.counts.by_type == {"Observation": 1}
    incremental = [q for q in server.stats()["queries"] if "_lastUpdated=ge" in q]
    assert incremental
    assert any(s.record.resource_id == "new-aat-level" for s in profile.search("AAT"))


def test_disconnect_keeps_the_data_and_forgets_the_tokens(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    profile.connections.sync()
    records = sum(profile.counts_by_kind().values())
    assert profile.connections.disconnect("Local SMART") is True
    assert profile.vault.conn.execute("SELECT count(*) FROM tokens").fetchone()[0] == 0
    assert sum(profile.counts_by_kind().values()) == records


def test_a_server_without_pkce_s256_is_refused_before_sign_in(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed, no_pkce=True)
    opened: list[str] = []
    with pytest.raises(SyncError, match="PKCE"):
        profile.connections.connect(server.base, client_id=CLIENT_ID, open_url=opened.append)
    assert opened == []


def test_the_cli_prints_the_sign_in_url_for_scripts(
    data_dir: Path, profiles: Profiles, fast_kdf: None, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    import os
    import subprocess
    import sys

    server = start_smart_server(synthea_seed)
    profiles.create("cli", PASSPHRASE)[0].close()
    env = dict(os.environ, PHR_DATA_DIR=str(data_dir), PHR_PASSPHRASE=PASSPHRASE)
    process = subprocess.Popen(
        [sys.executable, "-m", "phr_desktop.cli", "--profile", "cli", "connect", server.base,
         "--client-id", CLIENT_ID, "--no-browser", "--name", "CLI", "--timeout", "60"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("Open: ")
        done = threading.Thread(target=_browser(), args=(line[len("Open: ") :].strip(),))
        done.start()
        out, err = process.communicate(timeout=60)
        done.join(10)
        assert process.returncode == 0, err
        assert "Connected 'CLI'" in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_document_attachments_are_fetched_into_the_vault_once(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    import base64

    server = start_smart_server(synthea_seed)
    report_text = b"Chest CT: basilar panlobular emphysema."
    server.put_resource(
        {
            "resourceType": "Binary",
            "id": "ct-report",
            "contentType": "text/plain",
            "data": base64.b64encode(report_text).decode(),
        }
    )
    server.put_resource(
        {
            "resourceType": "DocumentReference",
            "id": "ct-doc",
            "status": "current",
            "subject": {"reference": f"Patient/{server.patient}"},
            "type": {"text": "CT report"},
            "date": "2024-01-16T10:00:00Z",
            "content": [{"attachment": {"contentType": "text/plain", "url": "Binary/ct-report"}}],
        }
    )
    _connect(profile, server)
    report = profile.connections.sync()["Local SMART"]
    assert report.attachments >= 1
    stored = profile.vault.conn.execute(
        "SELECT a.data, a.content_type FROM attachments a JOIN raw_resources w ON w.id = a.raw_id "
        "WHERE w.resource_id = 'ct-doc'"
    ).fetchall()
    assert [(bytes(d), t) for d, t in stored] == [(report_text, "text/plain")]
    again = profile.connections.sync()["Local SMART"]
    assert again.attachments == 0  # unchanged documents are not fetched again


def test_tokens_about_to_expire_are_refreshed_before_use(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed, access_ttl=30)  # inside the 60 s margin
    _connect(profile, server)
    before = profile.vault.conn.execute("SELECT refresh_token FROM tokens").fetchone()[0]
    server.reset_stats()
    report = profile.connections.sync()["Local SMART"]
    assert not report.failed
    after = profile.vault.conn.execute("SELECT refresh_token FROM tokens").fetchone()[0]
    assert after != before
    statuses = [r["status"] for r in server.stats()["recent"] if r["path"].startswith("/fhir")]
    assert 401 not in statuses  # renewed ahead of time, not after a refusal


def test_a_smart_v1_server_gets_v1_scopes_and_syncs(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed, smart_version="v1")
    connection = _connect(profile, server)
    assert "patient/*.read" in connection.scope
    report = profile.connections.sync()["Local SMART"]
    assert not report.failed and report.counts.new > 0


def test_cancelling_a_sync_stops_it_and_the_next_one_finishes(
    profile: Session, start_smart_server, big_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    from phr_desktop.services.errors import Cancelled
    from phr_desktop.services.tasks import CancelToken, Progress

    server = start_smart_server(big_seed)
    _connect(profile, server)
    token = CancelToken()

    def progress(p: Progress) -> None:
        if "Test results and measurements" in p.message:  # Observation, in the patient's words
            token.cancel()

    with pytest.raises(Cancelled):
        profile.connections.sync(progress=progress, cancel=token)
    states = profile.connections.statuses()[0].types
    assert any(s.status == "cancelled" for s in states.values())
    report = profile.connections.sync()["Local SMART"]
    assert not report.failed
    full = profile.connections.sync(full=True)["Local SMART"]
    assert full.counts.new == 0


def test_disconnect_with_delete_data_removes_the_records_but_keeps_notes(
    profile: Session, start_smart_server, synthea_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    _connect(profile, server)
    profile.connections.sync()
    first = profile.records()[0]
    profile.add_note(first.id, "asked the doctor about this")
    profile.connections.disconnect("Local SMART", delete_data=True)
    assert sum(profile.counts_by_kind().values()) == 0
    assert profile.vault.conn.execute("SELECT count(*) FROM raw_resources").fetchone()[0] == 0
    assert profile.vault.conn.execute("SELECT text FROM notes").fetchall() == [
        ("asked the doctor about this",)
    ]
