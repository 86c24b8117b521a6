"""Search strategies in the sync engine, against an in-memory server with Epic's rule that an
Observation search needs `category`: one search per category, each resource stored once, a
refused category a note (never a reason to call data gone), every way refused `failed`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from phr_desktop.services.search_pages import parse_page
from phr_desktop.services.session import Session
from phr_desktop.services.terminology import normalise_resource
from phr_desktop.smart.errors import ResourceRefused
from phr_desktop.smart.fhir_client import FhirClient
from phr_desktop.smart.scopes import category_limits
from phr_desktop.smart.sync import SyncEngine, SyncReport
from phr_desktop.vault.connections import ConnectionStore
from phr_desktop.vault.database import transaction

BASE = "https://ehr.example/fhir"
PATIENT = "p1"
PAGE = 2
OBSERVATIONS = 9
MISSING_CATEGORY = "A required search parameter is missing: category"
COMBINATION = (
    "http://hl7.org/fhir/StructureDefinition/capabilitystatement-search-parameter-combination"
)


def _categories(n: int) -> set[str]:
    """Observation n's categories: some in two (0, 6), some in one, 1/5/7 only under exam."""
    found = {c for c, hit in (("laboratory", n % 2 == 0), ("vital-signs", n % 3 == 0)) if hit}
    return found or {"exam"}


@dataclass
class _Response:
    content: bytes


class CategoryServer:
    """Answers like Epic: Observation searches need `category`; `refused` categories get a
    400; `statement` is its CapabilityStatement (None: it has none to give)."""

    def __init__(
        self,
        refused: frozenset[str] = frozenset(),
        statement: dict[str, Any] | None = None,
        refuse_all: bool = False,
    ) -> None:
        self.refused = refused
        self.statement = statement
        self.refuse_all = refuse_all
        self.requests: list[str] = []

    def get(self, url: str) -> _Response:
        self.requests.append(url)
        parts = urlsplit(url if "://" in url else f"{BASE}/{url}")
        rtype = parts.path.rsplit("/", 1)[-1]
        if rtype == "metadata":
            if self.statement is None:
                raise ResourceRefused("the server refused it (404)", 404)
            return _Response(orjson.dumps(self.statement))
        if parts.path.endswith(f"Patient/{PATIENT}"):
            return _Response(orjson.dumps({"resourceType": "Patient", "id": PATIENT}))
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if rtype != "Observation":
            return _Response(orjson.dumps({"resourceType": "Bundle", "type": "searchset"}))
        category = query.get("category")
        category = category.rsplit("|", 1)[-1] if category else None  # system|code or code
        if self.refuse_all or category is None:
            raise ResourceRefused(f"the server refused it (400: {MISSING_CATEGORY})", 400)
        if category in self.refused:
            raise ResourceRefused(f"the server refused it (400: unknown category {category})", 400)
        matches = [n for n in range(OBSERVATIONS) if category in _categories(n)]
        offset = int(query.get("_offset", "0"))
        entries = [
            {
                "resource": {
                    "resourceType": "Observation", "id": f"obs-{n}", "status": "final",
                    "category": [{"coding": [{"code": c}]} for c in sorted(_categories(n))],
                    "code": {"text": "AAT"}, "subject": {"reference": f"Patient/{PATIENT}"},
                    "valueQuantity": {"value": n},
                },
                "search": {"mode": "match"},
            }
            for n in matches[offset : offset + PAGE]
        ]  # fmt: skip
        links = []
        if offset + PAGE < len(matches):
            following = f"{BASE}/Observation?patient={PATIENT}&category={category}"
            links.append({"relation": "next", "url": f"{following}&_offset={offset + PAGE}"})
        bundle = {"resourceType": "Bundle", "type": "searchset", "link": links, "entry": entries}
        return _Response(orjson.dumps(bundle))

    def observation_searches(self) -> list[dict[str, list[str]]]:
        return [parse_qs(urlsplit(u).query) for u in self.requests if u.startswith("Observation?")]


def _engine(
    session: Session, server: CategoryServer, scope: str = "patient/Observation.rs"
) -> SyncEngine:
    connections = ConnectionStore(session.vault.conn)
    if connections.by_name("Fake") is None:
        with transaction(session.vault.conn):
            source_id = session.store.ensure_source("smart", "Fake", {"fhir_base": BASE})
            connections.add(
                "Fake", BASE, "client", source_id, PATIENT, scope,
                {"token_endpoint": f"{BASE}/token"},
            )  # fmt: skip
    connection = connections.by_name("Fake")
    assert connection is not None
    client: Any = server  # stands in for FhirClient: the engine only calls get(url)
    fhir: FhirClient = client
    return SyncEngine(
        session.vault.conn, connection, fhir, parse_page, normalise_resource, session.write_lock,
        page_size=PAGE,
    )  # fmt: skip


def _sync(
    session: Session,
    server: CategoryServer,
    full: bool = True,
    scope: str = "patient/Observation.rs",
) -> SyncReport:
    engine = _engine(session, server, scope)
    return engine.run(full=full, progress=lambda *_: None, is_cancelled=lambda: False)


def _observations(session: Session) -> dict[str, str | None]:
    """{id: missing_since} of the stored Observations, one row each."""
    rows = session.vault.conn.execute(
        "SELECT resource_id, missing_since FROM raw_resources "
        "WHERE resource_type = 'Observation' AND is_current = 1"
    ).fetchall()
    assert len(rows) == len({r[0] for r in rows})  # nothing stored twice
    return {r[0]: r[1] for r in rows}


def _rules(session: Session) -> dict[str, Any]:
    connection = ConnectionStore(session.vault.conn).by_name("Fake")
    assert connection is not None
    rules: dict[str, Any] = connection.smart_config["search_rules"]
    return rules


def test_a_refused_plain_search_is_asked_per_category_and_each_resource_stored_once(
    session: Session,
) -> None:
    server = CategoryServer()
    report = _sync(session, server)
    assert not report.failed, report.outcomes
    observation = next(o for o in report.outcomes if o.resource_type == "Observation")
    assert observation.status == "ok" and observation.detail == ""
    assert observation.fetched == OBSERVATIONS  # obs-0 and obs-6 are in two categories
    assert set(_observations(session)) == {f"obs-{n}" for n in range(OBSERVATIONS)}
    assert report.counts.new == OBSERVATIONS and report.counts.unchanged == 0  # written once
    assert _rules(session)["by_category"] == ["Observation"]
    connection = ConnectionStore(session.vault.conn).by_name("Fake")
    assert connection and connection.smart_config["token_endpoint"] == f"{BASE}/token"  # kept
    server.requests.clear()
    _sync(session, server, full=False)
    assert all("category" in q for q in server.observation_searches())  # remembered


def test_a_refused_category_is_a_note_and_nothing_is_called_gone(session: Session) -> None:
    _sync(session, CategoryServer())
    report = _sync(session, CategoryServer(refused=frozenset({"exam"})))
    assert not report.failed
    observation = next(o for o in report.outcomes if o.resource_type == "Observation")
    assert observation.status == "ok"
    assert "the server refused the exam search" in observation.detail
    assert report.marked_missing == 0
    assert all(missing is None for missing in _observations(session).values())
    states = ConnectionStore(session.vault.conn).search_states(1)
    assert states["Observation?category=exam"].status == "skipped"
    assert ConnectionStore(session.vault.conn).type_states(1)["Observation"].detail


def test_a_type_refused_every_way_is_failed_naming_the_missing_data(session: Session) -> None:
    server = CategoryServer(refuse_all=True)
    report = _sync(session, server)
    (failed,) = report.failed
    assert failed.resource_type == "Observation"
    assert "lab results, vital signs and other observations not fetched" in failed.detail
    assert MISSING_CATEGORY in failed.detail
    assert len(server.observation_searches()) == 1 + 11  # plain, then every US Core category
    state = ConnectionStore(session.vault.conn).type_states(1)["Observation"]
    assert state.status == "failed" and state.resume_url is None


def _statement(*combinations: tuple[str, ...]) -> dict[str, Any]:
    resource = {
        "type": "Observation",
        "searchParam": [{"name": "patient"}, {"name": "category"}, {"name": "code"}],
        "extension": [
            {
                "url": COMBINATION,
                "extension": [{"url": "required", "valueString": p} for p in combination],
            }
            for combination in combinations
        ],
    }
    return {
        "resourceType": "CapabilityStatement",
        "rest": [{"mode": "server", "resource": [resource]}],
    }


@pytest.mark.parametrize(
    ("combinations", "plain_first"),
    [
        ((("patient", "category"),), False),  # Epic-like: category with every patient search
        ((("patient", "category"), ("patient", "code")), True),  # US Core: patient+code too
        ((), True),  # no combinations declared: the first refusal decides
    ],
)
def test_the_capability_statement_decides_before_any_search_when_it_can(
    session: Session, combinations: tuple[tuple[str, ...], ...], plain_first: bool
) -> None:
    server = CategoryServer(statement=_statement(*combinations))
    report = _sync(session, server)
    assert not report.failed
    first = server.observation_searches()[0]
    assert ("category" not in first) is plain_first
    assert _rules(session)["capabilities_read"] is True
    server.requests.clear()
    _sync(session, server)
    assert "metadata" not in server.requests  # read once per connection


def test_a_server_without_a_capability_statement_is_asked_again_next_time(
    session: Session,
) -> None:
    server = CategoryServer(statement=None)
    _sync(session, server)
    server.requests.clear()
    _sync(session, server)
    assert "metadata" in server.requests


SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"


@pytest.mark.parametrize(
    ("scope", "limits"),
    [
        ("patient/*.rs", {}),
        (f"patient/Observation.rs patient/Observation.rs?category={SYSTEM}|laboratory", {}),
        (
            f"patient/Observation.rs?category={SYSTEM}|laboratory patient/Condition.rs "
            f"patient/Observation.rs?category={SYSTEM}|vital-signs",
            {"Observation": (f"{SYSTEM}|laboratory", f"{SYSTEM}|vital-signs")},
        ),
        ("patient/Observation.rs?code=http://loinc.org|1825-9", {}),  # no category to search by
        ("patient/*.rs patient/Observation.rs?category=laboratory", {}),
    ],
)
def test_granular_scopes_limit_a_type_to_the_categories_granted(
    scope: str, limits: dict[str, tuple[str, ...]]
) -> None:
    assert category_limits(scope) == limits


def test_a_scope_granting_some_categories_searches_only_those(session: Session) -> None:
    scope = (
        f"patient/Observation.rs?category={SYSTEM}|laboratory "
        f"patient/Observation.rs?category={SYSTEM}|vital-signs"
    )
    server = CategoryServer()
    report = _sync(session, server, scope=scope)
    assert not report.failed, report.outcomes
    asked = [q.get("category", [None])[0] for q in server.observation_searches()]
    assert set(asked) == {f"{SYSTEM}|laboratory", f"{SYSTEM}|vital-signs"}  # no plain search
    granted = {n for n in range(OBSERVATIONS) if _categories(n) & {"laboratory", "vital-signs"}}
    assert set(_observations(session)) == {f"obs-{n}" for n in granted}
