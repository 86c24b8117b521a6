"""One fact once, as the store keeps it while records arrive: the links an import writes are
the ones a full relink would compute, and linking a new file costs what the new file brings,
not every repeat stored before it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phr_desktop.domain.same_fact import TIMELESS_KINDS, same_moment
from phr_desktop.services.terminology import normalise_resource
from phr_desktop.vault import fact_links
from phr_desktop.vault.database import Connection, open_memory_database, transaction
from phr_desktop.vault.migrations import migrate
from phr_desktop.vault.store import RecordStore
from tests.vault.vm_steps import vm_steps

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"


@dataclass(frozen=True)
class _Incoming:
    """A resource as a file brings it (what RecordStore.write_resources reads)."""

    resource: dict[str, Any]

    @property
    def body(self) -> bytes:
        return orjson.dumps(self.resource)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()

    @property
    def resource_type(self) -> str:
        return str(self.resource["resourceType"])

    @property
    def resource_id(self) -> str:
        return str(self.resource["id"])


def _condition(rid: str, code: str, onset: str, updated: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "meta": {"lastUpdated": updated},
        "code": {"coding": [{"system": SNOMED, "code": code}], "text": f"Problem {code}"},
        "onsetDateTime": onset,
    }


def _observation(rid: str, code: str, when: str, value: float, updated: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "meta": {"lastUpdated": updated},
        "status": "final",
        "category": [{"coding": [{"code": "laboratory"}]}],
        "code": {"coding": [{"system": LOINC, "code": code}], "text": f"Lab {code}"},
        "effectiveDateTime": when,
        "valueQuantity": {"value": value, "unit": "g/dL"},
    }


@pytest.fixture
def conn() -> Iterator[Connection]:
    connection = open_memory_database()
    migrate(connection, Path(":memory:"))
    yield connection
    connection.close()


def _write_file(conn: Connection, source: str, name: str, resources: list[dict[str, Any]]) -> None:
    """One file of one source, written the way an import writes it."""
    store = RecordStore(conn)
    with transaction(conn):
        source_id = store.ensure_source("fhir_file", source)
        document_id = store.add_document(source_id, name, "application/fhir+json", name.encode())
        items = [_Incoming(r) for r in resources]
        store.write_resources(source_id, document_id, items, normalise_resource, source)


def _shown_and_repeats(conn: Connection) -> dict[int, int | None]:
    return dict(conn.execute("SELECT id, same_as FROM records ORDER BY id").fetchall())


def _links_by_the_rule(conn: Connection) -> dict[int, int | None]:
    """The links as the matching rule states them, worked out naively from every stored
    record (no index, no shortcut): in id order, a record repeats the first earlier shown
    record of its fact key that is the same moment (same_fact.same_moment), or for a problem
    or allergy the first shown record of another source or file, unless the patient split
    the two."""
    rows = conn.execute(
        "SELECT r.id, r.fact_key, r.effective, r.precision, r.kind, r.source_id, w.document_id "
        "FROM records r JOIN raw_resources w ON w.id = r.raw_id ORDER BY r.id"
    ).fetchall()
    splits = set(conn.execute("SELECT record_id, other_id FROM record_splits").fetchall())
    links: dict[int, int | None] = {}
    shown: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows:
        rid, key, effective, precision, kind, source, document = row
        links[rid] = None
        if key is None:
            continue
        earlier = shown.setdefault(key, [])
        if kind in TIMELESS_KINDS:
            first_of_origin: dict[tuple[int, int | None], tuple[Any, ...]] = {}
            for other in earlier:
                first_of_origin.setdefault((other[5], other[6]), other)
            candidates = [
                o for origin, o in first_of_origin.items() if origin != (source, document)
            ]
        else:
            candidates = [o for o in earlier if same_moment(o[2], o[3], effective, precision)]
        together = [o[0] for o in candidates if (min(o[0], rid), max(o[0], rid)) not in splits]
        links[rid] = together[0] if together else None
        if links[rid] is None:
            earlier.append(row)
    return links


def _kept_counts(conn: Connection) -> dict[tuple[str, str, str], int]:
    """The timeline's counts as the triggers keep them (rows counting nothing skipped)."""
    rows = conn.execute(
        "SELECT bucket, kind, source_system, shown FROM timeline_counts WHERE shown != 0"
    )
    return {(b, k, s): n for b, k, s, n in rows}


def _counted_now(conn: Connection) -> dict[tuple[str, str, str], int]:
    """The same counts taken from the records themselves."""
    rows = conn.execute(
        "SELECT coalesce(substr(sort_date, 1, 7), ''), kind, source_system, count(*) "
        "FROM records WHERE same_as IS NULL GROUP BY 1, 2, 3"
    )
    return {(b, k, s): n for b, k, s, n in rows}


# --- the links an import writes are a full relink's ---------------------------------------------

_ids = st.sampled_from(["a", "b", "c", "d"])
_updated = st.sampled_from(["2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z"])
_conditions = st.builds(
    _condition,
    _ids,
    st.sampled_from(["38341003", "195951007"]),
    st.sampled_from(["2016-07-30T10:00:00Z", "2022-02-11"]),
    _updated,
)
_observations = st.builds(
    _observation,
    _ids,
    st.sampled_from(["718-7", "2345-7"]),
    # the same minute, another second of it, the same minute with an offset, another minute,
    # only the day, another day
    st.sampled_from(
        [
            "2021-03-04T10:00:00Z",
            "2021-03-04T10:00:30Z",
            "2021-03-04T05:00:00-05:00",
            "2021-03-04T11:00:00Z",
            "2021-03-04",
            "2021-03-05T10:00:00Z",
        ]
    ),
    st.sampled_from([12.5, 13.0]),
    _updated,
)
_files = st.lists(
    st.tuples(
        st.sampled_from(["Clinic", "Portal", "Lab"]),
        st.lists(st.one_of(_conditions, _observations), min_size=1, max_size=6),
        st.booleans(),  # split the first repeat found from its record afterwards
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(files=_files)
def test_links_written_file_by_file_are_the_rules_and_a_full_relinks(
    files: list[tuple[str, list[dict[str, Any]], bool]],
) -> None:
    # Resources of one source with one id are versions of each other: a later file rewrites
    # a record in place (its fact may change), keeps the older version, or changes nothing.
    conn = open_memory_database()
    try:
        migrate(conn, Path(":memory:"))
        for number, (source, resources, split_one) in enumerate(files):
            _write_file(conn, source, f"file-{number}.json", resources)
            written = _shown_and_repeats(conn)
            with transaction(conn):
                assert fact_links.relink_all(conn) == 0, "a full relink would change links"
            assert _shown_and_repeats(conn) == written
            assert written == _links_by_the_rule(conn), "the links differ from the rule's"
            assert _kept_counts(conn) == _counted_now(conn), "the timeline counts drifted"
            repeat = next(((r, s) for r, s in written.items() if s is not None), None)
            if split_one and repeat is not None:
                with transaction(conn):
                    fact_links.split(conn, *repeat)
    finally:
        conn.close()


# --- linking costs what the new file brings ----------------------------------------------------


def test_a_new_file_is_linked_against_the_shown_record_of_a_fact_not_each_earlier_repeat(
    conn: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Thirty portal downloads each listing the same problem: one record shown, 29 repeats.
    for number in range(30):
        problem = _condition(f"p{number}", "38341003", "2016-07-30", "2024-01-01T00:00:00Z")
        _write_file(conn, "Portal", f"download-{number}.json", [problem])
    assert sum(s is None for s in _shown_and_repeats(conn).values()) == 1

    read: list[int] = []
    member = fact_links._Member

    def counted(record_id: int, *rest: Any) -> Any:
        read.append(record_id)
        return member(record_id, *rest)

    monkeypatch.setattr(fact_links, "_Member", counted)
    latest = _condition("p30", "38341003", "2016-07-30", "2024-01-01T00:00:00Z")
    _write_file(conn, "Portal", "download-30.json", [latest])

    links = _shown_and_repeats(conn)
    first, newest = min(links), max(links)
    assert links[newest] == first, "the new file's problem repeats the one shown"
    assert sorted(read) == [first, newest], "only the shown record and the new one were read"


def test_a_record_rewritten_by_a_new_version_is_relinked_with_its_whole_fact(
    conn: Connection,
) -> None:
    lab = _observation("o1", "718-7", "2021-03-04T10:00:00Z", 12.5, "2024-01-01T00:00:00Z")
    _write_file(conn, "Clinic", "clinic.json", [lab])
    _write_file(conn, "Portal", "portal.json", [{**lab, "id": "o2"}])
    clinic, portal = sorted(_shown_and_repeats(conn))
    assert _shown_and_repeats(conn) == {clinic: None, portal: clinic}

    # The clinic corrects its result: the portal's copy is now the only one of that value.
    corrected = {**lab, "meta": {"lastUpdated": "2024-06-01T00:00:00Z"}}
    corrected["valueQuantity"] = {"value": 13.0, "unit": "g/dL"}
    _write_file(conn, "Clinic", "clinic-corrected.json", [corrected])
    assert _shown_and_repeats(conn) == {clinic: None, portal: None}

    # And back: the portal's copy joins the clinic's record again.
    _write_file(conn, "Clinic", "clinic-again.json", [{**lab, "meta": {"lastUpdated": "2025"}}])
    assert _shown_and_repeats(conn) == {clinic: None, portal: clinic}


# --- each record is written once ------------------------------------------------------------


def test_a_record_that_repeats_a_stored_fact_is_inserted_as_a_repeat_not_updated_to_one(
    conn: Connection,
) -> None:
    lab = _observation("o1", "718-7", "2021-03-04T10:00:00Z", 12.5, "2024-01-01T00:00:00Z")
    problem = _condition("p1", "38341003", "2016-07-30", "2024-01-01T00:00:00Z")
    _write_file(conn, "Clinic", "clinic.json", [lab, problem])

    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        # The portal repeats both, and lists a lab of its own that its own file repeats.
        own = _observation("o9", "2345-7", "2021-03-05T08:00:00Z", 90, "2024-01-01T00:00:00Z")
        portal = [{**lab, "id": "o2"}, {**problem, "id": "p2"}, own, {**own, "id": "o10"}]
        _write_file(conn, "Portal", "portal.json", portal)
    finally:
        conn.set_trace_callback(None)

    clinic_lab, clinic_problem, portal_lab, portal_problem, own_lab, own_again = sorted(
        _shown_and_repeats(conn)
    )
    assert _shown_and_repeats(conn) == {
        clinic_lab: None,
        clinic_problem: None,
        portal_lab: clinic_lab,
        portal_problem: clinic_problem,
        own_lab: None,
        own_again: own_lab,
    }
    updates = [s for s in statements if s.lstrip().upper().startswith("UPDATE RECORDS")]
    assert updates == [], "each record is written once, with its link"
    assert _kept_counts(conn) == _counted_now(conn)


def _vm_steps_to_write(conn: Connection, source: str, resources: list[dict[str, Any]]) -> int:
    """How many SQLite virtual-machine steps writing one file takes (rows visited add steps;
    seeks in a B-tree do not)."""
    name = f"{source}-{len(resources)}.json"
    return vm_steps(conn, lambda: _write_file(conn, source, name, resources))


@pytest.mark.parametrize("repeats", [20, 200])
def test_linking_a_new_file_does_not_walk_the_repeats_stored_before_it(
    conn: Connection, repeats: int
) -> None:
    # One person's files from many sources list the same problem: one shown, many repeats.
    # The fact is one index probe whatever their number, as measured against a fact with
    # a single record: the same file, written beside the same vault but for the repeats.
    problem = _condition("p", "38341003", "2016-07-30", "2024-01-01T00:00:00Z")
    other = _condition("q", "195951007", "2016-07-30", "2024-01-01T00:00:00Z")
    for number in range(repeats):
        _write_file(conn, f"Source {number}", f"s{number}.json", [{**problem, "id": f"p{number}"}])
        _write_file(conn, f"Other {number}", f"o{number}.json", [{**other, "id": f"q{number}"}])
    shown = {key: n for key, n in conn.execute(
        "SELECT fact_key, count(*) FROM records WHERE same_as IS NULL GROUP BY fact_key"
    )}  # fmt: skip
    assert sorted(shown.values()) == [1, 1], "two facts, each shown once"

    baseline = _vm_steps_to_write(conn, "Fresh", [_condition("n", "1", "2016", "2024")])
    repeating = _vm_steps_to_write(conn, "Latest", [{**problem, "id": "p-last"}])
    # Linking one record reads one shown record: a few dozen steps, not one per repeat.
    assert repeating - baseline < 60, (repeating, baseline)


def test_a_files_records_are_counted_for_the_timeline_once_per_month_kind_and_source(
    conn: Connection,
) -> None:
    # Twelve results of one month and kind, three of another month, and a repeat of one.
    labs = [
        _observation(f"o{n}", "718-7", f"2021-03-{n + 1:02d}T10:00:00Z", 12.5, "2024")
        for n in range(12)
    ] + [
        _observation(f"p{n}", "718-7", f"2021-04-{n + 1:02d}T10:00:00Z", 12.5, "2024")
        for n in range(3)
    ]
    _write_file(conn, "Clinic", "clinic.json", labs[:1])
    # Every row written to the counts, however it is written (a trigger or a statement).
    conn.execute("CREATE TEMP TABLE count_writes (n INTEGER NOT NULL)")
    conn.execute("INSERT INTO count_writes VALUES (0)")
    for event in ("INSERT", "UPDATE"):
        conn.execute(
            f"CREATE TEMP TRIGGER counted_{event.lower()} AFTER {event} ON main.timeline_counts "
            "BEGIN UPDATE count_writes SET n = n + 1; END"
        )
    _write_file(conn, "Portal", "portal.json", labs)

    (writes,) = conn.execute("SELECT n FROM count_writes").fetchone()
    assert writes == 2, "one write per (month, kind, source) the file adds to, not per record"
    assert _kept_counts(conn) == _counted_now(conn)
    march = ("2021-03", "lab_result", "Portal")
    assert _kept_counts(conn)[march] == 11, "the repeat of the clinic's result is not counted"
