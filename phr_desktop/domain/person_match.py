"""Is an incoming Patient the profile's person? Pure rules, no I/O.

Tolerant of what differs between EHRs for one person (name order and case, middle names,
"Larson, Rebecca Jones" vs "Rebecca Jones Larson", diacritics, a known maiden or alias name);
strict about what tells two people apart (the birth date; a different family name, or a
different first name, with the same birth date). A close call (the same name with a birth date
a few weeks off, or a misspelt name) is held like another person, with the reason.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from difflib import SequenceMatcher
from enum import StrEnum
from typing import Any

# Birth dates this many days apart, with the same name, are a close call, not a stranger.
CLOSE_BIRTH_DATE_DAYS = 62
_SIMILAR_NAME = 0.8  # difflib ratio above which a different first/family name is a close call
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
# Words in names that say nothing about who a person is.
_NOISE = frozenset({"mr", "mrs", "ms", "miss", "dr", "jr", "sr", "ii", "iii", "iv", "test"})


@dataclass(frozen=True, slots=True)
class PersonName:
    """One name as the source wrote it: given names (first, middle…) and the family name."""

    given: tuple[str, ...] = ()
    family: str = ""

    @property
    def display(self) -> str:
        return " ".join([*self.given, self.family]).strip()

    @classmethod
    def parse(cls, text: str) -> PersonName:
        """'Larson, Rebecca Jones' or 'Rebecca Jones Larson' (the family name last)."""
        if "," in text:
            family, _, given = text.partition(",")
            return cls(tuple(given.split()), family.strip())
        words = text.split()
        return cls(tuple(words[:-1]), words[-1] if words else "")


@dataclass(frozen=True, slots=True)
class Person:
    """Who a profile (or an incoming Patient) is: names, birth date, sex, identifiers."""

    names: tuple[PersonName, ...] = ()
    birth_date: str | None = None  # ISO date, as precise as the source gave it
    sex: str | None = None
    identifiers: tuple[tuple[str, str], ...] = ()  # (system, value)

    @property
    def display_name(self) -> str:
        return self.names[0].display if self.names else "(no name)"

    def describe(self) -> str:
        """'Rebecca Jones Larson, born 1970-05-01' for messages naming both people."""
        born = f", born {self.birth_date}" if self.birth_date else ", birth date unknown"
        return self.display_name + born

    @property
    def is_empty(self) -> bool:
        return not any(n.display for n in self.names) and not self.birth_date


@dataclass(frozen=True, slots=True)
class Alias:
    """Another name (and birth date, if it differs) the patient confirmed as their own."""

    name: PersonName
    birth_date: str | None = None


class Verdict(StrEnum):
    SAME = "same"
    OTHER = "other"  # clearly someone else
    CLOSE_CALL = "close_call"  # probably someone else, but close: ask


@dataclass(frozen=True, slots=True)
class MatchResult:
    verdict: Verdict
    reason: str

    @property
    def is_same(self) -> bool:
        return self.verdict is Verdict.SAME


@dataclass(frozen=True)
class ProfilePerson:
    """The profile's person and the aliases the patient confirmed."""

    person: Person
    aliases: tuple[Alias, ...] = field(default_factory=tuple)

    def candidates(self) -> Iterable[tuple[PersonName, str | None]]:
        for name in self.person.names:
            yield name, self.person.birth_date
        for alias in self.aliases:
            yield alias.name, alias.birth_date or self.person.birth_date


# --- reading a FHIR Patient ------------------------------------------------------------------


def person_from_patient(resource: Mapping[str, Any]) -> Person:
    """The person a FHIR Patient describes; lenient: whatever is missing stays empty."""
    ranked: list[tuple[int, PersonName]] = []
    for name in resource.get("name") or []:
        if not isinstance(name, Mapping):
            continue
        given = tuple(g for g in name.get("given") or [] if isinstance(g, str) and g.strip())
        family = name.get("family")
        family_text = family.strip() if isinstance(family, str) else ""
        if given or family_text:
            parsed = PersonName(given, family_text)
        elif isinstance(name.get("text"), str) and name["text"].strip():
            parsed = PersonName.parse(name["text"])
        else:
            continue
        # An official or usual name first: it is the one to show.
        ranked.append(({"official": 0, "usual": 1}.get(str(name.get("use")), 2), parsed))
    names = [n for _, n in sorted(ranked, key=lambda pair: pair[0])]
    birth = resource.get("birthDate")
    identifiers = tuple(
        (str(i.get("system") or ""), str(i["value"]))
        for i in resource.get("identifier") or []
        if isinstance(i, Mapping) and isinstance(i.get("value"), str) and i.get("system")
    )
    sex = resource.get("gender")
    return Person(
        tuple(names),
        birth if isinstance(birth, str) and birth.strip() else None,
        sex if isinstance(sex, str) else None,
        identifiers,
    )


# --- comparing --------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    return [t for t in (w.casefold() for w in _TOKEN.findall(plain)) if t not in _NOISE]


@dataclass(frozen=True, slots=True)
class _Tokens:
    first: str  # the first given name ("" if none)
    given: frozenset[str]
    family: frozenset[str]

    @property
    def all(self) -> frozenset[str]:
        return self.given | self.family


def _name_tokens(name: PersonName) -> _Tokens:
    given = [t for g in name.given for t in _tokens(g)]
    family = _tokens(name.family)
    return _Tokens(given[0] if given else "", frozenset(given), frozenset(family))


class _NameFit(StrEnum):
    SAME = "same"
    SIMILAR = "similar"
    OTHER_FAMILY = "other_family"
    OTHER_FIRST = "other_first"
    UNKNOWN = "unknown"  # one side has no usable name


def _names_fit(a: PersonName, b: PersonName) -> _NameFit:
    ta, tb = _name_tokens(a), _name_tokens(b)
    if not ta.all or not tb.all:
        return _NameFit.UNKNOWN
    # Family: either side's family name appears anywhere in the other's name (an EHR that put
    # the names in the wrong fields, "Jones Larson" as a double family name).
    family_ok = bool(ta.family & tb.all or tb.family & ta.all) or not (ta.family and tb.family)
    # First name: one side's first given name is among the other's names (middle names and
    # their order are free), or they are the same initial.
    first_ok = (
        not ta.first
        or not tb.first
        or ta.first in tb.all
        or tb.first in ta.all
        or (min(len(ta.first), len(tb.first)) == 1 and ta.first[0] == tb.first[0])
    )
    if family_ok and first_ok:
        return _NameFit.SAME
    if _similar(ta, tb, family_ok, first_ok):
        return _NameFit.SIMILAR
    return _NameFit.OTHER_FAMILY if not family_ok else _NameFit.OTHER_FIRST


def _similar(ta: _Tokens, tb: _Tokens, family_ok: bool, first_ok: bool) -> bool:
    """A misspelling ('Rebeca' for 'Rebecca'): one part differs, and only a little."""
    if not family_ok and first_ok:
        a, b = " ".join(sorted(ta.family)), " ".join(sorted(tb.family))
    elif family_ok and not first_ok:
        a, b = ta.first, tb.first
    else:
        return False
    return SequenceMatcher(None, a, b).ratio() >= _SIMILAR_NAME


def _as_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _birth_fit(a: str | None, b: str | None) -> tuple[str, str]:
    """('same' | 'unknown' | 'close' | 'other', why)."""
    if not a or not b:
        return "unknown", ""
    # A year or month alone agrees with any day inside it.
    if a[:10] == b[:10] or a[:10].startswith(b[:10]) or b[:10].startswith(a[:10]):
        return "same", ""
    da, db = _as_date(a), _as_date(b)
    why = f"birth dates differ ({a} and {b})"
    if da and db:
        swapped = da.year == db.year and da.month == db.day and da.day == db.month
        if swapped or abs((da - db).days) <= CLOSE_BIRTH_DATE_DAYS:
            return "close", why
    return "other", why


def _one(name: PersonName, birth: str | None, incoming: Person) -> MatchResult:
    born, born_why = _birth_fit(birth, incoming.birth_date)
    fits = [_names_fit(name, n) for n in incoming.names] or [_NameFit.UNKNOWN]
    best = min(fits, key=list(_NameFit).index)
    if born == "other":
        return MatchResult(Verdict.OTHER, born_why)
    if best is _NameFit.SAME:
        if born == "close":
            return MatchResult(Verdict.CLOSE_CALL, f"the same name, but {born_why}")
        return MatchResult(Verdict.SAME, "the same name and birth date")
    if best is _NameFit.UNKNOWN:
        if born == "same":
            return MatchResult(Verdict.CLOSE_CALL, "the same birth date, but no name to compare")
        return MatchResult(Verdict.CLOSE_CALL, "neither a name nor a birth date to compare")
    if best is _NameFit.SIMILAR:
        extra = f", and {born_why}" if born == "close" else ""
        return MatchResult(Verdict.CLOSE_CALL, f"a similar but different name{extra}")
    if best is _NameFit.OTHER_FAMILY:
        return MatchResult(Verdict.OTHER, "a different family name")
    return MatchResult(Verdict.OTHER, "a different first name")


_RANK = {Verdict.SAME: 0, Verdict.CLOSE_CALL: 1, Verdict.OTHER: 2}


def match_person(profile: ProfilePerson, incoming: Person) -> MatchResult:
    """Compare an incoming Patient with the profile's person (and the aliases confirmed)."""
    shared_id = set(profile.person.identifiers) & set(incoming.identifiers)
    results = [_one(name, birth, incoming) for name, birth in profile.candidates()]
    if not results:  # a person with a birth date but no name
        results = [_one(PersonName(), profile.person.birth_date, incoming)]
    best = min(results, key=lambda r: _RANK[r.verdict])
    if best.verdict is not Verdict.SAME and shared_id:
        born, _ = _birth_fit(profile.person.birth_date, incoming.birth_date)
        if born in ("same", "unknown"):
            return MatchResult(Verdict.SAME, "the same identifier from the same system")
    return best
