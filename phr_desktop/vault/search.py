"""Search over the FTS5 index: the planned query matched, spelling forgiven, answers ranked.

Ranking prefers the thing asked for: a record whose title or codes hold what was asked (or a
name for it) beats one whose notes or text mention it; records of the kind asked for come
first; then FTS5's bm25 with the title and codes weighted above the rest; recent before old
when those are equal. `candidate_sql` is the one place the matching SQL is written, so a
filter on which records are listed (canonical records only, say) is added once.
"""

from __future__ import annotations

import difflib
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

# bm25 weights of the index's columns: title, codes, about, notes, body.
_WEIGHTS = "10.0, 6.0, 2.0, 1.0, 0.5"
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


def candidate_sql(limit: int) -> str:
    """Ids matching an FTS5 query (parameter 1) with their rank inputs, bm25-best first."""
    return (
        f"SELECT s.rowid, bm25(search_index, {_WEIGHTS}), r.kind, r.sort_date, s.title, s.codes "
        "FROM search_index s JOIN records r ON r.id = s.rowid "
        f"WHERE search_index MATCH ? ORDER BY bm25(search_index, {_WEIGHTS}) LIMIT {int(limit)}"
    )


class SearchIndex:
    def __init__(self, conn: Connection, vocabulary: Vocabulary) -> None:
        self.conn = conn
        self.vocabulary = vocabulary
        self._vocab_table_ready = False

    # --- the query --------------------------------------------------------------------------

    def plan(self, text: str) -> QueryPlan:
        """The query's units, with a word that matches nothing replaced by its one-typo fix."""
        plan = plan_query(text, self.vocabulary)
        return plan.with_units(self._forgive_typo(u) for u in plan.units)

    def match_expression(self, text: str) -> str:
        """The FTS5 query for this text (every unit), for filters that list matches by date."""
        return self.plan(text).fts()

    # --- answering --------------------------------------------------------------------------

    def search(self, text: str, limit: int) -> SearchAnswer:
        plan = self.plan(text)
        if not plan.units:
            return SearchAnswer((), {})
        ranked = self._ranked(plan, any_unit=False)
        if len(ranked) < limit and len(plan.units) > 1:
            # Forgiving second pass: records matching only some of the words, after the rest.
            seen = set(ranked)
            ranked += [i for i in self._ranked(plan, any_unit=True) if i not in seen]
        suggestion = None if ranked else self._did_you_mean(text)
        return SearchAnswer(tuple(ranked[:limit]), plan.corrections, suggestion)

    def _ranked(self, plan: QueryPlan, any_unit: bool) -> list[int]:
        rows = self.conn.execute(candidate_sql(_CANDIDATES), (plan.fts(any_unit),)).fetchall()
        patterns = [u.title_pattern() for u in plan.units]
        preferred = plan.preferred_kinds

        def rank(row: tuple[int, float, str, str | None, str, str]) -> tuple[float, ...]:
            _rid, bm25, kind, sort_date, title, codes = row
            heading = fold(f"{title} {codes}")
            in_heading = sum(1 for p in patterns if p.search(heading))
            kind_fits = 1 if kind in preferred else 0
            # bm25 is negative, better is lower; rounded so near-equal scores tie on date.
            return (-in_heading, -kind_fits, round(bm25, 1), -_date_number(sort_date))

        return [row[0] for row in sorted(rows, key=rank)]

    # --- forgiving spelling -------------------------------------------------------------------

    def _ensure_vocab_table(self) -> None:
        if not self._vocab_table_ready:
            self.conn.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_terms "
                "USING fts5vocab(main, search_index, row)"
            )
            self._vocab_table_ready = True

    def _indexed(self, terms: set[str]) -> set[str]:
        self._ensure_vocab_table()
        found: set[str] = set()
        ordered = sorted(terms)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT term FROM temp.search_terms WHERE term IN ({marks})", chunk
                )
            )
        return found

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
        indexed = self._indexed(variants)
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


def _date_number(sort_date: str | None) -> float:
    """A sortable number for an ISO date of any precision (undated records last)."""
    if not sort_date:
        return 0.0
    digits = "".join(c for c in sort_date[:19] if c.isdigit())
    return float(digits.ljust(14, "0"))
