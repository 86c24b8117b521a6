"""The medicines taken now, and what arrived since the last sync."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from phr_desktop.services.dashboard_lists import current_medications, new_since_last_sync
from phr_desktop.services.demo import open_demo
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.sensitivity import label_records
from phr_desktop.services.session import Session
from phr_desktop.vault import summary_reads
from phr_desktop.vault.connections import ConnectionStore
from phr_desktop.vault.database import transaction


@pytest.fixture
def demo(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _created = open_demo(profiles)
    with session:
        yield session


def test_current_medications_are_the_active_prescriptions_not_the_infusion_log(
    demo: Session,
) -> None:
    titles = sorted(s.record.title for s in current_medications(demo))
    assert titles == [
        "Albuterol HFA 90 mcg/actuation inhaler",
        "Tiotropium 18 mcg inhalation capsule (Spiriva HandiHaler)",
        "Zemaira 60 mg/kg IV weekly",
    ]  # the stopped and completed ones and 125 infusions are not "taken now"


def test_new_since_the_last_sync_is_what_was_stored_after_it_began(demo: Session) -> None:
    _synced_before(demo)
    assert new_since_last_sync(demo) == []
    note_id = demo.entries.add_note("Breathless on the stairs.", "2026-11-21")
    assert [s.id for s in new_since_last_sync(demo)] == [note_id]


def test_without_any_sync_or_import_nothing_is_new(session: Session) -> None:
    assert new_since_last_sync(session) == []
    assert current_medications(session) == []


def _synced_before(session: Session) -> None:
    """Everything stored so far came with a sync that ended on 2026-11-20."""
    conn = session.vault.conn
    with transaction(conn):
        conn.execute("UPDATE raw_resources SET fetched_at = '2026-01-01T00:00:00+00:00'")
        source_id = session.store.ensure_source("smart", "City Hospital", {})
        store = ConnectionStore(conn)
        connection_id = store.add(
            "City Hospital", "https://fhir.city.example/R4", "app-1", source_id, "p1", "", {}
        )
        store.update(connection_id, last_sync_at="2026-11-20T09:30:00+00:00")


@pytest.mark.parametrize("window", [2_000, 5])
def test_something_new_with_an_old_date_is_found_past_the_newest_records(
    demo: Session, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The newest records are looked at first; when the new ones are not among them (a
    window of 5), the arrival-time index finds them, whatever their date."""
    monkeypatch.setattr(summary_reads, "_NEWEST_WINDOW", window)
    _synced_before(demo)
    old_note = demo.entries.add_note("Remembered: pneumonia as a child.", "1979-05-01")
    new_note = demo.entries.add_note("Breathless on the stairs.", "2026-11-21")
    assert [s.id for s in new_since_last_sync(demo)] == [new_note, old_note]


def test_new_since_the_last_sync_shows_one_fact_once_and_no_restricted_record(
    session: Session, demo_files: list[Path]
) -> None:
    session.import_paths(demo_files, source_name="Portal download")
    _synced_before(session)
    session.import_paths(demo_files, source_name="Another copy")  # every fact again
    assert new_since_last_sync(session) == []
    note_id = session.entries.add_note("Breathless on the stairs.", "2026-11-21")
    assert [s.id for s in new_since_last_sync(session)] == [note_id]
    label_records(session, [note_id], "restricted")
    assert new_since_last_sync(session) == []
