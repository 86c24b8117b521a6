"""How much work SQLite does, counted in virtual-machine steps rather than by the clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from phr_desktop.vault.database import Connection


def vm_steps(conn: Connection, action: Callable[[], Any]) -> int:
    """SQLite virtual-machine steps `action` takes on `conn` (rows visited add steps; seeks in
    a B-tree do not): what a read or a write costs, whatever the machine's load."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn.set_progress_handler(count, 1)
    try:
        action()
    finally:
        conn.set_progress_handler(None, 1)
    return steps
