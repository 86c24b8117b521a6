"""Automatic sync schedules and the notices told to the patient: due rules, per-connection
schedules kept in the vault, and notice texts that never carry health data."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from phr_desktop.services.errors import ServiceError
from phr_desktop.services.notices import (
    SCHEDULED_PROBLEM_FILE,
    Notice,
    Notices,
    record_scheduled_problem,
    take_scheduled_problem,
)
from phr_desktop.services.session import Session
from phr_desktop.services.sharing import ShareSelection, create_share
from phr_desktop.services.sync_schedule import SyncSchedules, is_due
from phr_desktop.vault.connections import ConnectionStore, StoredTokens
from phr_desktop.vault.database import transaction

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _connection(
    session: Session,
    name: str,
    *,
    refresh_token: str | None = "refresh",
    expires_at: float | None = None,
    last_sync_at: str | None = None,
    status: str = "active",
) -> int:
    conn = session.vault.conn
    store = ConnectionStore(conn)
    with transaction(conn):
        source_id = session.store.ensure_source("smart", name, {"fhir_base": "https://x.test/"})
        cid = store.add(name, f"https://{name.lower()}.test/fhir", "app", source_id, "p1", "s", {})
        store.save_tokens(cid, StoredTokens("access", refresh_token, expires_at, None))
        fields: dict[str, object] = {"status": status}
        if last_sync_at:
            fields["last_sync_at"] = last_sync_at
        store.update(cid, **fields)
    return cid


@pytest.mark.parametrize(
    ("schedule", "last_sync", "due"),
    [
        ("daily", None, True),
        ("daily", NOW - timedelta(hours=2), False),
        ("daily", NOW - timedelta(hours=23, minutes=30), True),  # a timer a little early
        ("daily", NOW - timedelta(days=3), True),  # overdue at unlock
        ("weekly", NOW - timedelta(days=3), False),
        ("weekly", NOW - timedelta(days=7), True),
        ("off", None, False),
        ("off", NOW - timedelta(days=300), False),
    ],
)
def test_a_connection_is_due_by_its_schedule_and_last_sync(
    schedule: str, last_sync: datetime | None, due: bool
) -> None:
    last = last_sync.isoformat(timespec="seconds") if last_sync else None
    assert is_due(schedule, last, NOW) is due


def test_schedules_are_daily_by_default_kept_per_connection_and_only_active_ones_are_due(
    session: Session,
) -> None:
    yesterday = (NOW - timedelta(days=2)).isoformat(timespec="seconds")
    _connection(session, "Riverside", last_sync_at=yesterday)
    _connection(session, "Lakeside", last_sync_at=yesterday)
    _connection(session, "Hilltop", last_sync_at=yesterday, status="expired")
    schedules = SyncSchedules(session)
    assert schedules.all() == {"Hilltop": "daily", "Lakeside": "daily", "Riverside": "daily"}
    schedules.set("Lakeside", "weekly")
    assert SyncSchedules(session).all()["Lakeside"] == "weekly"
    assert schedules.due(NOW) == ["Riverside"]  # Lakeside is weekly; Hilltop needs reconnecting
    schedules.set("Riverside", "off")
    assert schedules.due(NOW) == []
    assert schedules.due(NOW + timedelta(days=6)) == ["Lakeside"]


def test_a_wrong_schedule_or_name_is_refused_with_a_message_and_nothing_changes(
    session: Session,
) -> None:
    _connection(session, "Riverside")
    with pytest.raises(ServiceError, match="not a sync schedule; choose one of off, daily"):
        SyncSchedules(session).set("Riverside", "hourly")
    with pytest.raises(ServiceError, match=r"no connection named 'Nowhere'.*Riverside"):
        SyncSchedules(session).set("Nowhere", "weekly")
    assert SyncSchedules(session).all() == {"Riverside": "daily"}


def test_a_disconnected_connection_takes_its_schedule_with_it(session: Session) -> None:
    _connection(session, "Riverside")
    SyncSchedules(session).set("Riverside", "weekly")
    session.connections.disconnect("Riverside")
    assert session.vault.conn.execute("SELECT count(*) FROM sync_schedules").fetchone()[0] == 0


def test_access_ending_within_seven_days_is_a_warning_and_a_notice(session: Session) -> None:
    in_three_days = time.time() + 3 * 86400 + 600
    _connection(session, "Riverside", refresh_token=None, expires_at=in_three_days)
    _connection(session, "Lakeside", refresh_token=None, expires_at=time.time() + 30 * 86400)
    _connection(session, "Renewable", refresh_token="r", expires_at=time.time() + 60)
    warnings = Notices(session).connection_warnings()
    expected = "Riverside: access ends in 3 days. Reconnect to keep syncing."
    assert warnings == {"Riverside": [expected]}
    assert [n.text for n in Notices(session).unshown()] == warnings["Riverside"]


def test_a_refused_renewal_asks_to_reconnect(session: Session) -> None:
    _connection(session, "Riverside", status="expired")
    assert Notices(session).connection_warnings() == {
        "Riverside": ["Riverside: the provider refused to renew access. Reconnect to keep syncing."]
    }


def test_a_notice_is_told_once(session: Session) -> None:
    _connection(session, "Riverside", status="expired")
    notices = Notices(session)
    with transaction(session.vault.conn):
        notices.add(Notice("new-results:1:x", "Riverside: 2 new results"))
    first = notices.unshown()
    assert [n.text for n in first] == [
        "Riverside: 2 new results",
        "Riverside: the provider refused to renew access. Reconnect to keep syncing.",
    ]
    notices.mark_shown(first)
    assert notices.unshown() == []
    # The warning stays in `phr connections` while it holds.
    assert Notices(session).connection_warnings()["Riverside"]


def test_an_expired_share_is_a_notice_that_names_neither_recipient_nor_records(
    session: Session, demo_files: list[Path], tmp_path: Path
) -> None:
    session.import_paths(demo_files)
    made = datetime.now(UTC) - timedelta(days=2)
    create_share(
        session, tmp_path / "s.phrshare", ShareSelection(kinds=("lab_result",)),
        "Dr Jones, hepatology", expires="1d", now=made,
    )  # fmt: skip
    texts = [n.text for n in Notices(session).unshown()]
    assert texts == [f"A share you made on {made:%Y-%m-%d} has expired."]
    _assert_no_health_data(session, texts)
    assert "Jones" not in texts[0] and "hepatology" not in texts[0]


def test_a_scheduled_run_that_could_not_unlock_is_told_once_at_the_next_start(
    tmp_path: Path,
) -> None:
    record_scheduled_problem(tmp_path, datetime(2026, 12, 5, 9, 3, tzinfo=UTC))
    assert (tmp_path / SCHEDULED_PROBLEM_FILE).read_text().count("no_remembered_key") == 1
    notice = take_scheduled_problem(tmp_path)
    assert notice is not None
    assert notice.text.startswith("The scheduled sync on 2026-12-05 09:03 UTC could not run")
    assert take_scheduled_problem(tmp_path) is None


def _assert_no_health_data(session: Session, texts: list[str]) -> None:
    """No record's title, value or code display appears in any notice text."""
    rows = session.vault.conn.execute("SELECT title, value_text, value_num FROM records")
    words = {str(v) for row in rows for v in row if v not in (None, "")}
    assert words, "the test needs records to compare against"
    for text in texts:
        for word in words:
            if len(word) > 3:
                assert word not in text, (word, text)


def test_never_two_syncs_at_once(session: Session) -> None:
    _connection(session, "Riverside")
    with session.sync_lock:  # a sync is running (the Sync button's, in another thread)
        with pytest.raises(ServiceError, match="A sync is already running"):
            session.connections.sync("Riverside")
        # The automatic one waits for its next turn quietly: no failure, no notice.
        result = SyncSchedules(session).sync_due(now=NOW)
    assert result.reports == {} and result.failures == {}
    assert Notices(session).unshown() == []
