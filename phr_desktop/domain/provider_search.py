"""Find-as-you-type over the provider directory: every query word must start a word of the
organisation's name, alias, city, state, postal code or EHR vendor.

Built once (about 35,000 rows), then each keystroke is a few binary searches in a sorted
vocabulary: bench/providers_bench.py holds it to well under the 50 ms a keystroke may take.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from functools import lru_cache

from phr_desktop.domain.ehr_vendors import vendor, vendor_codes_matching
from phr_desktop.domain.provider_directory import Provider

_WORD = re.compile(r"[0-9a-z]+")
DEFAULT_LIMIT = 50


def fold(text: str) -> str:
    """Lower case without accents, so "Zoë" finds "zoe" and "SAINT" finds "saint"."""
    if text.isascii():  # nearly every name: the fast path keeps the index build short
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words_of(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@lru_cache(maxsize=64)
def _vendor_words(code: str) -> tuple[str, ...]:
    v = vendor(code)
    return tuple(words_of(f"{v.code} {v.name}"))


def _row_words(p: Provider) -> set[str]:
    words = set(words_of(" ".join((p.name, *p.aliases, p.city, p.state, p.postal_code))))
    words.update(_vendor_words(p.vendor))
    return words


class ProviderIndex:
    """An in-memory prefix index; `search` is safe to call from any one thread at a time."""

    def __init__(self, providers: Sequence[Provider]) -> None:
        self.providers = list(providers)
        self._names = [
            " ".join(words_of(p.name)) for p in self.providers
        ]  # "st. luke's" → "st luke s"
        postings: dict[str, list[int]] = {}
        # Each row's words as one string " w1 w2 …": a later query word q matches the row
        # when " q" occurs in it (a word starts with q).
        self._row_text: list[str] = []
        for row, p in enumerate(self.providers):
            words = _row_words(p)
            self._row_text.append(" " + " ".join(words))
            for w in words:
                postings.setdefault(w, []).append(row)
        self._vocabulary = sorted(postings)
        self._postings = [postings[w] for w in self._vocabulary]
        # Rows by folded name: the names that start with the query are one bisect range, and
        # the best matches are among them whenever there are enough (a one-letter query).
        self._by_name = sorted(range(len(self.providers)), key=self._names.__getitem__)
        self._sorted_names = [self._names[r] for r in self._by_name]
        order = sorted(range(len(self.providers)), key=lambda r: (len(self._names[r]), r))
        self._shortness = [0] * len(order)  # rank of each row by name length, then position
        for position, r in enumerate(order):
            self._shortness[r] = position

    def __len__(self) -> int:
        return len(self.providers)

    def _rows_with_prefix(self, prefix: str) -> set[int]:
        rows: set[int] = set()
        start = bisect_left(self._vocabulary, prefix)
        for i in range(start, len(self._vocabulary)):
            if not self._vocabulary[i].startswith(prefix):
                break
            rows.update(self._postings[i])
        return rows

    def search(
        self,
        text: str,
        *,
        vendor_filter: str | None = None,
        include_test_systems: bool = False,
        limit: int = DEFAULT_LIMIT,
    ) -> list[Provider]:
        """Best matches first: names that start with the query, then names whose words do,
        shorter names before longer; test systems only when asked for."""
        query = words_of(text)
        vendors = vendor_codes_matching(vendor_filter) if vendor_filter else None
        if not query and vendors is None:
            return []
        if query:
            # The longest word is the most selective: index it, then check the others per row.
            first, *rest = sorted(query, key=len, reverse=True)
            candidates = self._rows_with_prefix(first)
            if rest:
                texts, needles = self._row_text, [f" {q}" for q in rest]
                candidates = {r for r in candidates if all(n in texts[r] for n in needles)}
        else:
            candidates = set(range(len(self.providers)))
        providers = self.providers
        if vendors is not None:
            candidates = {r for r in candidates if providers[r].vendor in vendors}
        if not include_test_systems:
            candidates = {r for r in candidates if not providers[r].test_system}
        phrase = " ".join(query)
        shortness = self._shortness
        starting = candidates.intersection(self._names_starting(phrase)) if phrase else set()
        if len(starting) >= limit:  # enough names start with the query: the best are there
            return [
                providers[r] for r in heapq.nsmallest(limit, starting, key=shortness.__getitem__)
            ]
        names, inner = self._names, f" {phrase}"

        def rank(r: int) -> tuple[int, int]:
            tier = 0 if r in starting else 1 if inner in names[r] else 2
            return (tier, shortness[r])

        return [providers[r] for r in heapq.nsmallest(limit, candidates, key=rank)]

    def _names_starting(self, phrase: str) -> list[int]:
        start = bisect_left(self._sorted_names, phrase)
        end = start
        while end < len(self._sorted_names) and self._sorted_names[end].startswith(phrase):
            end += 1
        return self._by_name[start:end]

    def named(self, name: str) -> list[Provider]:
        """Providers whose name (or alias) is `name`, ignoring case, accents and spacing."""
        wanted = " ".join(words_of(name))
        return [
            p
            for p in self.providers
            if " ".join(words_of(p.name)) == wanted
            or any(" ".join(words_of(a)) == wanted for a in p.aliases)
        ]
