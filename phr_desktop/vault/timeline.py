"""The timeline's reads that never list every record: counts per month and kind, the sources,
and one month's records a page at a time (and where a record sits among them).

Counts come from `timeline_counts` (kept by triggers, see migration m0012) when the filter is
by kind and source only, which is the start and the common filters; the few restricted records
are subtracted. Any other filter (dates, a tag, words) counts its matches in one grouped query,
which the filter itself narrows.

A month is named by its bucket, `substr(sort_date, 1, 7)`: "2015-03", "2015" for dates with only
a year, "" for undated records. Buckets sort newest first with a year's month-less dates after
its months and undated ones last, the order of `ORDER BY sort_date DESC`, so each month is one
run of the timeline's rows.
"""

from __future__ import annotations

from typing import Any

from phr_desktop.vault.queries import RecordFilter, RecordQueries
from phr_desktop.vault.search import SHOWN
from phr_desktop.vault.sensitivity import RESTRICTED_IDS_SQL
from phr_desktop.vault.stored_record import StoredRecord

# Also the expression of the index records_by_bucket (migration m0014): change both together.
BUCKET_SQL = "coalesce(substr(r.sort_date, 1, 7), '')"
# Sorts after every character a date holds: "2015-03" <= any "2015-03…" < "2015-03" + this.
_AFTER_ANY_CHARACTER = "\U0010ffff"


def bucket_condition(bucket: str) -> tuple[str, list[Any]]:
    """The records of one bucket, as SQL over `r` that the date index answers as a range."""
    if not bucket:
        return "(r.sort_date IS NULL OR r.sort_date = '')", []
    if len(bucket) < 7:  # the whole date is shorter than a month ("2015"): exactly that date
        return "r.sort_date = ?", [bucket]
    return (
        "r.sort_date >= ? AND r.sort_date < ? AND substr(r.sort_date, 1, 7) = ?",
        [bucket, bucket + _AFTER_ANY_CHARACTER, bucket],
    )


def year_and_month(bucket: str) -> tuple[str, str | None]:
    """("2015", "03"), ("2015", None) for a date with only a year, ("undated", None)."""
    return bucket[:4] or "undated", bucket[5:7] if len(bucket) >= 7 else None


def _counted(f: RecordFilter) -> bool:
    """Whether `timeline_counts` can answer this filter (by kind and source only)."""
    return not (f.since or f.until or f.tag or f.text or f.every_source)


def _newest_first(counts: dict[tuple[str, str], int]) -> list[tuple[str, str, int]]:
    rows = sorted((b, k, n) for (b, k), n in counts.items() if n > 0)
    # kinds in name order within a bucket; buckets newest first ('' sorts last reversed)
    rows.sort(key=lambda row: row[0], reverse=True)
    return rows


class TimelineReads:
    def __init__(self, queries: RecordQueries) -> None:
        self.queries = queries
        self.conn = queries.conn

    def month_kind_counts(self, f: RecordFilter) -> list[tuple[str, str, int]]:
        """(bucket, kind, count) of the records `f` lists, newest bucket first."""
        return _newest_first(self._from_summary(f) if _counted(f) else self._by_scan(f))

    def month_counts(self, f: RecordFilter) -> list[tuple[str, int]]:
        """(bucket, count) of the records `f` lists, newest first."""
        months: dict[str, int] = {}
        for bucket, _kind, n in self.month_kind_counts(f):
            months[bucket] = months.get(bucket, 0) + n
        return list(months.items())

    def sources(self) -> list[str]:
        """The source systems of the records shown (each fact once), by name."""
        return [
            row[0]
            for row in self.conn.execute(
                "SELECT DISTINCT source_system FROM timeline_counts "
                "WHERE shown > 0 AND source_system != '' ORDER BY source_system"
            )
        ]

    def page(self, f: RecordFilter, bucket: str, offset: int, limit: int) -> list[StoredRecord]:
        """Records `offset` to `offset + limit` of one bucket, in timeline order."""
        condition, params = bucket_condition(bucket)
        return self.queries.page(f, condition, params, limit, offset)

    def position(self, f: RecordFilter, record_id: int) -> tuple[str, int] | None:
        """The bucket a record is listed in under `f` and its row there; None when `f` does
        not list it."""
        where, params = self.queries.where(f, "r.id = ?", [record_id])
        row = self.conn.execute(f"SELECT r.sort_date FROM records r{where}", params).fetchone()
        if row is None:
            return None
        sort_date: str | None = row[0]
        bucket = sort_date[:7] if sort_date else ""
        condition, bucket_params = bucket_condition(bucket)
        # The rows before it in `ORDER BY sort_date DESC, id DESC` (NULL dates come last).
        before_params: list[Any]
        if sort_date is None:
            before, before_params = "(r.sort_date IS NOT NULL OR r.id > ?)", [record_id]
        else:
            before = "(r.sort_date > ? OR (r.sort_date = ? AND r.id > ?))"
            before_params = [sort_date, sort_date, record_id]
        where, params = self.queries.where(
            f, f"{condition} AND {before}", [*bucket_params, *before_params]
        )
        (earlier,) = self.conn.execute(f"SELECT count(*) FROM records r{where}", params).fetchone()
        return bucket, int(earlier)

    # --- counting ---------------------------------------------------------------------------

    def _from_summary(self, f: RecordFilter) -> dict[tuple[str, str], int]:
        clauses, params = _kind_and_source(f, "")
        clauses.insert(0, "shown > 0")
        counts: dict[tuple[str, str], int] = {
            (bucket, kind): int(n)
            for bucket, kind, n in self.conn.execute(
                "SELECT bucket, kind, sum(shown) FROM timeline_counts "
                f"WHERE {' AND '.join(clauses)} GROUP BY bucket, kind",
                params,
            )
        }
        if not self.queries.shows_restricted(f.include_restricted):
            for key, n in self._restricted(f).items():
                counts[key] = counts.get(key, 0) - n
        return counts

    def _restricted(self, f: RecordFilter) -> dict[tuple[str, str], int]:
        """The counts of the restricted records among those `f` would list if they were not."""
        clauses, params = _kind_and_source(f, "r.")
        clauses[:0] = [SHOWN, f"r.id IN ({RESTRICTED_IDS_SQL})"]
        rows = self.conn.execute(
            f"SELECT {BUCKET_SQL}, r.kind, count(*) FROM records r "
            f"WHERE {' AND '.join(clauses)} GROUP BY 1, 2",
            params,
        )
        return {(bucket, kind): int(n) for bucket, kind, n in rows}

    def _by_scan(self, f: RecordFilter) -> dict[tuple[str, str], int]:
        where, params = self.queries.where(f)
        rows = self.conn.execute(
            f"SELECT {BUCKET_SQL}, r.kind, count(*) FROM records r{where} GROUP BY 1, 2", params
        )
        return {(bucket, kind): int(n) for bucket, kind, n in rows}


def _kind_and_source(f: RecordFilter, prefix: str) -> tuple[list[str], list[Any]]:
    """The filter's kinds and source as SQL clauses on columns named `prefix`kind and so on
    (the kept counts and the records share those column names)."""
    clauses: list[str] = []
    params: list[Any] = []
    if f.kinds:
        clauses.append(f"{prefix}kind IN ({','.join('?' * len(f.kinds))})")
        params.extend(f.kinds)
    if f.source_system:
        clauses.append(f"{prefix}source_system = ?")
        params.append(f.source_system)
    return clauses, params
