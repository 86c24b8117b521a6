"""The quick search's recent searches, per profile and inside its vault: what a patient looked
for can say as much as their record, so it is never kept in plaintext settings."""

from __future__ import annotations

import threading

import orjson

from phr_desktop.vault.database import Connection
from phr_desktop.vault.errors import StorageError
from phr_desktop.vault.settings import read_setting, write_setting

RECENT_SEARCHES = 8
MAX_SEARCH_LENGTH = 200  # a pasted page is searched, not remembered in full
_KEY = "search.recent"


class SearchHistory:
    def __init__(self, conn: Connection, write_lock: threading.Lock) -> None:
        self._conn = conn
        self._write_lock = write_lock  # a sync may be storing pages on another thread

    def recent(self) -> list[str]:
        """The last searches, newest first; [] when none (or the stored list is unreadable)."""
        stored = read_setting(self._conn, _KEY)
        try:
            values = orjson.loads(stored) if stored else []
        except orjson.JSONDecodeError:
            return []
        if not isinstance(values, list):
            return []
        return [v for v in values if isinstance(v, str) and v][:RECENT_SEARCHES]

    def remember(self, text: str) -> list[str]:
        """Put a search first (once), keep the last RECENT_SEARCHES; returns the new list."""
        text = " ".join(text.split())[:MAX_SEARCH_LENGTH]
        if not text:
            return self.recent()
        searches = [text, *(s for s in self.recent() if s != text)][:RECENT_SEARCHES]
        try:
            with self._write_lock:
                write_setting(self._conn, _KEY, orjson.dumps(searches).decode())
        except StorageError:
            pass  # a full disk must not stop the search itself; the list is remembered next time
        return searches

    def forget(self) -> None:
        with self._write_lock:
            write_setting(self._conn, _KEY, None)
