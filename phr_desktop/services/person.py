"""Whose record is it: the profile's person, and the check every import, connection and sync
makes against it before anything is stored.

The person is set when the profile is created (optional), or taken from the first Patient
imported or synced; another person's Patient is held (never merged silently), with both people
named, and the patient decides: another profile, "this is me" (an alias), or cancel.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from phr_desktop.domain.person_match import (
    MatchResult,
    Person,
    PersonName,
    ProfilePerson,
    Verdict,
    match_person,
    person_from_patient,
)
from phr_desktop.services.errors import ServiceError
from phr_desktop.vault.database import Connection, transaction
from phr_desktop.vault.person_store import PersonStore

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

# Header-band colours: distinct, calm, readable with white text.
PROFILE_COLOURS = (
    "#2F6F9F", "#7A4E9C", "#2E7D5B", "#A35A2A", "#8C3B4A", "#3F5F8F", "#5E7A2E", "#8A6D1F",
)  # fmt: skip


class OtherPersonError(ServiceError):
    """An incoming Patient is not the profile's person; nothing was stored."""

    def __init__(self, check: PersonCheck, what: str, confirm: str) -> None:
        self.check = check
        super().__init__(check.message(what, confirm))


@dataclass(frozen=True)
class PersonCheck:
    """The outcome of comparing incoming Patients with the profile's person."""

    verdict: Verdict
    reason: str
    incoming: Person | None  # the Patient that decided it (None: no Patient came)
    profile: Person | None  # the profile's person (None: not set yet)
    adopt: Person | None = None  # the profile has no person yet: this one becomes it

    @property
    def held(self) -> bool:
        return self.verdict is not Verdict.SAME

    def message(self, what: str, confirm: str = "phr import FILE --same-person") -> str:
        """Both people named, and what to do ('what': "This file", "This sign-in"; `confirm`:
        how to say "it is mine")."""
        assert self.incoming is not None and self.profile is not None
        kind = "may be for someone else" if self.verdict is Verdict.CLOSE_CALL else "is for"
        return (
            f"{what} {kind}: {self.incoming.describe()}, while this profile is "
            f"{self.profile.describe()} ({self.reason}). Nothing from it was stored. If it is "
            "another person's, use that person's profile (or create one); if it is yours, "
            f"confirm it as yours ({confirm})."
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "incoming": person_summary(self.incoming),
            "profile_person": person_summary(self.profile),
        }


def person_summary(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    return {"name": person.display_name, "birth_date": person.birth_date}


def default_colour(profile_name: str) -> str:
    digest = hashlib.sha256(profile_name.encode()).digest()
    return PROFILE_COLOURS[digest[0] % len(PROFILE_COLOURS)]


def age_on(birth_date: str | None, today: date) -> int | None:
    try:
        born = date.fromisoformat((birth_date or "")[:10])
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def check_patients(
    profile: ProfilePerson | None, patients: Iterable[Mapping[str, Any]]
) -> PersonCheck:
    """Compare every incoming Patient with the profile's person (or, when the profile has no
    person yet, with the first of them, which then becomes it)."""
    people = [p for p in (person_from_patient(r) for r in patients) if not p.is_empty]
    if not people:
        person = profile.person if profile else None
        return PersonCheck(Verdict.SAME, "no Patient to compare", None, person)
    adopt = None
    if profile is None:
        adopt = people[0]
        profile = ProfilePerson(adopt)
    for incoming in people:
        result: MatchResult = match_person(profile, incoming)
        if not result.is_same:
            return PersonCheck(result.verdict, result.reason, incoming, profile.person, adopt)
    return PersonCheck(Verdict.SAME, "the same person", people[0], profile.person, adopt)


class PersonService:
    """The profile's person, for the UI and CLI."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.conn: Connection = session.vault.conn
        self.store = PersonStore(self.conn)

    def get(self) -> ProfilePerson | None:
        return self.store.get()

    def colour(self) -> str:
        return self.store.colour() or default_colour(self.session.profile_name)

    def set(
        self,
        names: Iterable[PersonName],
        birth_date: str | None,
        sex: str | None = None,
        *,
        set_from: str = "edited",
        colour: str | None = None,
    ) -> Person:
        """Set or edit the person (the patient's own words win over any source)."""
        names = tuple(n for n in names if n.display)
        if birth_date:
            try:
                date.fromisoformat(birth_date)
            except ValueError:
                raise ServiceError(
                    f"{birth_date!r} is not a birth date; write it as YYYY-MM-DD."
                ) from None
        if not names and not birth_date:
            raise ServiceError("Give at least a name or a birth date for the profile's person.")
        old = self.store.get()
        person = Person(names, birth_date or None, sex, old.person.identifiers if old else ())
        with transaction(self.conn):
            self.store.set(person, set_from, colour or self.colour())
            self.session.vault.audit.append("person_set", set_from=set_from)
        return person

    def check(self, patients: Iterable[Mapping[str, Any]]) -> PersonCheck:
        return check_patients(self.store.get(), patients)

    def adopt_or_confirm(self, check: PersonCheck, set_from: str, same_person: bool) -> None:
        """After a check: take the first Patient as the person, or remember an alias the
        patient confirmed. Call inside the transaction that stores the data."""
        if check.adopt is not None:
            self.store.set(check.adopt, set_from, default_colour(self.session.profile_name))
        if same_person and check.held and check.incoming is not None:
            for name in check.incoming.names or (PersonName(),):
                self.store.add_alias(name, check.incoming.birth_date, check.reason)
            self.session.vault.audit.append("person_alias", reason=check.verdict.value)
