"""What the patient has shared: the history, and the two things still possible afterwards:
showing a held-back key, or revoking a share whose key was never handed out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from phr_desktop.services.errors import ServiceError
from phr_desktop.services.share_created import CreatedShare
from phr_desktop.sharing.keys import display_fingerprint
from phr_desktop.sharing.share_key import parse_share_key
from phr_desktop.vault.database import transaction

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

__all__ = ["ShareHistoryEntry", "list_shares", "reveal_key", "revealed_share", "revoke_share"]


@dataclass(frozen=True)
class ShareHistoryEntry:
    id: str
    label: str
    created_at: str
    expires_at: str
    record_count: int
    selection: dict[str, Any]
    fingerprint: str
    file_name: str
    passcode: bool
    key_handed_out: bool
    revoked_at: str | None
    recipient_type: str = "provider"
    allow_save: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "record_count": self.record_count,
            "selection": self.selection,
            "fingerprint": self.fingerprint,
            "file": self.file_name,
            "passcode": self.passcode,
            "key_handed_out": self.key_handed_out,
            "revoked_at": self.revoked_at,
            "recipient_type": self.recipient_type,
            "allow_save": self.allow_save,
        }


def list_shares(session: Session) -> list[ShareHistoryEntry]:
    rows = session.vault.conn.execute(
        "SELECT id, label, created_at, expires_at, record_count, selection, fingerprint,"
        " file_name, passcode, key_handed_out, revoked_at, recipient_type, allow_save FROM shares"
        " ORDER BY created_at DESC, rowid DESC"
    ).fetchall()
    return [
        ShareHistoryEntry(
            id=r[0],
            label=r[1],
            created_at=r[2],
            expires_at=r[3],
            record_count=r[4],
            selection=orjson.loads(r[5]),
            fingerprint=r[6],
            file_name=r[7],
            passcode=bool(r[8]),
            key_handed_out=bool(r[9]),
            revoked_at=r[10],
            recipient_type=r[11],
            allow_save=bool(r[12]),
        )
        for r in rows
    ]


def _share_row(session: Session, share_id: str) -> tuple[Any, ...]:
    row = session.vault.conn.execute(
        "SELECT key_handed_out, revoked_at, key FROM shares WHERE id = ?", (share_id,)
    ).fetchone()
    if row is None:
        raise ServiceError(f"There is no share {share_id} in this profile.")
    return tuple(row)


def reveal_key(session: Session, share_id: str) -> str:
    """Show a held-back key; from now on the share cannot be revoked."""
    handed_out, revoked_at, key = _share_row(session, share_id)
    if revoked_at:
        raise ServiceError("This share was revoked; its key is gone.")
    if handed_out or not key:
        raise ServiceError("This share's key was already shown when it was made.")
    with session.write_lock, transaction(session.vault.conn):
        session.vault.conn.execute(
            "UPDATE shares SET key_handed_out = 1, key = NULL WHERE id = ?", (share_id,)
        )
        session.vault.audit.append("share_key_shown", share_id=share_id)
    return str(key)


def revealed_share(entry: ShareHistoryEntry, key: str) -> CreatedShare:
    """A held-back share whose key `reveal_key` just gave, as `write_handout` takes it."""
    share_key = parse_share_key(key)
    return CreatedShare(
        id=entry.id,
        file=Path(entry.file_name),
        key=share_key.text(),
        key_display=share_key.text(),
        expires_at=datetime.fromisoformat(entry.expires_at),
        fingerprint=entry.fingerprint,
        fingerprint_display=display_fingerprint(entry.fingerprint),
        record_count=entry.record_count,
        passcode=entry.passcode,
        key_handed_out=True,
        attachment_count=int(entry.selection.get("attachments") or 0),
        created_at=datetime.fromisoformat(entry.created_at),
        key_jwk=None if entry.passcode else share_key.jwk(),
    )


def revoke_share(session: Session, share_id: str) -> None:
    """Forget a share's key. Only possible while the key has not been handed out: a file
    whose key someone has cannot be recalled."""
    handed_out, revoked_at, _key = _share_row(session, share_id)
    if revoked_at:
        raise ServiceError("This share is already revoked.")
    if handed_out:
        raise ServiceError(
            "This share's key was already given out, so it cannot be recalled: whoever has "
            "the file and the key can open it until it expires in our viewer."
        )
    with session.write_lock, transaction(session.vault.conn):
        session.vault.conn.execute(
            "UPDATE shares SET key = NULL, revoked_at = ? WHERE id = ?",
            (datetime.now(UTC).isoformat(timespec="seconds"), share_id),
        )
        session.vault.audit.append("share_revoked", share_id=share_id)
