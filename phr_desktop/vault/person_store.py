"""The profile's person and the aliases the patient confirmed, inside the encrypted vault."""

from __future__ import annotations

from typing import Any

import orjson

from phr_desktop.domain.person_match import Alias, Person, PersonName, ProfilePerson
from phr_desktop.vault.database import Connection
from phr_desktop.vault.timestamps import now_iso


def _name_to_json(name: PersonName) -> dict[str, Any]:
    return {"given": list(name.given), "family": name.family}


def _name_from_json(data: dict[str, Any]) -> PersonName:
    return PersonName(tuple(data.get("given") or ()), str(data.get("family") or ""))


def person_to_json(person: Person) -> dict[str, Any]:
    return {
        "names": [_name_to_json(n) for n in person.names],
        "birth_date": person.birth_date,
        "sex": person.sex,
        "identifiers": [list(i) for i in person.identifiers],
    }


def person_from_json(data: dict[str, Any]) -> Person:
    return Person(
        tuple(_name_from_json(n) for n in data.get("names") or ()),
        data.get("birth_date"),
        data.get("sex"),
        tuple((str(s), str(v)) for s, v in data.get("identifiers") or ()),
    )


class PersonStore:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self) -> ProfilePerson | None:
        row = self.conn.execute("SELECT data FROM person WHERE id = 1").fetchone()
        if row is None:
            return None
        aliases = tuple(
            Alias(_name_from_json(d), d.get("birth_date"))
            for d in (
                orjson.loads(r[0])
                for r in self.conn.execute("SELECT data FROM person_aliases ORDER BY id")
            )
        )
        return ProfilePerson(person_from_json(orjson.loads(row[0])), aliases)

    def colour(self) -> str | None:
        row = self.conn.execute("SELECT colour FROM person WHERE id = 1").fetchone()
        return str(row[0]) if row and row[0] else None

    def set(self, person: Person, set_from: str, colour: str | None = None) -> None:
        """Set (or replace) the person; the colour is kept unless a new one is given."""
        self.conn.execute(
            "INSERT INTO person (id, data, colour, set_from, updated_at) VALUES (1, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data, set_from = excluded.set_from, "
            "updated_at = excluded.updated_at, colour = coalesce(excluded.colour, person.colour)",
            (orjson.dumps(person_to_json(person)).decode(), colour, set_from, now_iso()),
        )

    def set_colour(self, colour: str) -> None:
        self.conn.execute("UPDATE person SET colour = ? WHERE id = 1", (colour,))

    def add_alias(self, name: PersonName, birth_date: str | None, reason: str) -> bool:
        """Remember a name as this person's; False if it was known already."""
        data = {**_name_to_json(name), "birth_date": birth_date}
        text = orjson.dumps(data).decode()
        if self.conn.execute("SELECT 1 FROM person_aliases WHERE data = ?", (text,)).fetchone():
            return False
        self.conn.execute(
            "INSERT INTO person_aliases (data, reason, added_at) VALUES (?, ?, ?)",
            (text, reason, now_iso()),
        )
        return True
