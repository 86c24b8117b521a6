"""A checkpoint is never a URL outside the connection's FHIR base: one saved by an earlier
version (a next link elsewhere) is not resumed; the type starts over under the base."""

from __future__ import annotations

from phr_desktop.services.session import Session
from phr_desktop.services.terminology import normalise_resource
from phr_desktop.vault.connections import ConnectionStore, TypeState
from phr_desktop.vault.database import transaction
from tests.smart.test_sync_engine import BASE, COUNTS, PATIENT, FakeServer, _engine, _run

ELSEWHERE = f"https://evil.example/fhir/Condition?patient={PATIENT}&_offset=4"


def test_a_saved_checkpoint_elsewhere_is_not_resumed(session: Session) -> None:
    server = FakeServer()
    engine = _engine(session, server, normalise_resource)
    store = ConnectionStore(session.vault.conn)
    stuck = TypeState("Condition", "failed", "", ELSEWHERE, None, True, 4, None)
    with transaction(session.vault.conn):
        store.save_type_state(engine.connection.id, stuck)
    report = _run(engine)
    assert ELSEWHERE not in server.requests
    assert all(
        url.startswith(("Condition?", f"{BASE}/")) for url in server.requests if "Condition" in url
    )
    outcomes = {o.resource_type: o for o in report.outcomes}
    assert outcomes["Condition"].status == "ok"
    assert outcomes["Condition"].fetched == COUNTS["Condition"]
