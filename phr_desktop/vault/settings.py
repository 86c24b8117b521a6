"""The profile's own settings, kept inside the encrypted vault (the `settings` table): things
that may say something about the patient's health, such as the searches they made, never go
to QSettings or any other plaintext file."""

from __future__ import annotations

from phr_desktop.vault.database import Connection, transaction


def read_setting(conn: Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else None


def write_setting(conn: Connection, key: str, value: str | None) -> None:
    """Set a value; None removes it."""
    with transaction(conn):
        if value is None:
            conn.execute("DELETE FROM settings WHERE key = ?", (key,))
        else:
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
