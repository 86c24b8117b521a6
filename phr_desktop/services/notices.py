"""What the patient is told outside the record: plain texts for desktop notifications and for
`phr connections`, worked out without Qt.

A notice may be read by anyone who passes a shared computer, so it never holds health data:
it names a connection (the patient's own name for a provider) and counts, never a record's
title, value, code or a share's recipient. Each notice has a key so that it is told once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from phr_desktop.vault.connections import ConnectionStore
from phr_desktop.vault.database import transaction
from phr_desktop.vault.files import write_atomically

if TYPE_CHECKING:
    from phr_desktop.services.session import Session
    from phr_desktop.vault.database import Connection

ACCESS_WARNING = timedelta(days=7)  # "your access ends soon" this long before it does
RECENT_SHARE_EXPIRY = timedelta(days=30)  # older expiries are history, not news
# Record kinds that are "results" for the patient: what a new-results notice counts.
RESULT_KINDS = ("lab_result", "vital_sign", "imaging")
# Written beside a profile (outside the encrypted vault) when a scheduled run could not
# unlock it: the time and a reason code only, nothing about the record.
SCHEDULED_PROBLEM_FILE = "scheduled-sync-problem.json"


@dataclass(frozen=True)
class Notice:
    key: str  # what it is about ("new-results:SOURCE:RAW_ID", "share-expired:ID"); told once
    text: str


# --- the texts (each takes only names and counts) --------------------------------------------


def new_results_text(connection: str, count: int) -> str:
    return f"{connection}: {count} new result{'s' if count != 1 else ''}"


def sync_failed_text(connection: str) -> str:
    return f"{connection}: the scheduled sync did not finish. Open phr-desktop to see why."


def reconnect_text(connection: str) -> str:
    return f"{connection}: the provider refused to renew access. Reconnect to keep syncing."


def access_ends_text(connection: str, ends_at: datetime, now: datetime) -> str:
    days = max(0, (ends_at - now).days)
    when = "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
    return f"{connection}: access ends {when}. Reconnect to keep syncing."


def share_expired_text(created_at: datetime) -> str:
    return f"A share you made on {created_at:%Y-%m-%d} has expired."


def scheduled_locked_text(at: datetime) -> str:
    return (
        f"The scheduled sync on {at:%Y-%m-%d %H:%M} UTC could not run: this profile is not "
        "remembered on this device. Turn on 'remember on this device' or sync from the app."
    )


# --- when access ends ------------------------------------------------------------------------


def access_ends_at(
    refresh_token: str | None, has_device_key: bool, expires_at: float | None
) -> datetime | None:
    """When a connection's access ends for good, where that is known: a sign-in with neither
    a refresh token nor a device key lasts as long as its access token. A renewable one has
    no end the server tells us (a refused renewal is noticed when it happens)."""
    if refresh_token or has_device_key or expires_at is None:
        return None
    return datetime.fromtimestamp(expires_at, UTC)


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Notices:
    """The notices of one unlocked profile: those a sync left behind and those the vault's
    state calls for (access ending, a refused renewal, a share expired)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.conn: Connection = session.vault.conn

    # --- from the vault's state -------------------------------------------------------------

    def connection_warnings(self, now: datetime | None = None) -> dict[str, list[str]]:
        """{connection name: warnings}, the same texts the notifications show."""
        now = now or datetime.now(UTC)
        out: dict[str, list[str]] = {}
        for notice, name in self._connection_notices(now):
            out.setdefault(name, []).append(notice.text)
        return out

    def _connection_notices(self, now: datetime) -> list[tuple[Notice, str]]:
        store = ConnectionStore(self.conn)
        found: list[tuple[Notice, str]] = []
        for c in store.all():
            if c.status == "expired":
                since = c.last_sync_at or c.created_at
                found.append((Notice(f"reconnect:{c.id}:{since}", reconnect_text(c.name)), c.name))
                continue
            tokens = store.tokens(c.id)
            if tokens is None:
                continue
            ends = access_ends_at(
                tokens.refresh_token, store.device_key(c.id) is not None, tokens.expires_at
            )
            if ends is not None and ends - now <= ACCESS_WARNING:
                text = access_ends_text(c.name, ends, now)
                found.append((Notice(f"access-ends:{c.id}:{ends.isoformat()}", text), c.name))
        return found

    def _share_notices(self, now: datetime) -> list[Notice]:
        rows = self.conn.execute(
            "SELECT id, created_at, expires_at FROM shares WHERE revoked_at IS NULL"
        ).fetchall()
        notices = []
        for share_id, created_at, expires_at in rows:
            expires = _instant(expires_at)
            if now - RECENT_SHARE_EXPIRY <= expires <= now:
                text = share_expired_text(_instant(created_at))
                notices.append(Notice(f"share-expired:{share_id}", text))
        return notices

    # --- left behind by a sync ----------------------------------------------------------------

    def add(self, notice: Notice) -> None:
        """Keep a notice until it is shown (the caller holds the transaction)."""
        self.conn.execute(
            "INSERT INTO notices (key, text, created_at) VALUES (?, ?, ?) ON CONFLICT (key) DO "
            "UPDATE SET text = excluded.text, created_at = excluded.created_at, shown_at = NULL",
            (notice.key, notice.text, datetime.now(UTC).isoformat(timespec="seconds")),
        )

    def last_raw_id(self) -> int:
        """Where the stored resources end now: what a sync adds after this is new."""
        return int(
            self.conn.execute("SELECT coalesce(max(id), 0) FROM raw_resources").fetchone()[0]
        )

    def record_new_results(self, connection_name: str, source_id: int, after_raw_id: int) -> int:
        """After a sync: how many result records arrived for the first time (stored after
        `after_raw_id`, with no earlier version), kept as a notice when there are any. Raw
        ids, not times: two syncs within one second must not count the first one's again."""
        marks = ", ".join("?" for _ in RESULT_KINDS)
        count = int(
            self.conn.execute(
                f"SELECT count(*) FROM records r JOIN raw_resources w ON w.id = r.raw_id "
                f"WHERE r.source_id = ? AND r.kind IN ({marks}) AND w.id > ? "
                "AND NOT EXISTS (SELECT 1 FROM raw_resources o WHERE o.source_id = w.source_id "
                "AND o.resource_type = w.resource_type AND o.resource_id = w.resource_id "
                "AND o.id <= ?)",
                (source_id, *RESULT_KINDS, after_raw_id, after_raw_id),
            ).fetchone()[0]
        )
        if count:
            key = f"new-results:{source_id}:{after_raw_id}"
            self.add(Notice(key, new_results_text(connection_name, count)))
        return count

    # --- what to show -------------------------------------------------------------------------

    def unshown(self, now: datetime | None = None) -> list[Notice]:
        """Every notice not shown yet: those waiting, then those the state calls for."""
        now = now or datetime.now(UTC)
        waiting = [
            Notice(k, t)
            for k, t in self.conn.execute(
                "SELECT key, text FROM notices WHERE shown_at IS NULL ORDER BY created_at, key"
            )
        ]
        shown = {k for (k,) in self.conn.execute("SELECT key FROM notices")}
        state = [n for n, _ in self._connection_notices(now)] + self._share_notices(now)
        return waiting + [n for n in state if n.key not in shown]

    def mark_shown(self, notices: list[Notice]) -> None:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        with self.session.write_lock, transaction(self.conn):
            for n in notices:
                self.conn.execute(
                    "INSERT INTO notices (key, text, created_at, shown_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET shown_at = excluded.shown_at",
                    (n.key, n.text, stamp, stamp),
                )


# --- a scheduled run that could not unlock ----------------------------------------------------


def record_scheduled_problem(profile_dir: Path, now: datetime | None = None) -> None:
    """Left beside the profile when a scheduled run found no remembered key: a time and a
    reason code, readable without the key so the app can say so at its next start."""
    at = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    payload = json.dumps({"at": at, "problem": "no_remembered_key"}).encode()
    write_atomically(profile_dir / SCHEDULED_PROBLEM_FILE, payload)


def take_scheduled_problem(profile_dir: Path) -> Notice | None:
    """The notice for a scheduled run that could not unlock, once: the file is removed."""
    path = profile_dir / SCHEDULED_PROBLEM_FILE
    try:
        at = _instant(json.loads(path.read_text(encoding="utf-8"))["at"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        at = datetime.now(UTC)  # unreadable: still worth telling, with today's date
    path.unlink(missing_ok=True)
    return Notice(f"scheduled-locked:{at.isoformat()}", scheduled_locked_text(at))
