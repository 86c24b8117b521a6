"""A search query in the patient's words, planned into what the search index should match.

Pure and I/O-free: the vocabulary (resources/search/vocabulary.json) is handed in as data. A
query becomes *units*: a phrase the vocabulary knows ("sugar test", "lung doctor", "vaccines")
or a single typed word. Every unit must match somewhere in a record (any field: title, codes,
notes, text, or its kind, category, tags and facility), through any of its alternatives: the
typed words themselves (as prefixes, so search works while typing), and the concept's words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_WORD = re.compile(r"\w+", re.UNICODE)
_POSSESSIVE = re.compile(r"(\w)['’]s\b")
# The longest phrase of the vocabulary, in words: bounds the phrase search over a query.
_MAX_PHRASE = 5


def fold(text: str) -> str:
    """Case and accents ignored: what both the query and the vocabulary are compared as."""
    if text.isascii():
        return text.lower()  # the common case, ~50 times faster than decomposing
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words_of(text: str) -> list[str]:
    """Folded words; an English possessive is dropped ("doctor's" → "doctor")."""
    return _WORD.findall(_POSSESSIVE.sub(r"\1", fold(text)))


def kind_words(kind: str) -> str:
    """A record kind as the words the index holds for it ("lab_result" → "lab result")."""
    return kind.replace("_", " ")


@dataclass(frozen=True)
class Concept:
    """One meaning: the names people type for it, the words records hold for it, and the
    record kinds it is about (alternatives when there are no words, else a ranking hint)."""

    names: tuple[str, ...]
    finds: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Vocabulary:
    concepts: tuple[Concept, ...] = ()
    filler: frozenset[str] = frozenset()
    _by_name: dict[tuple[str, ...], Concept] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for concept in self.concepts:
            for name in concept.names:
                self._by_name.setdefault(tuple(words_of(name)), concept)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Vocabulary:
        concepts = tuple(
            Concept(tuple(c.get("names", ())), tuple(c.get("finds", ())), tuple(c.get("kinds", ())))
            for c in data.get("concepts", ())
        )
        return cls(concepts, frozenset(fold(w) for w in data.get("filler", ())))

    def concept(self, words: Sequence[str]) -> Concept | None:
        """The concept named by these words, a plural 's' of the last word forgiven."""
        found = self._by_name.get(tuple(words))
        if found is None and words and len(words[-1]) > 3 and words[-1].endswith("s"):
            found = self._by_name.get((*words[:-1], words[-1][:-1]))
        return found

    def is_name(self, words: Sequence[str]) -> bool:
        return tuple(words) in self._by_name

    def knows(self, word: str) -> bool:
        return word in self.filler or self.concept([word]) is not None

    @property
    def name_words(self) -> frozenset[str]:
        return frozenset(w for name in self._by_name for w in name)


@dataclass(frozen=True)
class Unit:
    """One thing asked for. `typed`: the query's words for it; `finds`: whole words or phrases
    that also answer it; `kinds`: record kinds that answer it (when `kinds_match`) or that rank
    first (otherwise)."""

    typed: tuple[str, ...]
    finds: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    kinds_match: bool = False
    corrected_from: str | None = None  # the typed word, when `typed` is its spelling fix

    @property
    def literal(self) -> str:
        return " ".join(self.typed)

    def fts(self) -> str:
        """This unit as an FTS5 expression: any alternative may match, in any column."""
        alternatives = [_phrase(self.typed, prefix=True)]
        alternatives += [_phrase(words_of(f), prefix=False) for f in self.finds]
        if self.kinds_match:
            alternatives += [f"kind : {_phrase(kind_words(k).split(), False)}" for k in self.kinds]
        unique = [a for a in dict.fromkeys(alternatives) if a]
        return unique[0] if len(unique) == 1 else "(" + " OR ".join(unique) + ")"

    def title_pattern(self) -> re.Pattern[str]:
        """Matches a record's folded title or code text holding this unit's words."""
        typed = r"\s+".join(re.escape(w) for w in self.typed)
        parts = [rf"\b{typed}"]
        parts += [
            r"\b" + r"\W+".join(re.escape(w) for w in words_of(f)) + r"\b" for f in self.finds
        ]
        return re.compile("|".join(p for p in parts if p != r"\b\b"))


def _phrase(words: Sequence[str], prefix: bool) -> str:
    if not words:
        return ""
    quoted = '"' + " ".join(words) + '"'
    return quoted + "*" if prefix else quoted


@dataclass(frozen=True)
class QueryPlan:
    units: tuple[Unit, ...]

    def fts(self, any_unit: bool = False) -> str:
        """Every unit (or, for a forgiving second pass, any unit) as one FTS5 query."""
        return (" OR " if any_unit else " AND ").join(u.fts() for u in self.units)

    @property
    def preferred_kinds(self) -> frozenset[str]:
        return frozenset(k for u in self.units if not u.kinds_match for k in u.kinds)

    @property
    def corrections(self) -> dict[str, str]:
        return {u.corrected_from: u.literal for u in self.units if u.corrected_from}

    def with_units(self, units: Iterable[Unit]) -> QueryPlan:
        return QueryPlan(tuple(units))


def plan_query(text: str, vocabulary: Vocabulary) -> QueryPlan:
    """The query's units: the longest vocabulary phrases first, filler words left out (unless
    the query is nothing but filler), every other word a unit of its own."""
    words = words_of(text)
    units: list[Unit] = []
    i = 0
    while i < len(words):
        for size in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
            concept = vocabulary.concept(words[i : i + size])
            if concept is not None:
                typed = tuple(words[i : i + size])
                units.append(unit_of_concept(typed, concept, vocabulary.is_name(typed)))
                i += size
                break
        else:
            word = words[i]
            i += 1
            if word not in vocabulary.filler:
                units.append(Unit(_stem_plural(word)))
    if not units:
        units = [Unit((w,)) for w in words if len(w) > 1][:3]
    return QueryPlan(tuple(units))


def unit_of_concept(typed: tuple[str, ...], concept: Concept, exact: bool = False) -> Unit:
    """The unit for a concept named by `typed`: as typed when that is one of its names
    ("tetanus"), else the singular its plural was matched by ("vaccines" → "vaccine")."""
    return Unit(
        typed if exact else _stem_plural_tuple(typed),
        concept.finds,
        concept.kinds,
        kinds_match=not concept.finds,
    )


def _stem_plural(word: str) -> tuple[str, ...]:
    """A typed plural also finds the singular: "migraines" searches for "migraine…"."""
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return (word[:-1],)
    return (word,)


def _stem_plural_tuple(words: tuple[str, ...]) -> tuple[str, ...]:
    return (*words[:-1], *_stem_plural(words[-1])) if words else words


_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
# Sounds spelt two ways, each swap counted as one typo ("emfysema", "anemia"/"anaemia").
_SOUNDS = (("f", "ph"), ("k", "c"), ("ae", "e"), ("oe", "e"), ("z", "s"), ("i", "y"))


def one_edit_variants(word: str, alphabet: str = _ALPHABET) -> set[str]:
    """Every spelling one typo away: a letter dropped, added, changed, two swapped, or a
    sound spelt the other way."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = {a + b[1:] for a, b in splits if b}
    swaps = {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    changes = {a + c + b[1:] for a, b in splits if b for c in alphabet}
    inserts = {a + c + b for a, b in splits for c in alphabet}
    sounds = {
        word[:i] + b + word[i + len(a) :]
        for x, y in _SOUNDS
        for a, b in ((x, y), (y, x))
        for i in range(len(word))
        if word.startswith(a, i)
    }
    return (deletes | swaps | changes | inserts | sounds) - {word}
