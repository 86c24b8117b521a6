"""The audit log: append-only, each row's MAC chained to the one before.

Rows say what happened (unlock, import, export, share, connect) and counts, never health data.
The MAC key is derived from the data key, so only someone holding the vault key could forge a
row; editing or deleting one breaks the chain at that point. Removing the newest rows leaves a
shorter chain that is whole, so the header keeps an anchor (the chain's length and newest MAC,
under the header's MAC): a chain shorter than its anchor, or one whose row at the anchor differs,
was cut back or replaced.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from phr_desktop.vault.database import Connection
from phr_desktop.vault.header import NO_AUDIT, AuditAnchor
from phr_desktop.vault.keys import hkdf, same_text

_GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    rows: int
    first_broken_id: int | None = None
    reason: str = ""


class AuditLog:
    def __init__(
        self,
        conn: Connection,
        data_key: bytes,
        anchor: AuditAnchor = NO_AUDIT,
        on_committed: Callable[[], None] | None = None,
    ) -> None:
        self._conn = conn
        self._key = hkdf(data_key, b"phr-desktop audit chain v1")
        # The header's record of the chain; the vault moves it forward (`head`, `anchor`).
        self.anchor = anchor
        # Called after a row is committed outside any transaction, so the vault can move the
        # anchor at once; rows appended inside a caller's transaction are anchored later.
        self._on_committed = on_committed

    def _mac(self, previous: str, row_id: int, at: str, action: str, detail: str) -> str:
        message = "\x1f".join((previous, str(row_id), at, action, detail)).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def append(self, action: str, **detail: Any) -> None:
        """Add a row; call inside the caller's transaction when there is one."""
        last = self._conn.execute(
            "SELECT id, mac FROM audit_log ORDER BY id DESC LIMIT 1"
        ).fetchone()
        previous, row_id = (last[1], last[0] + 1) if last else (_GENESIS, 1)
        at = datetime.now(UTC).isoformat(timespec="seconds")
        detail_text = orjson.dumps(detail, option=orjson.OPT_SORT_KEYS).decode()
        mac = self._mac(previous, row_id, at, action, detail_text)
        self._conn.execute(
            "INSERT INTO audit_log (id, at, action, detail, mac) VALUES (?, ?, ?, ?, ?)",
            (row_id, at, action, detail_text, mac),
        )
        if self._on_committed is not None and not self._conn.in_transaction:
            self._on_committed()

    def head(self) -> AuditAnchor:
        """The chain as it is now: its length and newest MAC."""
        last = self._conn.execute(
            "SELECT count(*), (SELECT mac FROM audit_log ORDER BY id DESC LIMIT 1) FROM audit_log"
        ).fetchone()
        return AuditAnchor(int(last[0]), str(last[1] or ""))

    def continues_anchor(self) -> bool:
        """True when the chain still holds the anchored row unchanged (it may have grown)."""
        if self.anchor.rows == 0:
            return True
        row = self._conn.execute(
            "SELECT mac FROM audit_log WHERE id = ?", (self.anchor.rows,)
        ).fetchone()
        return row is not None and same_text(str(row[0]), self.anchor.head)

    def entries(self, limit: int | None = None) -> list[AuditEntry]:
        sql = "SELECT id, at, action, detail FROM audit_log ORDER BY id DESC"
        rows = self._conn.execute(sql + (f" LIMIT {int(limit)}" if limit else "")).fetchall()
        return [AuditEntry(r[0], r[1], r[2], orjson.loads(r[3])) for r in rows]

    def verify(self) -> ChainReport:
        previous, expected_id, count = _GENESIS, 1, 0
        for row_id, at, action, detail, mac in self._conn.execute(
            "SELECT id, at, action, detail, mac FROM audit_log ORDER BY id"
        ):
            count += 1
            if row_id != expected_id:
                return ChainReport(False, count, expected_id, "a row is missing")
            if not same_text(str(mac), self._mac(previous, row_id, at, action, detail)):
                return ChainReport(False, count, row_id, "the row was changed")
            previous, expected_id = mac, row_id + 1
        if count < self.anchor.rows:
            return ChainReport(
                False,
                count,
                count + 1,
                f"the newest {self.anchor.rows - count} entries were removed (the key header "
                f"records {self.anchor.rows}), or the vault file was replaced by an older copy",
            )
        if not self.continues_anchor():
            return ChainReport(
                False,
                count,
                self.anchor.rows,
                "the entry the key header records differs: the log was cut back and written "
                "on, or rewritten, or the vault file was replaced by an older copy",
            )
        return ChainReport(True, count)
