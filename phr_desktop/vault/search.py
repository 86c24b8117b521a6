"""Search over the FTS5 index: the planned query matched, spelling forgiven, answers ranked.

Ranking prefers the thing asked for: a record whose title, codes or kind hold what was asked
(or a name for it) beats one whose notes or text mention it; then one holding every word
asked; then records of the kind asked for; recent before old when those are equal; FTS5's
bm25 (title and codes weighted above the rest) last. bm25 alone also picks which candidates
are ranked at all. `candidate_sql` is the one place the matching SQL is written, so a
filter on which records are listed (canonical records only, say) is added once.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from phr_desktop.domain.search_query import (
    QueryPlan,
    Unit,
    Vocabulary,
    fold,
    one_edit_variants,
    plan_query,
    words_of,
)
from phr_desktop.vault.database import Connection
from phr_desktop.vault.sensitivity import NOT_RESTRICTED_SQL

# bm25 weights of the index's columns: title, codes, kind, about, notes, body.
_WEIGHTS = "10.0, 6.0, 2.0, 2.0, 1.0, 0.5"
# How many candidates bm25 hands to the finer ranking: enough that the best of a large match
# (every vaccine, every lab) is among them, few enough to rank in a millisecond or two.
_CANDIDATES = 400
# A typo is forgiven in words of this many letters or more (shorter words have too many
# neighbours: "ast" is one letter from "alt").
_TYPO_MIN_LETTERS = 5


@dataclass(frozen=True)
class SearchAnswer:
    """Record ids, best first; the spelling fixes made (typed → used); and, when nothing
    matched, a query that would match ("did you mean")."""

    ids: tuple[int, ...]
    corrections: dict[str, str]
    suggestion: str | None = None


# One fact once: a record that repeats another (same_as) is listed through that one; spelt
# exactly so, the partial indexes on records serve it.
SHOWN = "r.same_as IS NULL"


def listing_conditions(include_restricted: bool) -> list[str]:
    """Which records of `r` may be listed, as SQL conditions every matching query here ends
    with: each fact once, and restricted records left out unless asked for."""
    return [SHOWN] if include_restricted else [SHOWN, NOT_RESTRICTED_SQL]


def listing_where(include_restricted: bool) -> str:
    return " WHERE " + " AND ".join(listing_conditions(include_restricted))


def candidate_sql(limit: int, include_restricted: bool = False) -> str:
    """Ids matching an FTS5 query (parameter 1), bm25-best first, with their rank inputs.

    The bm25 order is FTS5's own `rank` (column weights set through `rank MATCH`), which FTS5
    sorts without a join; only the `limit` ids found are joined to their records, and only
    those shown (one fact once: a record repeating another is found through that one).
    """
    return (
        "SELECT r.id, c.score, r.kind, r.sort_date, c.title, c.codes FROM ("
        "SELECT rowid, rank AS score, title, codes FROM search_index "
        f"WHERE search_index MATCH ? AND rank MATCH 'bm25({_WEIGHTS})' "
        f"ORDER BY rank LIMIT {int(limit)}"
        ") c JOIN records r ON r.id = c.rowid" + listing_where(include_restricted)
    )


# Matches up to this many are scored by bm25; a larger match takes the latest-stored ones.
_SCORED_MATCHES = 3000
_PROBE_SQL = (
    "SELECT count(*) FROM (SELECT 1 FROM search_index WHERE search_index MATCH ? "
    f"LIMIT {_SCORED_MATCHES + 1})"
)
_LATEST_SQL_WITHOUT_FILTER = (
    "SELECT r.id, 0.0, r.kind, r.sort_date, c.title, c.codes FROM ("
    "SELECT rowid, title, codes FROM search_index WHERE search_index MATCH ? "
    f"ORDER BY rowid DESC LIMIT {_CANDIDATES}"
    ") c JOIN records r ON r.id = c.rowid"
)


class SearchIndex:
    def __init__(self, conn: Connection, vocabulary: Vocabulary) -> None:
        self.conn = conn
        self.vocabulary = vocabulary
        self._vocab_table_ready = False
        self._include_restricted = False  # of the search under way

    # --- the query --------------------------------------------------------------------------

    def plan(self, text: str) -> QueryPlan:
        """The query's units, with a word that matches nothing replaced by its one-typo fix."""
        plan = plan_query(text, self.vocabulary)
        return plan.with_units(self._forgive_typo(u) for u in plan.units)

    def match_expression(self, text: str) -> str:
        """The FTS5 query for this text (every unit), for filters that list matches by date."""
        return self.plan(text).fts()

    def matches_more_than(self, expression: str, n: int) -> bool:
        """Whether an FTS5 query matches more than `n` records (counting no further)."""
        row = self.conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM search_index WHERE search_index MATCH ? LIMIT ?)",
            (expression, n + 1),
        ).fetchone()
        return int(row[0]) > n

    # --- answering --------------------------------------------------------------------------

    def search(self, text: str, limit: int, include_restricted: bool = False) -> SearchAnswer:
        self._include_restricted = include_restricted
        plan = self.plan(text)
        if not plan.units:
            return SearchAnswer((), {})
        every = self._candidates(plan, any_unit=False)
        rows = {row[0]: (row, True) for row in every}
        if len(plan.units) > 1 and (len(every) < limit or not self._headed(plan, every)):
            # Forgiving second pass: the words may be spread over related records, or one of
            # them may be a word the record does not use; records holding some of the words
            # are ranked with the rest, a title match still first.
            for row in self._candidates(plan, any_unit=True):
                rows.setdefault(row[0], (row, False))
        if len(plan.units) > 1 and len(rows) < limit:
            for row in self._through_visits(plan):
                rows[row[0]] = (row, True)
        ranked = self._ranked(plan, list(rows.values()))
        suggestion = None if ranked else self._did_you_mean(text)
        return SearchAnswer(tuple(ranked[:limit]), plan.corrections, suggestion)

    def _candidates(self, plan: QueryPlan, any_unit: bool) -> list[_Row]:
        expression = plan.fts(any_unit)
        probe = self.conn.execute(_PROBE_SQL, (expression,)).fetchone()[0]
        # bm25 costs a score per match: fine for a few thousand, not for "lab results" over
        # 75,000. A large match is ranked from its latest-stored records instead (no score:
        # the heading, kind and date rules still order them).
        include = self._include_restricted
        sql = (
            candidate_sql(_CANDIDATES, include)
            if probe <= _SCORED_MATCHES
            else _LATEST_SQL_WITHOUT_FILTER + listing_where(include)
        )
        return self.conn.execute(sql, (expression,)).fetchall()

    def _through_visits(self, plan: QueryPlan) -> list[_Row]:
        """Records that hold every unit but one themselves and the last one through their
        visit ("blood pressure hepatology": the readings taken at a hepatology visit)."""
        found: list[_Row] = []
        for i, unit in enumerate(plan.units):
            visits = self.conn.execute(
                "SELECT e.resource_id FROM search_index s JOIN records e ON e.id = s.rowid "
                f"WHERE search_index MATCH ? AND e.kind = 'encounter' LIMIT {_CANDIDATES}",
                (f'kind : "encounter" AND {unit.fts()}',),
            ).fetchall()
            if not visits:
                continue
            # A record points at its visit by a relative reference or, in a bundle, by urn.
            refs = [f"{prefix}{rid}" for (rid,) in visits for prefix in ("Encounter/", "urn:uuid:")]
            rest = plan.with_units(u for j, u in enumerate(plan.units) if j != i)
            marks = ",".join("?" * len(refs))
            found += self.conn.execute(
                "SELECT r.id, 0.0, r.kind, r.sort_date, s.title, s.codes "
                "FROM search_index s JOIN records r ON r.id = s.rowid "
                f"WHERE search_index MATCH ? AND r.encounter_ref IN ({marks})"
                + "".join(f" AND {c}" for c in listing_conditions(self._include_restricted))
                + f" LIMIT {_CANDIDATES}",
                (rest.fts(), *refs),
            ).fetchall()
        return found

    def _headed(self, plan: QueryPlan, rows: list[_Row]) -> bool:
        """Does any record hold something asked for in its title, codes or kind? If none
        does, the words may have matched only in passing (notes), and the second pass may
        find the record that is about one of them."""
        matchers = _heading_matchers(plan)
        return any(_in_heading(matchers, row) for row in rows)

    def _ranked(self, plan: QueryPlan, rows: list[tuple[_Row, bool]]) -> list[int]:
        matchers = _heading_matchers(plan)
        preferred = plan.preferred_kinds

        def rank(item: tuple[_Row, bool]) -> tuple[float, ...]:
            row, has_every_unit = item
            _rid, bm25, kind, sort_date, _title, _codes = row
            return (
                -_in_heading(matchers, row),
                -int(has_every_unit),
                -int(kind in preferred),
                # Equally good answers newest first: the latest result, the last visit.
                -_date_number(sort_date),
                bm25,  # negative, better is lower
            )

        return [row[0] for row, _ in sorted(rows, key=rank)]

    # --- forgiving spelling -------------------------------------------------------------------

    def _ensure_vocab_table(self) -> None:
        if self._vocab_table_ready:
            return
        # A view of the index's terms, in this connection's temp schema only. A share opened
        # read-only (`query_only`) allows it too: nothing of the shared data is written.
        read_only = self.conn.execute("PRAGMA query_only").fetchone()[0]
        if read_only:
            self.conn.execute("PRAGMA query_only = OFF")
        try:
            self.conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_terms "
                "USING fts5vocab(main, search_index, row)"
            )
        finally:
            if read_only:
                self.conn.execute("PRAGMA query_only = ON")
        self._vocab_table_ready = True

    def _indexed(self, word: str, variants: set[str]) -> set[str]:
        """The variants the index holds. Those sharing the word's first two letters come from
        one ordered range read of the terms; the few others (a typo in the first two letters)
        are looked up one by one (fts5vocab answers `term = ?` and ranges from the index, but
        scans every term for `IN (...)`)."""
        self._ensure_vocab_table()
        head = word[:2]
        found = {
            t
            for (t,) in self.conn.execute(
                "SELECT term FROM temp.search_terms WHERE term >= ? AND term < ?",
                (head, head + "\U0010ffff"),
            )
            if t in variants
        }
        lookup = "SELECT 1 FROM temp.search_terms WHERE term = ?"
        others = (v for v in variants if not v.startswith(head))
        return found | {v for v in others if self.conn.execute(lookup, (v,)).fetchone()}

    def _has_prefix(self, word: str) -> bool:
        self._ensure_vocab_table()
        row = self.conn.execute(
            "SELECT 1 FROM temp.search_terms WHERE term >= ? AND term < ? LIMIT 1",
            (word, word + "\U0010ffff"),
        ).fetchone()
        return row is not None

    def _forgive_typo(self, unit: Unit) -> Unit:
        """A typed word of five letters or more that neither the index nor the vocabulary
        knows is read as the word one typo away that one of them does ("emfysema")."""
        if len(unit.typed) != 1 or unit.finds or unit.kinds:
            return unit
        word = unit.typed[0]
        if len(word) < _TYPO_MIN_LETTERS or self._has_prefix(word):
            return unit
        variants = one_edit_variants(word)
        for variant in sorted(variants):
            concept = self.vocabulary.concept([variant])
            if concept is not None:
                return Unit(
                    (variant,), concept.finds, concept.kinds, not concept.finds, corrected_from=word
                )
        indexed = self._indexed(word, variants)
        if not indexed:
            return unit
        best = max(indexed, key=lambda t: (self._term_count(t), t))
        return Unit((best,), corrected_from=word)

    def _term_count(self, term: str) -> int:
        row = self.conn.execute(
            "SELECT doc FROM temp.search_terms WHERE term = ?", (term,)
        ).fetchone()
        return int(row[0]) if row else 0

    def _did_you_mean(self, text: str) -> str | None:
        """The query with each unknown word replaced by the closest indexed or vocabulary word
        (up to two typos, same first letter), or None when there is nothing close."""
        self._ensure_vocab_table()
        words = words_of(text)
        changed = False
        fixed: list[str] = []
        for word in words:
            if len(word) < 4 or self.vocabulary.knows(word) or self._has_prefix(word):
                fixed.append(word)
                continue
            pool = [
                r[0]
                for r in self.conn.execute(
                    "SELECT term FROM temp.search_terms WHERE term >= ? AND term < ? "
                    "AND length(term) BETWEEN ? AND ?",
                    (word[0], word[0] + "\U0010ffff", len(word) - 2, len(word) + 2),
                )
            ]
            pool += [w for w in self.vocabulary.name_words if w[:1] == word[:1]]
            close = difflib.get_close_matches(word, pool, n=1, cutoff=0.75)
            if close:
                fixed.append(close[0])
                changed = True
            else:
                fixed.append(word)
        return " ".join(fixed) if changed else None


_Row = tuple[int, float, str, str | None, str, str]
_HeadingMatcher = tuple[re.Pattern[str], frozenset[str]]


def _heading_matchers(plan: QueryPlan) -> list[_HeadingMatcher]:
    """Per unit: the pattern its words make in a title or codes, and the record kinds that
    count as holding it (a unit such as "vaccines" is answered by the kind itself)."""
    return [
        (u.title_pattern(), frozenset(u.kinds) if u.kinds_match else frozenset())
        for u in plan.units
    ]


def _in_heading(matchers: list[_HeadingMatcher], row: _Row) -> int:
    """How many units the record holds in its title, codes or kind."""
    _rid, _bm25, kind, _date, title, codes = row
    heading = fold(f"{title} {codes}")
    return sum(1 for pattern, kinds in matchers if kind in kinds or pattern.search(heading))


def _date_number(sort_date: str | None) -> float:
    """A sortable number for an ISO date of any precision (undated records last)."""
    if not sort_date:
        return 0.0
    digits = "".join(c for c in sort_date[:19] if c.isdigit())
    return float(digits.ljust(14, "0"))
