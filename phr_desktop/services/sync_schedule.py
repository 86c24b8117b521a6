"""Automatic sync: each connection's schedule (off, daily, weekly), which ones are due, and
syncing those one after the other, leaving notices for what the patient should hear about.

The app calls `sync_due` in its background worker while unlocked; `phr sync --scheduled` calls
it from the OS timer (services/scheduled_sync.py). One connection at a time, never two runs at
once: the caller runs one task, and this runs the due connections in turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from phr_desktop.services.errors import USER_ERRORS, ServiceError
from phr_desktop.services.notices import Notice, Notices, sync_failed_text
from phr_desktop.services.tasks import Cancelled, CancelToken, ProgressCallback, no_progress
from phr_desktop.vault.connections import ConnectionStore
from phr_desktop.vault.database import transaction
from phr_desktop.vault.timestamps import now_iso

if TYPE_CHECKING:
    from phr_desktop.services.session import Session
    from phr_desktop.smart.sync import SyncReport

SCHEDULES = ("off", "daily", "weekly")
DEFAULT_SCHEDULE = "daily"
INTERVALS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
# A daily timer fires at about, not exactly, the same time: a run this much early still counts,
# so yesterday's 09:05 sync does not make today's 09:00 run skip a whole day.
EARLY_ALLOWANCE = timedelta(hours=1)


def is_due(schedule: str, last_sync_at: str | None, now: datetime) -> bool:
    """Whether a connection on `schedule`, last synced at `last_sync_at`, should sync `now`."""
    if schedule not in INTERVALS:
        return False  # off
    if not last_sync_at:
        return True
    last = datetime.fromisoformat(last_sync_at)
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    return now - last >= INTERVALS[schedule] - EARLY_ALLOWANCE


@dataclass
class DueSyncResult:
    """What one automatic run did: reports of the connections synced, and the names of those
    that failed with the message the patient can act on."""

    reports: dict[str, SyncReport] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    new_results: dict[str, int] = field(default_factory=dict)


class SyncSchedules:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.conn = session.vault.conn
        self.store = ConnectionStore(self.conn)

    def all(self) -> dict[str, str]:
        """{connection name: schedule}, every connection, the default filled in."""
        kept = dict(self.conn.execute("SELECT connection_id, schedule FROM sync_schedules"))
        return {c.name: kept.get(c.id, DEFAULT_SCHEDULE) for c in self.store.all()}

    def set(self, name: str, schedule: str) -> None:
        if schedule not in SCHEDULES:
            raise ServiceError(
                f"{schedule!r} is not a sync schedule; choose one of {', '.join(SCHEDULES)}."
            )
        connection = self.store.by_name(name)
        if connection is None:
            names = ", ".join(c.name for c in self.store.all()) or "none yet"
            raise ServiceError(f"There is no connection named {name!r} (connections: {names}).")
        with self.session.write_lock, transaction(self.conn):
            self.conn.execute(
                "INSERT INTO sync_schedules (connection_id, schedule) VALUES (?, ?) "
                "ON CONFLICT (connection_id) DO UPDATE SET schedule = excluded.schedule",
                (connection.id, schedule),
            )
            self.session.vault.audit.append(
                "sync_schedule", connection=connection.id, schedule=schedule
            )

    def due(self, now: datetime | None = None) -> list[str]:
        """Names of the active connections whose schedule says they should sync now."""
        now = now or datetime.now(UTC)
        schedules = self.all()
        return [
            c.name
            for c in self.store.all()
            if c.status == "active" and is_due(schedules[c.name], c.last_sync_at, now)
        ]

    def sync_due(
        self,
        *,
        progress: ProgressCallback = no_progress,
        cancel: CancelToken | None = None,
        now: datetime | None = None,
    ) -> DueSyncResult:
        """Sync every due connection in turn. A failure of one is kept as a notice and the
        next one still syncs; cancelling stops the run (what was stored stays)."""
        cancel = cancel or CancelToken()
        notices = Notices(self.session)
        result = DueSyncResult()
        if self.session.sync_lock.locked():
            return result  # a sync the patient started is running: it is the one for now
        for name in self.due(now):
            cancel.raise_if_cancelled()
            connection = self.store.by_name(name)
            assert connection is not None
            started = now_iso()
            before = notices.last_raw_id()
            try:
                report = self.session.connections.sync(name, progress=progress, cancel=cancel)[name]
            except Cancelled:
                raise
            except USER_ERRORS as exc:
                result.failures[name] = str(exc)
                key = f"sync-failed:{connection.id}:{started}"
                self._keep(notices, Notice(key, sync_failed_text(name)))
                continue
            result.reports[name] = report
            with self.session.write_lock, transaction(self.conn):
                result.new_results[name] = notices.record_new_results(
                    name, connection.source_id, before
                )
                if report.failed and not report.reconnect_needed:
                    key = f"sync-failed:{connection.id}:{started}"
                    notices.add(Notice(key, sync_failed_text(name)))
        return result

    def _keep(self, notices: Notices, notice: Notice) -> None:
        with self.session.write_lock, transaction(self.conn):
            notices.add(notice)
