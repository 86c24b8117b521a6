"""The sync engine against an in-memory server: pages arriving within a moment are stored
together, and a failure while storing them rolls back their resources with their checkpoints,
so the next sync resumes exactly (nothing lost, nothing stored twice)."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from phr_desktop.domain.records import Record
from phr_desktop.services.search_pages import parse_page
from phr_desktop.services.session import Session
from phr_desktop.services.terminology import normalise_resource
from phr_desktop.smart.errors import ResourceRefused, SyncError
from phr_desktop.smart.fhir_client import FhirClient
from phr_desktop.smart.scopes import SYNC_TYPES
from phr_desktop.smart.sync import FALLBACK_PAGE_SIZE, SyncEngine, SyncReport
from phr_desktop.vault.connections import ConnectionStore
from phr_desktop.vault.database import BULK_WAL_AUTOCHECKPOINT, transaction

BASE = "https://ehr.example/fhir"
PATIENT = "p1"
PAGE = 2
COUNTS = {"Condition": 5, "Observation": 9}


def _resource(rtype: str, n: int) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": rtype,
        "id": f"{rtype.lower()}-{n}",
        "subject": {"reference": f"Patient/{PATIENT}"},
    }
    if rtype == "Observation":
        resource |= {"status": "final", "code": {"text": "AAT"}, "valueQuantity": {"value": n}}
    else:
        resource |= {"code": {"text": f"condition {n}"}}
    return resource


@dataclass
class _Response:
    content: bytes


class FakeServer:
    """Answers the engine's searches from memory, `PAGE` resources a page, next links by
    offset; counts the requests per type."""

    def __init__(
        self,
        busy_after: int = 10,
        refuses_count_over: int | None = None,
        delay: float = 0.0,
        counts: dict[str, int] | None = None,
    ) -> None:
        self.requests: list[str] = []
        self.counts = COUNTS if counts is None else counts
        self.delay = delay  # seconds each answer takes, as over a network
        self.refuses_count_over = refuses_count_over
        self.lock = threading.Lock()
        self.busy_after = busy_after
        self.busy = threading.Event()  # set once `busy_after` requests have been answered

    def get(self, url: str) -> _Response:
        time.sleep(self.delay)
        with self.lock:
            self.requests.append(url)
            if len(self.requests) > self.busy_after:
                self.busy.set()
        parts = urlsplit(url if "://" in url else f"{BASE}/{url}")
        rtype = parts.path.rsplit("/", 2)[-1]
        if parts.path.endswith(f"Patient/{PATIENT}"):
            return _Response(orjson.dumps({"resourceType": "Patient", "id": PATIENT}))
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if self.refuses_count_over and int(query.get("_count", 0)) > self.refuses_count_over:
            raise ResourceRefused("the server refused it (400: _count too large)", 400)
        offset = int(query.get("_offset", "0"))
        total = self.counts.get(rtype, 0)
        entries = [
            {"resource": _resource(rtype, n)} for n in range(offset, min(total, offset + PAGE))
        ]
        links = []
        if offset + PAGE < total:
            links.append(
                {
                    "relation": "next",
                    "url": f"{BASE}/{rtype}?patient={PATIENT}&_offset={offset + PAGE}",
                }
            )
        bundle = {"resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries}
        return _Response(orjson.dumps(bundle))


def _engine(
    session: Session,
    server: FakeServer,
    normalise: Callable[..., Record | None],
    page_size: int = PAGE,
    commit_interval: float | None = None,
) -> SyncEngine:
    connections = ConnectionStore(session.vault.conn)
    with transaction(session.vault.conn):
        source_id = session.store.ensure_source("smart", "Fake", {"fhir_base": BASE})
        connections.add("Fake", BASE, "client", source_id, PATIENT, "patient/*.rs", {})
    connection = connections.by_name("Fake")
    assert connection is not None
    client: Any = server  # stands in for FhirClient: the engine only calls get(url)
    fhir: FhirClient = client
    engine = SyncEngine(
        session.vault.conn, connection, fhir, parse_page, normalise, session.write_lock,
        page_size=page_size,
    )  # fmt: skip
    if commit_interval is not None:
        engine.commit_interval = commit_interval
    return engine


def _held_until_pages_wait(
    server: FakeServer, normalise: Callable[[dict[str, Any]], Record | None]
) -> Callable[[dict[str, Any]], Record | None]:
    """The first store waits until the workers have fetched enough to queue several pages, so
    the next transaction groups them (what a slow disk does)."""

    def normalised(resource: dict[str, Any]) -> Record | None:
        server.busy.wait(timeout=10)  # the workers block once the queue is full
        return normalise(resource)

    return normalised


def _count_transactions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    opened: list[int] = []

    def counted(conn: Any) -> Any:
        opened.append(1)
        return transaction(conn)

    monkeypatch.setattr("phr_desktop.smart.sync.transaction", counted)
    return opened


def _run(engine: SyncEngine) -> SyncReport:
    return engine.run(full=False, progress=lambda *_: None, is_cancelled=lambda: False)


def _dropping_at_the_second_observation_page() -> FakeServer:
    """A server whose connection is lost when the second page of Observations is asked for."""
    server = FakeServer()
    answer = server.get

    def dropping(url: str) -> _Response:
        if "Observation" in url and "_offset=6" in url:
            raise SyncError("The connection to the provider's server was lost.")
        return answer(url)

    server.get = dropping  # type: ignore[method-assign]
    return server


def _stored(session: Session) -> dict[str, list[str]]:
    rows = session.vault.conn.execute(
        "SELECT resource_type, resource_id FROM raw_resources ORDER BY resource_id"
    ).fetchall()
    out: dict[str, list[str]] = {}
    for rtype, rid in rows:
        out.setdefault(rtype, []).append(rid)
    return out


def test_every_page_is_stored_once_with_the_grouped_commits(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = FakeServer()
    transactions = _count_transactions(monkeypatch)
    report = _run(_engine(session, server, _held_until_pages_wait(server, normalise_resource)))
    assert not report.failed
    pages = len(server.requests)
    assert len(transactions) < pages  # the plan, then fewer commits than pages
    stored = _stored(session)
    assert {t: len(ids) for t, ids in stored.items()} == {"Patient": 1, **COUNTS}
    assert report.counts.new == 1 + sum(COUNTS.values())
    states = ConnectionStore(session.vault.conn).type_states(1)
    assert all(s.status == "ok" and s.resume_url is None for s in states.values())


def test_pages_arriving_one_by_one_are_committed_together_within_the_commit_interval(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each answer takes a moment, so pages never wait in the queue: without the interval
    # every page would be a commit of its own.
    server = FakeServer(delay=0.02)
    transactions = _count_transactions(monkeypatch)
    report = _run(_engine(session, server, normalise_resource, commit_interval=30.0))
    assert not report.failed
    pages = len(server.requests)
    assert pages > 10
    assert len(transactions) <= 3  # the plan, then one or two commits for every page
    assert {t: len(ids) for t, ids in _stored(session).items()} == {"Patient": 1, **COUNTS}


def test_a_transaction_is_committed_once_it_holds_enough_resources(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Bounds one commit's write-ahead log however fast the pages come.
    monkeypatch.setattr("phr_desktop.smart.gathering.MAX_RESOURCES_PER_TRANSACTION", 2 * PAGE)
    server = FakeServer(delay=0.05)
    transactions = _count_transactions(monkeypatch)
    started = time.monotonic()
    report = _run(_engine(session, server, normalise_resource, commit_interval=30.0))
    assert not report.failed
    assert time.monotonic() - started < 20
    assert len(transactions) >= 4  # the plan, then a commit every two or so pages
    assert {t: len(ids) for t, ids in _stored(session).items()} == {"Patient": 1, **COUNTS}


def test_pages_are_stored_as_they_arrive_while_their_transaction_stays_open(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Storing overlaps fetching: the first page is written before the last is fetched, so
    # the commit at the end, which nothing overlaps, has little left to do.
    server = FakeServer(delay=0.05)
    requests_when_stored: list[int] = []

    def noting(resource: dict[str, Any]) -> Record | None:
        requests_when_stored.append(len(server.requests))
        return normalise_resource(resource)

    transactions = _count_transactions(monkeypatch)
    report = _run(_engine(session, server, noting, commit_interval=30.0))
    assert not report.failed
    assert len(transactions) <= 3  # the plan, then one or two commits for every page
    assert requests_when_stored[0] < len(server.requests) - 2


def test_the_write_lock_is_free_while_the_sync_waits_for_a_slow_page(session: Session) -> None:
    # Nothing to store for a moment: the open transaction is committed rather than holding
    # the lock a note being saved (or a token being renewed) waits for.
    server = FakeServer(counts={"Observation": 6})
    answer = server.get
    slow_page = threading.Event()

    def one_slow_page(url: str) -> _Response:
        if "_offset=4" in url:
            slow_page.set()
            time.sleep(1.5)
        return answer(url)

    server.get = one_slow_page  # type: ignore[method-assign]
    engine = _engine(session, server, normalise_resource, commit_interval=30.0)
    waits: list[float] = []

    def save_a_note() -> None:
        slow_page.wait(timeout=10)
        time.sleep(0.1)  # the page before the slow one is being stored
        started = time.monotonic()
        with session.write_lock:
            waits.append(time.monotonic() - started)

    other = threading.Thread(target=save_a_note)
    other.start()
    report = _run(engine)
    other.join(timeout=10)
    assert not report.failed
    assert waits and waits[0] < 1.0  # not the slow page's 1.5 s


def test_a_network_drop_keeps_every_page_stored_in_the_open_transaction(
    session: Session,
) -> None:
    server = _dropping_at_the_second_observation_page()
    engine = _engine(session, server, normalise_resource, commit_interval=30.0)
    report = _run(engine)
    assert [o.resource_type for o in report.failed] == ["Observation"]
    state = ConnectionStore(session.vault.conn).type_states(engine.connection.id)["Observation"]
    assert len(_stored(session)["Observation"]) == state.fetched == 6  # three pages kept
    assert state.resume_url is not None and "_offset=6" in state.resume_url

    engine.client = FakeServer()  # type: ignore[assignment]
    report = _run(engine)
    assert not report.failed
    stored = _stored(session)
    assert {t: len(ids) for t, ids in stored.items()} == {"Patient": 1, **COUNTS}
    assert len(set(stored["Observation"])) == COUNTS["Observation"]  # nothing twice


def test_the_last_commit_does_not_wait_out_the_interval(session: Session) -> None:
    engine = _engine(session, FakeServer(delay=0.01), normalise_resource, commit_interval=60.0)
    started = time.monotonic()
    report = _run(engine)
    assert not report.failed
    assert time.monotonic() - started < 20  # every type finished: committed at once


def test_a_cancel_while_pages_are_gathered_stops_the_sync_soon(session: Session) -> None:
    server = FakeServer(delay=0.05)
    engine = _engine(session, server, normalise_resource, commit_interval=60.0)
    cancel_at = time.monotonic() + 0.3
    started = time.monotonic()
    report = engine.run(
        full=False, progress=lambda *_: None, is_cancelled=lambda: time.monotonic() > cancel_at
    )
    assert time.monotonic() - started < 20
    assert report.failed and all(o.status == "cancelled" for o in report.failed)
    states = ConnectionStore(session.vault.conn).type_states(engine.connection.id)
    stored = _stored(session)
    for rtype, state in states.items():  # what was stored is what the checkpoints say
        assert len(stored.get(rtype, [])) == state.fetched, rtype


def test_a_full_sync_marks_what_is_no_longer_returned_in_one_pass_per_commit(
    session: Session,
) -> None:
    engine = _engine(session, FakeServer(), normalise_resource, commit_interval=30.0)
    _run(engine)
    fewer = {"Condition": COUNTS["Condition"], "Observation": COUNTS["Observation"] - 2}
    engine.client = FakeServer(counts=fewer)  # type: ignore[assignment]
    passes: list[str] = []
    session.vault.conn.set_trace_callback(  # the marking UPDATEs, parameters filled in
        lambda sql: (
            passes.append(sql)
            if "SET missing_since = " in sql and "SET missing_since = NULL" not in sql
            else None
        )
    )
    try:
        report = engine.run(full=True, progress=lambda *_: None, is_cancelled=lambda: False)
    finally:
        session.vault.conn.set_trace_callback(None)
    assert not report.failed
    assert report.marked_missing == 2
    missing = session.vault.conn.execute(
        "SELECT resource_type, resource_id FROM raw_resources WHERE missing_since IS NOT NULL "
        "ORDER BY resource_id"
    ).fetchall()
    assert missing == [("Observation", "observation-7"), ("Observation", "observation-8")]
    # Every type's full run ended within one commit: the source's rows were read once, not
    # once per type (a pass per type read every raw row of the source twelve times).
    assert len(passes) == 1
    assert session.vault.conn.execute("SELECT count(*) FROM sync_seen").fetchone()[0] == 0


def test_a_type_finished_in_a_rolled_back_commit_is_not_marked_missing_later(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _engine(session, FakeServer(), normalise_resource)
    _run(engine)
    # As if a commit failed after the Conditions' full run ended in it: rolled back, and the
    # engine used again.
    engine._full_runs_done = ["Condition"]
    server = FakeServer()
    answer = server.get

    def conditions_last(url: str) -> _Response:
        if "Condition" in url:
            time.sleep(0.5)  # the first commits hold no Condition page
        return answer(url)

    server.get = conditions_last  # type: ignore[method-assign]
    engine.client = server  # type: ignore[assignment]
    engine.commit_interval = 0.0  # a commit for every event
    report = engine.run(full=True, progress=lambda *_: None, is_cancelled=lambda: False)
    assert not report.failed
    assert report.marked_missing == 0


def test_a_failure_while_storing_rolls_back_pages_with_their_checkpoints_and_resumes_exactly(
    session: Session,
) -> None:
    def failing(resource: dict[str, Any]) -> Record | None:
        if resource.get("id") == "observation-6":  # the fourth Observation page
            raise RuntimeError("disk trouble")
        return normalise_resource(resource)

    server = FakeServer()
    engine = _engine(session, server, _held_until_pages_wait(server, failing))
    with pytest.raises(RuntimeError, match="disk trouble"):
        _run(engine)
    states = ConnectionStore(session.vault.conn).type_states(engine.connection.id)
    stored = _stored(session)
    for rtype, state in states.items():
        # Whatever the grouping, the checkpoint and the stored resources moved together.
        assert len(stored.get(rtype, [])) == state.fetched, rtype
        if state.status == "running" and state.resume_url:
            offset = int(parse_qs(urlsplit(state.resume_url).query).get("_offset", ["0"])[0])
            assert offset == state.fetched, rtype
    assert "observation-6" not in stored.get("Observation", [])

    engine.normalise = normalise_resource
    report = _run(engine)
    assert not report.failed
    stored = _stored(session)
    assert {t: len(ids) for t, ids in stored.items()} == {"Patient": 1, **COUNTS}
    assert all(len(set(ids)) == len(ids) for ids in stored.values())  # nothing twice


def test_a_server_refusing_our_page_size_is_asked_again_with_the_fallback_size(
    session: Session,
) -> None:
    server = FakeServer(refuses_count_over=FALLBACK_PAGE_SIZE)
    report = _run(_engine(session, server, normalise_resource, page_size=FALLBACK_PAGE_SIZE * 5))
    assert not report.failed, report.outcomes
    stored = _stored(session)
    assert {t: len(ids) for t, ids in stored.items()} == {"Patient": 1, **COUNTS}
    refused = [u for u in server.requests if f"_count={FALLBACK_PAGE_SIZE * 5}" in u]
    assert len(refused) == len(SYNC_TYPES) - 1  # each search once, then the smaller pages


def test_the_collector_is_paced_during_a_sync_and_restored_after(session: Session) -> None:
    before = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []

    def watching(resource: dict[str, Any]) -> Record | None:
        seen.append(gc.get_threshold())
        return normalise_resource(resource)

    _run(_engine(session, FakeServer(), watching))
    assert seen and all(t[0] > before[0] for t in seen)
    assert gc.get_threshold() == before


def test_the_write_ahead_log_is_copied_into_the_vault_once_at_the_end_of_a_sync(
    session: Session,
) -> None:
    conn = session.vault.conn
    during: list[int] = []

    def watching(resource: dict[str, Any]) -> Record | None:
        during.append(conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0])
        return normalise_resource(resource)

    before = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    report = _run(_engine(session, FakeServer(), watching))
    assert not report.failed
    # Not every 4 MB while pages are stored (each copy rewrote pages the next commits
    # changed again), but once after: the log is empty and the setting is back.
    assert during and all(value == BULK_WAL_AUTOCHECKPOINT > before for value in during)
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == before
    vault_file = next(
        Path(f) for _, name, f in conn.execute("PRAGMA database_list") if name == "main"
    )
    assert Path(f"{vault_file}-wal").stat().st_size == 0


def test_a_first_sync_looks_up_no_stored_versions_and_the_next_finds_them_all(
    session: Session,
) -> None:
    lookups: list[str] = []
    session.vault.conn.set_trace_callback(
        lambda sql: lookups.append(sql) if "version_id FROM raw_resources" in sql else None
    )
    try:
        engine = _engine(session, FakeServer(), normalise_resource)
        first = _run(engine)
        first_lookups = len(lookups)
        second = _run(engine)
    finally:
        session.vault.conn.set_trace_callback(None)
    assert first.counts.new == 1 + sum(COUNTS.values())
    assert first_lookups == 0  # the source held nothing: nothing to look up
    assert lookups  # the second sync looks each page's resources up
    assert second.counts.new == 0
    assert second.counts.unchanged == first.counts.new
    stored = _stored(session)
    assert {t: len(ids) for t, ids in stored.items()} == {"Patient": 1, **COUNTS}


def test_a_first_full_sync_takes_no_seen_marks_and_finds_nothing_missing(
    session: Session,
) -> None:
    # Every resource of the source came with this sync: none can be missing.
    marks: list[str] = []
    session.vault.conn.set_trace_callback(
        lambda sql: marks.append(sql) if "sync_seen" in sql or "missing_since" in sql else None
    )
    try:
        engine = _engine(session, FakeServer(), normalise_resource)
        report = engine.run(full=True, progress=lambda *_: None, is_cancelled=lambda: False)
    finally:
        session.vault.conn.set_trace_callback(None)
    assert not report.failed and report.marked_missing == 0
    assert not [sql for sql in marks if "INSERT" in sql or "UPDATE" in sql]
    assert {t: len(ids) for t, ids in _stored(session).items()} == {"Patient": 1, **COUNTS}


def test_a_first_sync_resumed_after_a_drop_marks_nothing_it_received_missing(
    session: Session,
) -> None:
    server = _dropping_at_the_second_observation_page()
    engine = _engine(session, server, normalise_resource)
    first = engine.run(full=True, progress=lambda *_: None, is_cancelled=lambda: False)
    assert [o.resource_type for o in first.failed] == ["Observation"]
    # The resumed run takes the pages before the drop as received by it: only what the
    # server stopped returning could be missing, and nothing did.
    engine.client = FakeServer()  # type: ignore[assignment]
    resumed = _run(engine)
    assert not resumed.failed and resumed.marked_missing == 0
    missing = session.vault.conn.execute(
        "SELECT count(*) FROM raw_resources WHERE missing_since IS NOT NULL"
    ).fetchone()[0]
    assert missing == 0
    # And a later full sync still finds what the server no longer returns.
    fewer = {"Condition": COUNTS["Condition"], "Observation": COUNTS["Observation"] - 2}
    engine.client = FakeServer(counts=fewer)  # type: ignore[assignment]
    later = engine.run(full=True, progress=lambda *_: None, is_cancelled=lambda: False)
    assert later.marked_missing == 2
