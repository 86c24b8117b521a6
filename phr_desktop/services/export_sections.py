"""The records of an export that reads them one section (kind) at a time: the full-record PDF.

Its cover and contents need only how many records there are of each kind, their span of
dates and their sources, which the database counts and compares (vault/shown_rows.py); its
tables read their rows narrowly, a kind at a time. So no record, and no key of every record,
is read up front: for a 74k-record PDF that pass was 0.3-0.4 s of CPU (issue 16). Anything
else asked of the records (walking them all, a kind's records themselves) is answered by
records read a page at a time (`PagedRecords`), read when first asked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, overload

from phr_desktop.domain.records import DatePrecision, PartialDate
from phr_desktop.interop.export_data import ExportRecord, RecordTest, ShownRow
from phr_desktop.services.export_records import PagedRecords, narrow_rows
from phr_desktop.vault import shown_rows as narrow
from phr_desktop.vault.queries import RecordFilter

if TYPE_CHECKING:
    from phr_desktop.services.session import Session


class SectionRecords(Sequence[ExportRecord]):
    """The records a filter chooses (the Patient left out), oldest first, counted by kind."""

    def __init__(
        self, session: Session, record_filter: RecordFilter, notes: Mapping[int, tuple[str, ...]]
    ) -> None:
        self._session = session
        self._filter = record_filter
        self._notes = notes
        self._counts = narrow.kind_counts(session.queries, record_filter)
        self._every: PagedRecords | None = None

    def _all(self) -> PagedRecords:
        """Every chosen record, read a page at a time (read when first needed)."""
        if self._every is None:
            self._every = PagedRecords.read(self._session, self._filter, self._notes)
        return self._every

    def count_of(self, kind: str) -> int:
        return self._counts.get(kind, 0)

    # --- Sequence ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return sum(self._counts.values())

    @overload
    def __getitem__(self, index: int) -> ExportRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ExportRecord]: ...

    def __getitem__(self, index: int | slice) -> ExportRecord | Sequence[ExportRecord]:
        return self._all()[index]

    def __iter__(self) -> Iterator[ExportRecord]:
        return iter(self._all())

    # --- WalkedRecords -----------------------------------------------------------------------

    def of_kind(
        self, kinds: Sequence[str], where: RecordTest | None, resource_types: Sequence[str]
    ) -> Sequence[ExportRecord]:
        """These kinds' records, read by a filter narrowed to them (the allergies of the PDF:
        a few records, not a key of every record)."""
        chosen = tuple(k for k in dict.fromkeys(kinds) if self._counts.get(k))
        if not chosen:
            return ()
        of_these = dataclasses.replace(self._filter, kinds=chosen)
        paged = PagedRecords.read(self._session, of_these, self._notes)
        return paged.of_kind(chosen, where, resource_types)

    def with_notes(self) -> Sequence[ExportRecord]:
        return self._all().with_notes()

    def pick(self, positions: Sequence[int]) -> list[ExportRecord]:
        return self._all().pick(positions)

    def date_span(self) -> tuple[PartialDate | None, PartialDate | None]:
        first, last = narrow.date_span(self._session.queries, self._filter)
        return _date(first), _date(last)

    def source_systems(self) -> list[str]:
        return narrow.source_systems(self._session.queries, self._filter)

    # --- ShownRowSource ----------------------------------------------------------------------

    def shown_rows(self, kind: str, *, with_codes: bool) -> Iterator[ShownRow]:
        if not self._counts.get(kind):
            return iter(())
        return narrow_rows(
            self._session.queries, self._filter, self._notes, kind, with_codes=with_codes
        )


def _date(found: tuple[str, str] | None) -> PartialDate | None:
    return PartialDate(found[0], DatePrecision(found[1])) if found else None
