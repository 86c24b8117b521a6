"""Raw bodies for an export, read from the vault in batches as the exporter walks its records.

Exporters walk records oldest first, either all of them or one kind at a time (`of_kind`). So
when a body is missing, the bodies of the next records *of the same kind* are read with it, in
one query, and only that batch is kept: one query per batch instead of one per record, and
memory bounded by a batch per kind rather than by the size of the record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from phr_desktop.services.errors import ServiceError
from phr_desktop.vault.record_details import RAW_BODY_BATCH

BodiesReader = Callable[[Sequence[int]], dict[int, bytes]]


class BatchedBodies:
    """A `BodySource` over records given as (id, kind) in the order the export holds them."""

    def __init__(
        self, read: BodiesReader, records: Iterable[tuple[int, str]], batch: int = RAW_BODY_BATCH
    ) -> None:
        self._read = read
        self._batch = batch
        self._runs: dict[str, list[int]] = {}  # kind -> ids in export order
        self._place: dict[int, tuple[str, int]] = {}  # id -> (kind, index in its run)
        for record_id, kind in records:
            run = self._runs.setdefault(kind, [])
            self._place[record_id] = (kind, len(run))
            run.append(record_id)
        self._held: dict[str, dict[int, bytes]] = {}  # kind -> the one batch kept

    def body(self, record_id: int) -> bytes:
        place = self._place.get(record_id)
        if place is None:  # not among the export's records: read it alone
            return _found(self._read([record_id]), record_id)
        kind, index = place
        held = self._held.get(kind)
        if held is None or record_id not in held:
            held = self._read(self._runs[kind][index : index + self._batch])
            self._held[kind] = held  # replaces the kind's previous batch
        return _found(held, record_id)


def _found(bodies: dict[int, bytes], record_id: int) -> bytes:
    try:
        return bodies[record_id]
    except KeyError:  # deleted while the export ran
        raise ServiceError(
            f"Record {record_id} was removed while exporting; run the export again."
        ) from None
