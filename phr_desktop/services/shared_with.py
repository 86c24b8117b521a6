"""Who a record was shared with: each share's recipient type and the records it held, so a
record's detail (and `records --json`) can list every share that carried it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from phr_desktop.vault.sensitivity import restricted_among

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

__all__ = [
    "RECIPIENT_TYPES",
    "SharedIn",
    "record_shared_records",
    "restricted_ids",
    "shared_in",
    "shared_in_many",
]

# Who a share is for, as the patient chooses it and `phr share create --recipient-type` takes it.
RECIPIENT_TYPES: tuple[str, ...] = ("provider", "family_member", "researcher")


@dataclass(frozen=True)
class SharedIn:
    """One share that held a record, as the record's detail lists it."""

    share_id: str
    recipient: str
    recipient_type: str
    created_at: str
    expires: str
    status: str  # active, expired, revoked

    def to_dict(self) -> dict[str, Any]:
        return {
            "share_id": self.share_id,
            "recipient": self.recipient,
            "recipient_type": self.recipient_type,
            "created_at": self.created_at,
            "expires": self.expires,
            "status": self.status,
        }


def share_status(expires_at: str, revoked_at: str | None, now: datetime | None = None) -> str:
    if revoked_at:
        return "revoked"
    now = now or datetime.now(UTC)
    return "expired" if datetime.fromisoformat(expires_at) <= now else "active"


def record_shared_records(session: Session, share_id: str, record_ids: Iterable[int]) -> None:
    """Remember which records a share held (inside the caller's transaction)."""
    session.vault.conn.executemany(
        "INSERT OR IGNORE INTO share_records (share_id, record_id) VALUES (?, ?)",
        [(share_id, record_id) for record_id in sorted(set(record_ids))],
    )


def restricted_ids(session: Session, record_ids: Iterable[int]) -> set[int]:
    return restricted_among(session.vault.conn, record_ids)


def shared_in_many(session: Session, record_ids: Sequence[int]) -> dict[int, list[SharedIn]]:
    """For each record, the shares that held it, newest first (records never shared: [])."""
    found: dict[int, list[SharedIn]] = {record_id: [] for record_id in record_ids}
    now = datetime.now(UTC)
    ids = sorted(found)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.vault.conn.execute(
            "SELECT sr.record_id, s.id, s.label, s.recipient_type, s.created_at, s.expires_at, "
            "s.revoked_at FROM share_records sr JOIN shares s ON s.id = sr.share_id "
            f"WHERE sr.record_id IN ({','.join('?' * len(chunk))}) "
            "ORDER BY s.created_at DESC, s.rowid DESC",
            chunk,
        )
        for record_id, share_id, label, rtype, created, expires, revoked in rows:
            found[record_id].append(
                SharedIn(
                    share_id, label, rtype, created, expires, share_status(expires, revoked, now)
                )
            )
    return found


def shared_in(session: Session, record_id: int) -> list[SharedIn]:
    return shared_in_many(session, [record_id])[record_id]
