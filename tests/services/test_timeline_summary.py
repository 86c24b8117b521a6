"""The timeline's counts kept on write (issue 16): the months, kinds and sources the timeline
starts from always equal a full count over the records shown (each fact once), through
imports, a deleted source, a split and its undo, a reindex and an upgrade; restricted records
stay out of them; and one month's rows, read a page at a time, are the timeline's own rows in
its own order, so the timeline never needs a list of every id."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.sensitivity import hide_restricted, label_records, reveal_restricted
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.vault import queries as queries_module
from phr_desktop.vault.connections import ConnectionStore
from phr_desktop.vault.database import transaction
from tests.conftest import PASSPHRASE

DATA = Path(__file__).resolve().parent.parent / "data"
REBECCA_IPATIENTCARE = DATA / "identity" / "rebecca_larson_ipatientcare.xml"
REBECCA_MCKESSON = DATA / "identity" / "rebecca_larson_mckesson.xml"
KAREN = DATA / "identity" / "karen_mckiney_successehs.xml"
SAVED_VAULTS = {
    "schema1": "schema one passphrase",
    "schema4": "schema four passphrase",
    "schema5": "schema five passphrase",
    "schema6": "schema six passphrase",
}


def _kept(session: Session) -> list[tuple[str, str, str, int]]:
    """What `timeline_counts` holds (rows counting nothing are left in place, and skipped)."""
    return sorted(
        session.vault.conn.execute(
            "SELECT bucket, kind, source_system, shown FROM timeline_counts WHERE shown != 0"
        )
    )


def _counted_now(session: Session) -> list[tuple[str, str, str, int]]:
    """The same counts by a pass over every record shown."""
    return sorted(
        session.vault.conn.execute(
            "SELECT coalesce(substr(sort_date, 1, 7), ''), kind, coalesce(source_system, ''), "
            "count(*) FROM records WHERE same_as IS NULL GROUP BY 1, 2, 3"
        )
    )


def _timeline_by_scan(session: Session) -> list[tuple[str, str | None, str, int]]:
    """The timeline's (year, month, kind, count) as the app counted them before the summary."""
    rows = session.vault.conn.execute(
        "SELECT substr(r.sort_date, 1, 4) AS y, "
        "CASE WHEN length(r.sort_date) >= 7 THEN substr(r.sort_date, 6, 2) END AS m, "
        "r.kind, count(*) FROM records r WHERE r.same_as IS NULL GROUP BY y, m, r.kind "
        "ORDER BY y IS NULL, y DESC, m IS NULL, m DESC, r.kind"
    )
    return [(y or "undated", m, kind, n) for y, m, kind, n in rows]


def _sources_by_scan(session: Session) -> list[str]:
    return [
        row[0]
        for row in session.vault.conn.execute(
            "SELECT DISTINCT source_system FROM records WHERE same_as IS NULL "
            "AND source_system IS NOT NULL ORDER BY source_system"
        )
    ]


def _tags_by_scan(session: Session) -> list[str]:
    return [r[0] for r in session.vault.conn.execute("SELECT DISTINCT tag FROM record_tags")]


def _assert_summary_is_true(session: Session) -> None:
    assert _kept(session) == _counted_now(session)
    assert session.timeline() == _timeline_by_scan(session)
    assert session.source_systems() == _sources_by_scan(session)
    assert session.tags() == sorted(_tags_by_scan(session))
    assert session.counts_by_kind() == dict(
        session.vault.conn.execute(
            "SELECT kind, count(*) FROM records WHERE same_as IS NULL GROUP BY kind"
        )
    )
    assert sum(n for _bucket, n in session.timeline_months()) == len(session.record_ids())


def _rows_by_month(session: Session, f: RecordFilter) -> list[int]:
    """Every row of the timeline read month by month, a few rows a page."""
    ids: list[int] = []
    for bucket, count in session.timeline_months(f):
        month: list[int] = []
        while len(month) < count:
            page = session.timeline_page(f, bucket, len(month), 7)
            assert page, f"{bucket} counted {count} rows but holds {len(month)}"
            month.extend(s.id for s in page)
        assert len(month) == count
        assert session.timeline_page(f, bucket, count, 7) == []
        ids.extend(month)
    return ids


def test_a_new_profile_counts_nothing(session: Session) -> None:
    assert _kept(session) == []
    assert session.timeline_months() == [] and session.source_systems() == []
    assert session.tags() == []


def test_the_counts_equal_a_full_count_after_imports(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files[:1])
    _assert_summary_is_true(session)
    session.import_paths(demo_files)
    _assert_summary_is_true(session)
    assert len(session.source_systems()) >= 2


def test_the_counts_follow_facts_shared_split_and_joined_again_and_a_reindex(
    session: Session,
) -> None:
    session.import_paths([REBECCA_IPATIENTCARE, REBECCA_MCKESSON])
    _assert_summary_is_true(session)  # the second EHR's repeats are not counted
    problems = session.records(RecordFilter(kinds=("problem",)))
    target = next(s for s in problems if "hypertension" in s.record.title.casefold())
    first, other = (s.id for s in session.same_fact_records(target.id)[:2])
    before = session.timeline()

    session.split_records(first, other)
    _assert_summary_is_true(session)
    assert sum(n for *_, n in session.timeline()) == sum(n for *_, n in before) + 1
    session.reindex()
    _assert_summary_is_true(session)
    session.undo_split(first, other)
    _assert_summary_is_true(session)
    assert session.timeline() == before


def test_the_counts_follow_a_source_deleted_with_its_connection(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files[:1], source_name="Riverside download")
    session.import_paths(demo_files[1:])
    conn = session.vault.conn
    (source_id,) = conn.execute(
        "SELECT id FROM sources WHERE name = 'Riverside download'"
    ).fetchone()
    with transaction(conn):
        ConnectionStore(conn).add(
            "Riverside", "https://riverside.test/fhir", "app", source_id, "p1", "s", {}
        )
    before = sum(n for _bucket, n in session.timeline_months())

    session.connections.disconnect("Riverside", delete_data=True)
    _assert_summary_is_true(session)
    assert 0 < sum(n for _bucket, n in session.timeline_months()) < before


def test_another_persons_file_held_back_leaves_the_counts_as_they_were(
    session: Session,
) -> None:
    session.import_paths([REBECCA_IPATIENTCARE])
    before = _kept(session)
    report = session.import_paths([KAREN])
    assert [f.status for f in report.files] == ["other_person"]
    assert _kept(session) == before  # written, then rolled back with the file
    _assert_summary_is_true(session)


def test_a_new_entry_is_counted_in_its_month(session: Session) -> None:
    session.entries.add_lab_result("Ferritin", 42.0, "ng/mL", "2019-07-14")
    _assert_summary_is_true(session)
    assert session.timeline_months(RecordFilter(kinds=("lab_result",))) == [("2019-07", 1)]


def test_restricted_records_leave_the_counts_until_revealed(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files)
    f = RecordFilter(kinds=("lab_result",))
    (bucket, count), *_ = session.timeline_months(f)
    newest = session.timeline_page(f, bucket, 0, 1)[0]

    label_records(session, [newest.id], "restricted")
    assert session.timeline_months(f)[0] == (bucket, count - 1)
    assert session.counts_by_kind()["lab_result"] == len(session.record_ids(f))
    assert newest.id not in _rows_by_month(session, f)
    assert sum(n for _b, n in session.timeline_months()) == len(session.record_ids())
    with_restricted = RecordFilter(kinds=("lab_result",), include_restricted=True)
    assert session.timeline_months(with_restricted)[0] == (bucket, count)

    reveal_restricted(session, PASSPHRASE)
    assert session.timeline_months(f)[0] == (bucket, count)
    hide_restricted(session)
    label_records(session, [newest.id], None)
    assert session.timeline_months(f)[0] == (bucket, count)


@pytest.mark.parametrize(
    "f",
    [
        RecordFilter(),
        RecordFilter(kinds=("lab_result",)),
        RecordFilter(kinds=("lab_result", "medication"), since="2015"),
        RecordFilter(source_system="Riverside Pulmonary (Epic)"),
        RecordFilter(tag="aatd"),
        RecordFilter(text="FEV1"),
        RecordFilter(until="2019-06"),
        RecordFilter(every_source=True),
    ],
    ids=["all", "kind", "kinds-since", "source", "tag", "words", "until", "every-source"],
)
def test_months_read_page_by_page_are_the_timeline_in_its_order(
    session: Session, demo_files: list[Path], f: RecordFilter
) -> None:
    session.import_paths(demo_files)
    assert _rows_by_month(session, f) == session.record_ids(f) != []


def test_a_record_is_found_at_its_month_and_row(session: Session, demo_files: list[Path]) -> None:
    session.import_paths(demo_files)
    f = RecordFilter(kinds=("lab_result", "vital_sign"))
    for bucket, count in session.timeline_months(f):
        for row, stored in enumerate(session.timeline_page(f, bucket, 0, count)):
            assert session.timeline_position(f, stored.id) == (bucket, row)
    medication = session.record_ids(RecordFilter(kinds=("medication",)))[0]
    assert session.timeline_position(f, medication) is None  # filtered out
    assert session.timeline_position(f, -1) is None


@pytest.mark.parametrize("saved", sorted(SAVED_VAULTS))
def test_an_upgraded_vault_starts_with_true_counts(
    profiles: Profiles, fast_kdf: None, saved: str
) -> None:
    shutil.copytree(DATA / "vaults" / saved, profiles.root / "old")
    with profiles.unlock("old", passphrase=SAVED_VAULTS[saved]) as session:
        _assert_summary_is_true(session)
        assert session.timeline_months() != []


@pytest.mark.parametrize("words", ["FEV1", "hepatology", "alpha 1 antitrypsin", "emfysema"])
def test_a_words_filter_lists_the_same_records_read_by_id_or_through_the_index(
    session: Session, demo_files: list[Path], monkeypatch: pytest.MonkeyPatch, words: str
) -> None:
    session.import_paths(demo_files)
    f = RecordFilter(text=words)
    monkeypatch.setattr(queries_module, "_MATCHES_READ_BY_ID", 10**9)
    by_id = (session.record_ids(f), session.timeline_months(f), _rows_by_month(session, f))
    monkeypatch.setattr(queries_module, "_MATCHES_READ_BY_ID", 0)
    through_index = (session.record_ids(f), session.timeline_months(f), _rows_by_month(session, f))
    assert by_id == through_index and by_id[0] != []
