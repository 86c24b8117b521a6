"""When an import's files are committed: several small files share a transaction, and a file's
outcome reaches the report only once the vault holds it.

Committing each file alone encrypted and wrote most of the vault's index pages again for every
file (random keys: resource ids, dates, fact keys), ~870 MB through the WAL for a 260 MB vault
at 100k resources; a commit every `GROUP_BYTES` of input writes each such page once per group.
A file in a group is checked (its person, a cancel) before it writes anything, so it is written
whole or, after an error, rolled back with the rest of its group; a cancel between files commits
the files written so far. A crash loses at most the group being written, never part of a file.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from phr_desktop.services.import_plan import FileOutcome
from phr_desktop.vault.database import Connection, SharedTransaction, fit_bulk_cache
from phr_desktop.vault.stage_times import StageTimes

# Input bytes written between commits. Larger groups write fewer pages, but each group's
# changed pages outgrow the 64 MiB page cache and spill to the WAL before the commit (a page
# spilled and changed again is encrypted twice), and an interruption loses more work.
GROUP_BYTES = 32 * 2**20
STAGE_COMMIT = "write: commit"


class ImportCommits:
    """The files of one import, written in shared transactions, in the order given."""

    def __init__(
        self,
        conn: Connection,
        committed: Callable[[FileOutcome], None],
        times: StageTimes,
        group_bytes: int | None = None,
    ) -> None:
        self._conn = conn
        self._shared = SharedTransaction(conn)
        self._committed = committed
        self._times = times
        self._group_bytes = GROUP_BYTES if group_bytes is None else group_bytes
        self._pending: list[FileOutcome] = []
        self._pending_bytes = 0

    def note(self, outcome: FileOutcome) -> None:
        """An outcome with nothing written (a file skipped or unreadable), kept in order."""
        self._pending.append(outcome)
        if not self._shared.open:
            self._hand_on()

    def in_group(self, size: int, write: Callable[[], FileOutcome]) -> FileOutcome:
        """Write a file in the open group (or a new one). `write` must check whatever may
        refuse the file before it writes anything; an error from it rolls back the group."""
        try:
            with self._shared.part():
                outcome = write()
        except BaseException:
            self._drop_pending()
            raise
        self._pending.append(outcome)
        self._pending_bytes += size
        if self._pending_bytes >= self._group_bytes:
            self.commit()
        return outcome

    def alone(self, write: Callable[[], FileOutcome]) -> FileOutcome:
        """Commit the group, then run `write`, which commits on its own (a file written a
        batch at a time, that may fail part way)."""
        self.commit()
        outcome = write()
        self._pending.append(outcome)
        self._hand_on()
        return outcome

    def commit(self) -> None:
        """Commit the open group, if any, and hand its outcomes on."""
        if self._shared.open:
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                self._shared.commit()
            except BaseException:
                self._drop_pending()
                raise
            self._times.add(STAGE_COMMIT, time.thread_time() - cpu, time.perf_counter() - wall)
            # The vault grew: past a size its random-key indexes outgrow the page cache.
            fit_bulk_cache(self._conn)
        self._hand_on()

    def roll_back(self) -> None:
        """Drop the open group (after an error): none of its files is reported imported."""
        self._shared.roll_back()
        self._drop_pending()

    def _hand_on(self) -> None:
        for outcome in self._pending:
            self._committed(outcome)
        self._drop_pending()

    def _drop_pending(self) -> None:
        self._pending.clear()
        self._pending_bytes = 0
