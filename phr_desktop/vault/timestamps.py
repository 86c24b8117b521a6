"""The vault's time stamps: the present instant as every table stores it (ISO-8601, UTC, to the
second). Its own module so that the many writers of a stamp need not import the record store."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
