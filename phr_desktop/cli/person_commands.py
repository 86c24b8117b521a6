"""`phr person` (whose record this profile is) and `phr split` (two records that are not one
fact)."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from phr_desktop.cli.common import EXIT_OK, print_json, unlocked_session
from phr_desktop.cli.parser_options import AddCommand, person_fields
from phr_desktop.domain.person_match import PersonName, ProfilePerson
from phr_desktop.services.person import PersonService, age_on
from phr_desktop.services.views import record_to_dict


def person_to_dict(profile: ProfilePerson | None, colour: str) -> dict[str, Any]:
    if profile is None:
        return {"person": None, "colour": colour}
    p = profile.person
    return {
        "person": {
            "name": p.display_name,
            "names": [{"given": list(n.given), "family": n.family} for n in p.names],
            "birth_date": p.birth_date,
            "sex": p.sex,
            "aliases": [
                {"name": a.name.display, "birth_date": a.birth_date} for a in profile.aliases
            ],
        },
        "colour": colour,
    }


def set_person_from_args(service: PersonService, args: argparse.Namespace) -> None:
    """--name / --birth-date / --sex / --colour, keeping what is not given."""
    old = service.get()
    names = (
        [PersonName.parse(args.person_name)]
        if args.person_name
        else list(old.person.names if old else [])
    )
    birth = args.birth_date or (old.person.birth_date if old else None)
    sex = args.sex or (old.person.sex if old else None)
    service.set(names, birth, sex, colour=args.colour)


def cmd_person(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        service = session.person
        if args.person_name or args.birth_date or args.sex or args.colour:
            set_person_from_args(service, args)
        profile, colour = service.get(), service.colour()
    if args.json:
        print_json(person_to_dict(profile, colour))
        return EXIT_OK
    if profile is None:
        print(
            "This profile has no person yet: it takes the first imported or synced patient, "
            "or set one with `phr person --name 'Given Family' --birth-date YYYY-MM-DD`."
        )
        return EXIT_OK
    p = profile.person
    age = age_on(p.birth_date, date.today())
    print(f"{p.display_name}" + (f", born {p.birth_date} (age {age})" if age is not None else ""))
    for alias in profile.aliases:
        born = f", born {alias.birth_date}" if alias.birth_date else ""
        print(f"  also known as {alias.name.display}{born}")
    return EXIT_OK


def cmd_split(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        if args.other is not None and args.undo:
            session.undo_split(args.record, args.other)
        elif args.other is not None:
            session.split_records(args.record, args.other)
        fact = session.same_fact_records(args.record)
        # Each record's own source here, not its fact's: which one to split off.
        origins = session.record_origins([s.id for s in fact])
        own = {s.id: [origins[s.id]] for s in fact}
    if args.json:
        print_json([record_to_dict(s, own[s.id]) for s in fact])
    elif args.other is None:
        for s in fact:
            print(f"{s.id:>6}  {s.record.title}  ({', '.join(own[s.id])})")
    else:
        what = "shown as one again" if args.undo else "kept apart from now on"
        print(f"Records {args.record} and {args.other}: {what}.")
    return EXIT_OK


# --- the parsers (build_parser adds them in the order `phr --help` lists the commands) ----


def add_person_parsers(command: AddCommand) -> None:
    """`phr person` and `phr split`."""
    person_fields(command("person", cmd_person, "show or set whose record this profile is"))
    p = command(
        "split",
        cmd_split,
        "two records shown as one fact are different (or --undo); with one id, list that "
        "record's fact: every record and its sources",
    )
    p.add_argument("record", type=int)
    p.add_argument("other", type=int, nargs="?")
    p.add_argument("--undo", action="store_true", help="show them as one fact again")
