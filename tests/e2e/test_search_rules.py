"""Real EHR search rules, against the e2e SMART server in the modes that copy them: a required
`category` (Epic, US Core), outcome entries, no `_lastUpdated`, a silent `_count` cap, next
links that do not repeat the search. The same Synthea patient syncs through each: every
Observation with a US Core category, every Condition and every note arrives, once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from phr_desktop.cli import main
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from tests.conftest import PASSPHRASE
from tests.e2e.test_smart_sync import _browser

CLIENT_ID = "phr-desktop-test"
NAME = "Local SMART"
CATEGORY_TYPES = ("Observation", "Condition", "DocumentReference")
US_CORE_OBSERVATION_CATEGORIES = {
    "laboratory", "vital-signs", "social-history", "survey", "sdoh", "exam", "imaging",
    "procedure", "therapy", "activity", "clinical-test",
}  # fmt: skip
CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
# Added to the Synthea patient: a spirometry result filed only under US Core 6's clinical-test,
# and an AAT level a server files under two categories (it must be stored once).
FEV1_ID = "fev1-clinical-test"
AAT_ID = "aat-two-categories"


def _observation(resource_id: str, subject: str, categories: list[str], code: str) -> Any:
    return {
        "fullUrl": f"urn:uuid:{resource_id}",
        "resource": {
            "resourceType": "Observation",
            "id": resource_id,
            "status": "final",
            "category": [
                {"coding": [{"system": CATEGORY_SYSTEM, "code": category}]}
                for category in categories
            ],
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "subject": {"reference": subject},
            "effectiveDateTime": "2024-05-01",
            "valueQuantity": {"value": 2.1, "unit": "L"},
        },
    }


@pytest.fixture(scope="session")
def rules_seed(synthea_seed: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    bundle = json.loads(synthea_seed.read_text())
    patient = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    subject = patient["fullUrl"]
    bundle["entry"] += [
        _observation(FEV1_ID, subject, ["clinical-test"], "20150-9"),
        _observation(AAT_ID, subject, ["laboratory", "clinical-test"], "1825-9"),
    ]
    dest = tmp_path_factory.mktemp("rules-seed") / "rules.json"
    dest.write_text(json.dumps(bundle))
    return dest


def _expected(seed: Path) -> dict[str, set[str]]:
    """What must arrive, read from the seed without phr_desktop."""
    out: dict[str, set[str]] = {t: set() for t in CATEGORY_TYPES}
    for entry in json.loads(seed.read_text())["entry"]:
        resource = entry["resource"]
        rtype = resource["resourceType"]
        if rtype == "Observation":
            codes = {c.get("code") for cat in resource.get("category", []) for c in cat["coding"]}
            if not codes & US_CORE_OBSERVATION_CATEGORIES:
                continue
        if rtype in out:
            out[rtype].add(resource["id"])
    return out


@pytest.fixture
def profile(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _ = profiles.create("e2e", PASSPHRASE)
    with session:
        yield session


def _connect(session: Session, server: Any) -> None:
    session.connections.connect(
        server.base, client_id=CLIENT_ID, name=NAME, open_url=_browser(), timeout=30
    )


def _stored(session: Session, rtype: str) -> tuple[set[str], int]:
    """(ids, rows) of the current raw resources of a type: equal sizes mean stored once."""
    rows = session.vault.conn.execute(
        "SELECT resource_id FROM raw_resources WHERE resource_type = ? AND is_current = 1",
        (rtype,),
    ).fetchall()
    return {r[0] for r in rows}, len(rows)


def _searches(server: Any, rtype: str) -> list[dict[str, list[str]]]:
    """The query parameters of every search the server was sent for a type, in order."""
    out = []
    for query in server.stats()["queries"]:
        parts = urlsplit(query)
        if parts.path == f"/fhir/{rtype}":
            out.append(parse_qs(parts.query))
    return out


MODES = {
    "category required": {"require_category": CATEGORY_TYPES},
    "category required, said in the CapabilityStatement": {
        "require_category": CATEGORY_TYPES, "declare_category_combinations": True,
    },
    "outcome entries": {"outcome_entries": True},
    "no _lastUpdated": {"no_last_updated": True},
    "page size capped silently": {"max_count": 40},
    "next links without the search's parameters": {"opaque_next_links": True, "max_count": 100},
    "all of them, as Epic": {
        "require_category": CATEGORY_TYPES, "outcome_entries": True, "no_last_updated": True,
        "max_count": 100, "opaque_next_links": True,
    },
}  # fmt: skip


@pytest.mark.parametrize("mode", list(MODES))
def test_every_observation_condition_and_note_arrives_once(
    profile: Session, start_smart_server, rules_seed: Path, mode: str
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(rules_seed, **MODES[mode])
    _connect(profile, server)
    report = profile.connections.sync()[NAME]
    assert not report.failed, report.outcomes
    expected = _expected(rules_seed)
    outcomes = {o.resource_type: o for o in report.outcomes}
    for rtype in CATEGORY_TYPES:
        ids, rows = _stored(profile, rtype)
        assert expected[rtype] <= ids, (rtype, len(expected[rtype] - ids))
        assert rows == len(ids) == outcomes[rtype].fetched
    assert {FEV1_ID, AAT_ID} <= _stored(profile, "Observation")[0]
    assert _stored(profile, "OperationOutcome") == (set(), 0)
    again = profile.connections.sync(full=True)[NAME]
    assert not again.failed and again.counts.new == 0 and again.marked_missing == 0


def test_the_first_refused_search_switches_to_categories_and_it_is_remembered(
    profile: Session, start_smart_server, rules_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(rules_seed, require_category=CATEGORY_TYPES)
    _connect(profile, server)
    profile.connections.sync()
    first = _searches(server, "Observation")
    assert "category" not in first[0]  # tried plain first, refused with 400
    asked = {q["category"][0] for q in first[1:] if "category" in q}
    assert asked == US_CORE_OBSERVATION_CATEGORIES
    assert profile.connections.statuses()[0].searches == {
        "Condition": "per category", "DocumentReference": "per category",
        "Observation": "per category",
    }  # fmt: skip
    server.reset_stats()
    report = profile.connections.sync()[NAME]
    assert not report.failed
    for rtype in CATEGORY_TYPES:
        assert all("category" in q for q in _searches(server, rtype)), rtype


def test_a_capability_statement_requiring_category_means_no_plain_search_is_sent(
    profile: Session, start_smart_server, rules_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(
        rules_seed, require_category=CATEGORY_TYPES, declare_category_combinations=True
    )
    _connect(profile, server)
    report = profile.connections.sync()[NAME]
    assert not report.failed
    statuses = [r["status"] for r in server.stats()["recent"] if r["path"] != "/fhir/metadata"]
    assert 400 not in statuses
    for rtype in CATEGORY_TYPES:
        assert _searches(server, rtype) and all("category" in q for q in _searches(server, rtype))


def test_outcome_entries_are_warnings_on_the_connection_never_records(
    profile: Session, start_smart_server, rules_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(rules_seed, outcome_entries=True)
    _connect(profile, server)
    report = profile.connections.sync()[NAME]
    assert not report.failed
    assert {o.resource_type for o in report.warnings} >= set(CATEGORY_TYPES)
    assert all("Some results may be hidden" in o.detail for o in report.warnings)
    status = profile.connections.statuses()[0]
    assert "Some results may be hidden" in status.warnings["Observation"]
    assert _stored(profile, "OperationOutcome") == (set(), 0)


def test_a_server_refusing_last_updated_is_synced_in_full_quietly_and_remembered(
    profile: Session, start_smart_server, rules_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(rules_seed, require_category=CATEGORY_TYPES, no_last_updated=True)
    _connect(profile, server)
    profile.connections.sync()
    server.put_resource(
        {
            "resourceType": "Observation", "id": "new-aat-level", "status": "final",
            "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": "laboratory"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "1825-9"}]},
            "subject": {"reference": f"Patient/{server.patient}"},
            "effectiveDateTime": "2025-06-01", "valueQuantity": {"value": 24, "unit": "mg/dL"},
        }
    )  # fmt: skip
    server.reset_stats()
    second = profile.connections.sync()[NAME]
    assert not second.failed and not second.warnings  # quietly
    assert second.counts.new == 1 and "new-aat-level" in _stored(profile, "Observation")[0]
    refused = [q for q in _searches(server, "Observation") if "_lastUpdated" in q]
    assert refused  # it was asked for, per category, and the refusal dropped it
    assert profile.connections.statuses()[0].searches["Observation"] == "per category, in full"
    server.reset_stats()
    third = profile.connections.sync()[NAME]
    assert not third.failed and third.counts.new == 0
    assert not any("_lastUpdated" in q for q in server.stats()["queries"])  # remembered


def test_a_type_refused_every_way_is_failed_and_phr_sync_exits_3_naming_what_is_missing(
    data_dir: Path,
    profiles: Profiles,
    fast_kdf: None,
    start_smart_server,
    rules_seed: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(rules_seed)
    session, _ = profiles.create("e2e", PASSPHRASE)
    with session:
        _connect(session, server)
    server.faults(refuse_type="Observation", status=400)
    monkeypatch.setenv("PHR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("PHR_PASSPHRASE", PASSPHRASE)
    code = main(["--profile", "e2e", "sync"])
    _out, err = capsys.readouterr()
    assert code == 3
    assert "lab results, vital signs and other observations not fetched" in err
    assert "400" in err
    main(["--profile", "e2e", "connections"])
    assert "Missing: Observation" in capsys.readouterr().out
    code = main(["--profile", "e2e", "connections", "--json"])
    (connection,) = orjson.loads(capsys.readouterr().out)
    assert connection["types"]["Observation"]["status"] == "failed"
    assert "Observation" in connection["missing"]
    assert connection["types"]["Condition"]["status"] == "ok"
    # Every strategy was tried: plain, then each category.
    assert {q.get("category", [""])[0] for q in _searches(server, "Observation")} == (
        US_CORE_OBSERVATION_CATEGORIES | {""}
    )


def test_a_403_outside_the_granted_scope_stays_skipped_and_no_category_is_tried(
    profile: Session, start_smart_server, rules_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(rules_seed)
    _connect(profile, server)
    server.faults(refuse_type="Observation", status=403)
    report = profile.connections.sync()[NAME]
    observation = next(o for o in report.outcomes if o.resource_type == "Observation")
    assert observation.status == "skipped" and not report.failed
    assert len(_searches(server, "Observation")) == 1


def test_a_drop_mid_category_resumes_from_that_category_with_nothing_lost_or_doubled(
    profile: Session, start_smart_server, rules_seed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("phr_desktop.smart.fhir_client.time.sleep", lambda _s: None)
    monkeypatch.setattr("phr_desktop.smart.sync.PAGE_SIZE", 100)
    server = start_smart_server(rules_seed, require_category=CATEGORY_TYPES)
    _connect(profile, server)
    server.faults(drop_after_requests=14)
    first = profile.connections.sync()[NAME]
    assert first.failed
    server.faults(clear=True)
    server.reset_stats()
    second = profile.connections.sync()[NAME]
    assert not second.failed, second.outcomes
    assert not any("category" not in q for q in _searches(server, "Observation"))
    expected = _expected(rules_seed)
    for rtype in CATEGORY_TYPES:
        ids, rows = _stored(profile, rtype)
        assert expected[rtype] <= ids and rows == len(ids), rtype


def test_incremental_sync_uses_the_ge_comparator_that_oracle_health_takes(
    profile: Session, start_smart_server, rules_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(rules_seed, last_updated_prefixes=("ge", "le"))
    _connect(profile, server)
    profile.connections.sync()
    server.put_resource(
        {
            "resourceType": "MedicationRequest", "id": "new-augmentation", "status": "active",
            "intent": "order", "subject": {"reference": f"Patient/{server.patient}"},
            "medicationCodeableConcept": {"text": "alpha-1 proteinase inhibitor"},
        }
    )  # fmt: skip
    server.reset_stats()
    report = profile.connections.sync()[NAME]
    assert not report.failed and report.counts.new == 1
    statuses = [r["status"] for r in server.stats()["recent"]]
    assert 400 not in statuses  # asked as the server takes it: no refusal, no full re-fetch
    assert all(
        q["_lastUpdated"][0].startswith("ge") for q in _searches(server, "MedicationRequest")
    )
    assert "MedicationRequest" not in profile.connections.statuses()[0].searches


def test_a_resumed_sync_whose_next_link_expired_starts_the_search_over_and_loses_nothing(
    profile: Session, start_smart_server, rules_seed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("phr_desktop.smart.fhir_client.time.sleep", lambda _s: None)
    monkeypatch.setattr("phr_desktop.smart.sync.PAGE_SIZE", 100)
    server = start_smart_server(rules_seed, opaque_next_links=True)
    _connect(profile, server)
    server.faults(drop_after_requests=10)
    assert profile.connections.sync()[NAME].failed  # stopped mid-chain, next links stored
    server.faults(clear=True)
    assert server.expire_pages() > 0  # the paging session is over
    server.reset_stats()
    report = profile.connections.sync()[NAME]
    assert not report.failed, report.outcomes
    assert 400 in [r["status"] for r in server.stats()["recent"]]  # the stale link was refused
    assert profile.connections.statuses()[0].searches == {}  # not taken for a category rule
    expected = _expected(rules_seed)
    outcomes = {o.resource_type: o for o in report.outcomes}
    for rtype in CATEGORY_TYPES:
        ids, rows = _stored(profile, rtype)
        assert expected[rtype] <= ids and rows == len(ids), rtype
    observation_ids, _rows = _stored(profile, "Observation")
    assert outcomes["Observation"].fetched == len(observation_ids)  # counted once
    full = profile.connections.sync(full=True)[NAME]
    assert full.counts.new == 0 and full.marked_missing == 0
