"""The argparse options several `phr` commands share, and how a command group adds its commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, Protocol

from phr_desktop.cli.common import DATE_FORMS, kind_list_type, partial_date
from phr_desktop.services.views import RECORD_KINDS

KIND_HELP = f"record kind(s), repeat or comma-separate: {', '.join(RECORD_KINDS)}"

# argparse's subparsers action (`add_subparsers()`); its class is private to argparse.
Subcommands = Any


class AddCommand(Protocol):
    """`build_parser`'s `command`: adds a command with the common options, run by `func`,
    under `parent` (a group's subcommands; by default the top level)."""

    def __call__(
        self,
        name: str,
        func: Callable[[argparse.Namespace], int],
        help_: str,
        parent: Any = ...,
    ) -> argparse.ArgumentParser: ...


def include_restricted_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--include-restricted",
        action="store_true",
        help="include records labelled restricted (left out unless asked for)",
    )


def add_kind_option(p: argparse.ArgumentParser) -> None:
    """`--kind` as `records` takes it; `--kinds`, its older spelling, is the same option."""
    p.add_argument(
        "--kind", "--kinds", dest="kind", action="append", type=kind_list_type(RECORD_KINDS),
        metavar="KIND", help=KIND_HELP,
    )  # fmt: skip


def add_date_options(p: argparse.ArgumentParser, *, until: bool = True) -> None:
    p.add_argument("--since", type=partial_date, help=f"from this date ({DATE_FORMS})")
    if until:
        p.add_argument("--until", type=partial_date, help=f"through this date ({DATE_FORMS})")


def record_filters(p: argparse.ArgumentParser) -> None:
    """The filters `records` and `timeline` take."""
    add_kind_option(p)
    add_date_options(p)
    p.add_argument("--tag", help="tag such as aatd, lung_function, liver, augmentation")
    p.add_argument("--source", help="source system name")
    p.add_argument("--limit", type=int)
    include_restricted_option(p)


def person_fields(p: argparse.ArgumentParser, name_flag: str = "--name") -> None:
    p.add_argument(
        name_flag,
        dest="person_name",
        help="the person's name: 'Given Middle Family' or 'Family, Given'",
    )
    p.add_argument("--birth-date", help="YYYY-MM-DD")
    p.add_argument("--sex", choices=("female", "male", "other", "unknown"))
    p.add_argument("--colour", help="the profile's colour in the app (#RRGGBB)")
