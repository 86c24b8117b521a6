"""Every read the record views make, over one database: an unlocked profile (`Session`) and a
share opened in memory (`ShareSession`) both are a `RecordReader`, so the same timeline, detail
and AATD screens show either. Writing (notes, corrections, imports) is the profile's alone."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import orjson

from phr_desktop.domain.milestones import Milestone, fev1_annual_slope_ml_per_year, find_milestones
from phr_desktop.services.aatd_summary import fev1_results, milestone_sources
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.record_context import RecordContext, record_context
from phr_desktop.services.record_views import RecordViews
from phr_desktop.services.terminology import aatd_pack, search_vocabulary
from phr_desktop.smart.attachments import external_links
from phr_desktop.vault import fact_links
from phr_desktop.vault.database import Connection
from phr_desktop.vault.queries import NO_FILTER, RecordFilter, RecordQueries
from phr_desktop.vault.stored_record import StoredRecord
from phr_desktop.vault.timeline import TimelineReads, year_and_month

__all__ = ["ExternalFile", "MilestoneView", "RecordReader", "SearchResults", "milestone_views"]


@dataclass(frozen=True)
class MilestoneView:
    milestone: Milestone
    record_ids: tuple[int, ...]
    # The kind of each record, same order (the dashboard's icons need no second read).
    record_kinds: tuple[str, ...] = ()


def milestone_views(stored: Sequence[StoredRecord]) -> list[MilestoneView]:
    """The milestones found among these records, each with its records' ids and kinds."""
    found = find_milestones([s.record for s in stored], aatd_pack())
    return [
        MilestoneView(
            m,
            tuple(stored[i].id for i in m.record_indexes),
            tuple(stored[i].record.kind.value for i in m.record_indexes),
        )
        for m in found
    ]


def _last_segment(url: str) -> str:
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class ExternalFile:
    """A file the record points at on another site: never downloaded (a synced record's token
    stays with its FHIR server), offered as a link the patient may open in the browser."""

    title: str
    url: str
    content_type: str
    host: str


@dataclass(frozen=True)
class SearchResults:
    records: list[StoredRecord]
    corrections: dict[str, str]  # typed word → the word searched for instead
    suggestion: str | None  # "did you mean": set only when nothing matched

    def by_kind(self) -> list[tuple[str, list[StoredRecord]]]:
        """The records grouped by kind, the group holding the best answer first, each group in
        rank order (how the app lists them: Test results, Notes, …)."""
        groups: dict[str, list[StoredRecord]] = {}
        for stored in self.records:
            groups.setdefault(stored.record.kind.value, []).append(stored)
        return list(groups.items())


class RecordReader:
    # Completes "There is no record 12 …" in messages: "in this profile", "in this share".
    where = "here"
    # Whether the viewer offers to save attached files (a view-only share says no).
    allow_save = True

    def __init__(self, conn: Connection) -> None:
        self.queries = RecordQueries(conn, search_vocabulary())
        self.timeline_reads = TimelineReads(self.queries)

    @property
    def views(self) -> RecordViews:
        return RecordViews(self)

    def _missing(self, what: str) -> ServiceError:
        return ServiceError(f"There is no {what} {self.where}.")

    def records(self, record_filter: RecordFilter = NO_FILTER) -> list[StoredRecord]:
        return self.queries.records(record_filter)

    def record(self, record_id: int) -> StoredRecord:
        found = self.queries.record(record_id)
        if found is None:
            raise self._missing(f"record {record_id}")
        return found

    def _listed(self, record_filter: RecordFilter) -> RecordFilter:
        """The filter as the timeline applies it (a share leaves out its Patient resource)."""
        return record_filter

    def record_ids(self, record_filter: RecordFilter = NO_FILTER) -> list[int]:
        return self.queries.record_ids(self._listed(record_filter))

    def records_by_ids(self, ids: Sequence[int], *, with_tags: bool = True) -> list[StoredRecord]:
        return self.queries.records_by_ids(ids, with_tags=with_tags)

    def record_keys(
        self, record_filter: RecordFilter = NO_FILTER
    ) -> Iterator[tuple[int, str, str, str | None, str | None, str | None]]:
        """(id, kind, resource type, effective, precision, source system) in timeline order,
        read as used."""
        return self.queries.record_keys(record_filter)

    def record_sources(self, record_ids: Sequence[int]) -> dict[int, list[str]]:
        """Every source of each record's fact (a record from two files names both)."""
        return self.queries.sources_of(record_ids)

    def same_fact_records(self, record_id: int) -> list[StoredRecord]:
        """The record and every other record of the same fact (itself first)."""
        self.record(record_id)
        return self.queries.records_by_ids(fact_links.fact_of(self.queries.conn, record_id))

    def split_from(self, record_id: int) -> list[StoredRecord]:
        """Records the patient said are different from this one (to offer an undo)."""
        return self.queries.records_by_ids(fact_links.splits_of(self.queries.conn, record_id))

    def record_origins(self, record_ids: Sequence[int]) -> dict[int, str]:
        """Each record's own source (to tell apart the records of one fact)."""
        return self.queries.origins_of(record_ids)

    def source_systems(self) -> list[str]:
        return self.timeline_reads.sources()

    def tags(self) -> list[str]:
        return self.queries.tags()

    def attachments(self, record_id: int) -> list[tuple[int, str, str, int]]:
        return self.queries.attachments(record_id)

    def attachment_data(self, attachment_id: int) -> bytes:
        data = self.queries.attachment_data(attachment_id)
        if data is None:
            raise self._missing(f"attachment {attachment_id}")
        return data

    def external_files(self, record_id: int) -> list[ExternalFile]:
        """The record's attachments held on another site (outside its FHIR server's address,
        or any web link in a file's data), in the resource's order."""
        found = self.queries.raw_body_and_source(record_id)
        if found is None:
            raise self._missing(f"record {record_id}")
        body, kind, detail = found
        try:
            resource = orjson.loads(body)
        except orjson.JSONDecodeError:
            return []  # a raw source that is not JSON has no FHIR attachments
        if not isinstance(resource, dict):
            return []
        base = detail.get("fhir_base") if kind == "smart" else None
        # A file already held is not a link too: sync keeps the URL as its name, a share the
        # URL's last segment.
        held = {filename for _id, filename, _type, _size in self.attachments(record_id)}
        return [
            ExternalFile(
                link.title,
                link.url,
                link.content_type or "",
                urlsplit(link.url).hostname or "",
            )
            for link in external_links(resource, base if isinstance(base, str) else None)
            if link.url not in held and _last_segment(link.url) not in held
        ]

    def search(
        self, text: str, limit: int = 200, include_restricted: bool = False
    ) -> list[StoredRecord]:
        """Records answering a question in the patient's words, best first (restricted ones
        only when asked for or revealed)."""
        return self.queries.search(text, limit, include_restricted)

    def search_answer(
        self, text: str, limit: int = 200, include_restricted: bool = False
    ) -> SearchResults:
        """`search`, with the spelling fixes it made and a "did you mean" when nothing matched."""
        records, answer = self.queries.search_answer(text, limit, include_restricted)
        return SearchResults(records, dict(answer.corrections), answer.suggestion)

    def timeline(
        self, record_filter: RecordFilter = NO_FILTER
    ) -> list[tuple[str, str | None, str, int]]:
        """(year, month or None when unknown, kind, count), newest first; undated last."""
        return [
            (*year_and_month(bucket), kind, n)
            for bucket, kind, n in self.timeline_reads.month_kind_counts(
                self._listed(record_filter)
            )
        ]

    def timeline_months(self, record_filter: RecordFilter = NO_FILTER) -> list[tuple[str, int]]:
        """(month bucket, count) newest first: "2015-03", "2015" when only the year is
        known, "" for undated records (see vault/timeline.py)."""
        return self.timeline_reads.month_counts(self._listed(record_filter))

    def timeline_page(
        self, record_filter: RecordFilter, bucket: str, offset: int, limit: int
    ) -> list[StoredRecord]:
        """Rows `offset` to `offset + limit` of one month bucket, in timeline order."""
        return self.timeline_reads.page(self._listed(record_filter), bucket, offset, limit)

    def timeline_position(
        self, record_filter: RecordFilter, record_id: int
    ) -> tuple[str, int] | None:
        """The month bucket and row of a record in the timeline; None when filtered out."""
        return self.timeline_reads.position(self._listed(record_filter), record_id)

    def counts_by_kind(self) -> dict[str, int]:
        return self.queries.counts_by_kind()

    def milestones(self) -> list[MilestoneView]:
        """Read only what milestones can come from, narrowly (services/aatd_summary.py), so
        this stays quick at 500k records."""
        return milestone_views(milestone_sources(self.queries))

    def fev1_slope_ml_per_year(self) -> float | None:
        return fev1_annual_slope_ml_per_year(
            [s.record for s in fev1_results(self.queries)], aatd_pack()
        )

    def raw_source(self, record_id: int) -> bytes:
        body = self.queries.raw_body(record_id)
        if body is None:
            raise self._missing(f"record {record_id}")
        return body

    def context(self, record_id: int) -> RecordContext:
        """Who the record names (ordered by, performed by…) and its imaging links."""
        self.record(record_id)  # a clear message for an unknown id
        return record_context(self.queries, record_id)

    def raw_sources(self, record_ids: Sequence[int]) -> dict[int, bytes]:
        """The raw bodies of many records, read in batches (unknown ids are left out)."""
        return self.queries.raw_bodies(record_ids)

    def record_text(self, record_id: int) -> str:
        """What the record's source says in words (a document's or note's text), for reading;
        "" when it has none."""
        self.record(record_id)  # a clear message for an unknown id
        return self.queries.record_text(record_id)

    def notes(self, record_id: int) -> list[tuple[int, str, str]]:
        """(id, text, when) of the patient's own notes on a record, oldest first."""
        return self.queries.notes(record_id)

    def corrections(self, record_id: int) -> list[tuple[int, str, str, str, str]]:
        """(id, field, value, reason, when) of the patient's corrections, oldest first."""
        return list(
            self.queries.conn.execute(
                "SELECT id, field, value, reason, created_at FROM corrections WHERE record_id = ? "
                "ORDER BY id",
                (record_id,),
            )
        )
