"""The records of a big export, read from the vault a page at a time as the exporter walks them.

Held for every record: its id, kind and resource type (a few bytes each). A page of records,
and their raw bodies in one query when one of them is first read, is loaded on use; the last
few pages are kept, so walking in order, walking again, or picking a report's results a few
rows away costs a page read now and then, and memory holds a few pages, not 500k records
(a `Record` is ~1 kB of Python objects: 500k of them alone were ~500 MB).
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, overload

from phr_desktop.domain.records import DatePrecision, PartialDate
from phr_desktop.interop.export_data import ExportRecord, RecordTest, ShownRow
from phr_desktop.services.errors import ServiceError
from phr_desktop.vault.queries import RecordFilter, RecordQueries
from phr_desktop.vault.record_details import RAW_BODY_BATCH
from phr_desktop.vault.shown_rows import shown_rows

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

PAGE_SIZE = RAW_BODY_BATCH
KEPT_PAGES = 4


class _Vault:
    """What every selection of one export shares: the reads, the patient's notes, and the
    names behind the kind and resource-type codes."""

    def __init__(self, session: Session, notes: Mapping[int, tuple[str, ...]]) -> None:
        # No export shows or tests a record's tags: reading them cost a subquery per record.
        self.read_records = partial(session.records_by_ids, with_tags=False)
        self.read_bodies = session.raw_sources
        self.queries = session.queries
        self.notes = notes
        self.kinds: dict[str, int] = {}
        self.types: dict[str, int] = {}

    @staticmethod
    def code(names: dict[str, int], name: str) -> int:
        code = names.setdefault(name, len(names))
        if code > 255:  # a kind or resource type is one of a few dozen
            raise ServiceError(f"Too many kinds of record to export ({name!r}); please report it.")
        return code


class _PageBodies:
    """The raw bodies of one page, read in one query when the first of them is wanted."""

    def __init__(self, vault: _Vault, ids: Sequence[int]) -> None:
        self._vault = vault
        self._ids = ids
        self._bodies: dict[int, bytes] | None = None

    def body(self, record_id: int) -> bytes:
        if self._bodies is None:
            self._bodies = self._vault.read_bodies(self._ids)
        try:
            return self._bodies[record_id]
        except KeyError:
            raise _removed(record_id) from None


_INSTANT = DatePrecision.INSTANT.value


def narrow_rows(
    queries: RecordQueries,
    record_filter: RecordFilter,
    notes: Mapping[int, tuple[str, ...]],
    kind: str,
    *,
    with_codes: bool,
) -> Iterator[ShownRow]:
    """The records of this kind `record_filter` chooses, as the rows a table shows, oldest
    first, with the patient's notes: one narrow query (vault/shown_rows.py). Each row is
    made a ShownRow in C (tuple.__new__ over the vault's tuple, which has its fields in
    order): a Python call per row of a long record is a measurable cost."""
    rows = shown_rows(queries, record_filter, kind, with_codes=with_codes, notes=notes)
    return map(partial(tuple.__new__, ShownRow), rows)


def _date(found: tuple[str, str, str | None] | None) -> PartialDate | None:
    return PartialDate(found[1], DatePrecision(str(found[2]))) if found else None


def _removed(record_id: int) -> ServiceError:
    return ServiceError(f"Record {record_id} was removed while exporting; run the export again.")


class PagedRecords(Sequence[ExportRecord]):
    """Records in export order (oldest first), read a page at a time (`WalkedRecords`)."""

    def __init__(
        self,
        vault: _Vault,
        ids: array[int],
        kinds: bytes,
        types: bytes,
        span: tuple[PartialDate | None, PartialDate | None] | None = None,
        sources: frozenset[str] | None = None,
        chosen_by: RecordFilter | None = None,
    ) -> None:
        self._vault = vault
        self._ids = ids
        self._kinds = kinds  # per record, its kind's code in vault.kinds
        self._types = types  # per record, its resource type's code in vault.types
        self._span = span
        self._sources = sources
        self._chosen_by = chosen_by  # the filter that chose exactly these records, if one did
        self._pages: OrderedDict[int, list[ExportRecord]] = OrderedDict()

    @classmethod
    def read(
        cls, session: Session, record_filter: RecordFilter, notes: Mapping[int, tuple[str, ...]]
    ) -> PagedRecords:
        """The chosen records but the Patient, oldest first, with the span of their dates,
        found in one pass over narrow rows (no record is built)."""
        vault = _Vault(session, notes)
        ids, kinds, types = array("q"), bytearray(), bytearray()
        kind_codes, type_codes = vault.kinds, vault.types
        # The earliest and latest dates as (sort key, text, precision): a PartialDate is made
        # for those two only (its sort_key, inlined: an instant sorts by its first 19 chars).
        first: tuple[str, str, str | None] | None = None
        last: tuple[str, str, str | None] | None = None
        sources: set[str] = set()
        for record_id, kind, resource_type, effective, precision, source in session.record_keys(
            record_filter
        ):
            if kind == "patient":
                continue
            if source:
                sources.add(source)
            ids.append(record_id)
            code = kind_codes.get(kind)
            kinds.append(vault.code(kind_codes, kind) if code is None else code)
            code = type_codes.get(resource_type)
            types.append(vault.code(type_codes, resource_type) if code is None else code)
            if effective:
                # Rows come newest first: of equal dates, the last met here is the first in
                # export order, which is the one min() and max() over the records pick.
                key = effective[:19] if precision == _INSTANT else effective
                if first is None or key <= first[0]:
                    first = (key, effective, precision)
                if last is None or key >= last[0]:
                    last = (key, effective, precision)
        ids.reverse()
        kinds.reverse()
        types.reverse()
        span = (_date(first), _date(last))
        return cls(vault, ids, bytes(kinds), bytes(types), span, frozenset(sources), record_filter)

    # --- Sequence ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> ExportRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ExportRecord]: ...

    def __getitem__(self, index: int | slice) -> ExportRecord | Sequence[ExportRecord]:
        if isinstance(index, slice):
            return self._subset(range(len(self))[index])
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("record index out of range")
        return self._page(index // PAGE_SIZE)[index % PAGE_SIZE]

    def __iter__(self) -> Iterator[ExportRecord]:
        for page in range(-(-len(self) // PAGE_SIZE)):
            yield from self._page(page)

    # --- WalkedRecords -----------------------------------------------------------------------

    def of_kind(
        self, kinds: Sequence[str], where: RecordTest | None, resource_types: Sequence[str]
    ) -> Sequence[ExportRecord]:
        """Chosen by kind and resource type without reading a record; by `where` reading them."""
        kind_codes = {self._vault.kinds[k] for k in kinds if k in self._vault.kinds}
        type_codes = {self._vault.types[t] for t in resource_types if t in self._vault.types}
        pairs = enumerate(zip(self._kinds, self._types, strict=True))
        chosen = self._subset(
            [
                i
                for i, (kind, resource_type) in pairs
                if kind in kind_codes and (not resource_types or resource_type in type_codes)
            ]
        )
        if where is None:
            return chosen
        return chosen._subset([i for i, rec in enumerate(chosen) if where(rec)])

    def shown_rows(self, kind: str, *, with_codes: bool) -> Iterator[ShownRow]:
        """This kind's records as the rows a table shows, oldest first: read by one narrow
        query when these are the records a filter chose, else from the records themselves."""
        if kind == "patient":  # never among the records (see `read`)
            return
        if self._chosen_by is None:
            for entry in self.of_kind([kind], None, ()):
                yield ShownRow.of(entry)
            return
        yield from narrow_rows(
            self._vault.queries, self._chosen_by, self._vault.notes, kind, with_codes=with_codes
        )

    def with_notes(self) -> Sequence[ExportRecord]:
        notes = self._vault.notes
        return self._subset([i for i, record_id in enumerate(self._ids) if record_id in notes])

    def date_span(self) -> tuple[PartialDate | None, PartialDate | None]:
        if self._span is None:
            dates = [r.record.effective for r in self if r.record.effective]
            if not dates:
                return None, None
            return min(dates, key=lambda d: d.sort_key), max(dates, key=lambda d: d.sort_key)
        return self._span

    def source_systems(self) -> list[str]:
        if self._sources is None:
            return sorted({s for r in self if (s := r.record.source_system)})
        return sorted(self._sources)

    # --- pages -------------------------------------------------------------------------------

    def _subset(self, positions: Sequence[int]) -> PagedRecords:
        return PagedRecords(
            self._vault,
            array("q", (self._ids[i] for i in positions)),
            bytes(self._kinds[i] for i in positions),
            bytes(self._types[i] for i in positions),
        )

    def pick(self, positions: Sequence[int]) -> list[ExportRecord]:
        """The records at these positions (a few hundred), read together and not kept: the
        records of groups scattered over the section, each read once."""
        return self._read([self._ids[p] for p in positions])

    def _page(self, page: int) -> list[ExportRecord]:
        found = self._pages.get(page)
        if found is not None:
            self._pages.move_to_end(page)
            return found
        found = self._read(self._ids[page * PAGE_SIZE : (page + 1) * PAGE_SIZE])
        self._pages[page] = found
        if len(self._pages) > KEPT_PAGES:
            self._pages.popitem(last=False)
        return found

    def _read(self, ids: Sequence[int]) -> list[ExportRecord]:
        """These records, in this order, with their bodies read in one query when first used."""
        stored = self._vault.read_records(ids)
        if len(stored) != len(ids):
            present = {s.id for s in stored}
            raise _removed(next(i for i in ids if i not in present))
        bodies = _PageBodies(self._vault, ids)
        notes = self._vault.notes
        return [ExportRecord(s.id, s.record, bodies, notes.get(s.id, ())) for s in stored]
