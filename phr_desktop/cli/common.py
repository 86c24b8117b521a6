"""Shared by the `phr` commands: profile and passphrase handling, JSON and record printing."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from phr_desktop.services.errors import KeyringRefused, ServiceError
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.services.tasks import Progress

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL = 0, 1, 3


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def read_secret_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError) as exc:
        raise ServiceError(f"Could not read a passphrase from {path}: {exc}") from None


def ask_passphrase(
    args: argparse.Namespace, confirm: bool = False, prompt: str = "Passphrase"
) -> str:
    """From --passphrase-file, PHR_PASSPHRASE, or a prompt on the terminal."""
    if getattr(args, "passphrase_file", None):
        return read_secret_file(args.passphrase_file)
    if os.environ.get("PHR_PASSPHRASE"):
        return os.environ["PHR_PASSPHRASE"]
    if not sys.stdin.isatty():
        raise ServiceError(
            "No passphrase given. Type it at a terminal, or for scripts set PHR_PASSPHRASE or "
            "use --passphrase-file FILE."
        )
    first = getpass.getpass(f"{prompt}: ")
    if confirm and getpass.getpass(f"{prompt} again: ") != first:
        raise ServiceError("The two passphrases differ; nothing was created.")
    return first


def open_profiles(args: argparse.Namespace) -> Profiles:
    return Profiles(Path(args.data_dir) if args.data_dir else None)


def choose_profile_name(args: argparse.Namespace, profiles: Profiles) -> str:
    name = args.profile or os.environ.get("PHR_PROFILE")
    if name:
        return str(name)
    names = profiles.names()
    if len(names) == 1:
        return names[0]
    if not names:
        raise ServiceError(
            "There are no profiles yet. Create one with `phr profile create NAME`, "
            "or try `phr demo`."
        )
    raise ServiceError(
        f"Several profiles exist ({', '.join(names)}); choose one with --profile NAME."
    )


@contextmanager
def unlocked_session(args: argparse.Namespace) -> Iterator[Session]:
    profiles = open_profiles(args)
    name = choose_profile_name(args, profiles)
    recovery = os.environ.get("PHR_RECOVERY_KEY") or (
        read_secret_file(args.recovery_key_file) if args.recovery_key_file else None
    )
    if recovery:
        session = profiles.unlock(name, recovery_key=recovery)
    elif args.passphrase_file or os.environ.get("PHR_PASSPHRASE") or not sys.stdin.isatty():
        session = profiles.unlock(name, passphrase=ask_passphrase(args))
    else:
        try:  # a remembered key is a convenience; the passphrase always works
            session = profiles.unlock(name, use_keyring=True)
        except (KeyringRefused, ServiceError):
            session = profiles.unlock(name, passphrase=ask_passphrase(args))
    try:
        yield session
    finally:
        session.close()


def progress_printer(enabled: bool) -> tuple[Callable[[Progress], None], Callable[[], None]]:
    if not enabled or not sys.stderr.isatty():
        return (lambda _p: None), (lambda: None)
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
    from rich.progress import Progress as Bar

    bar = Bar(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True)
    task = bar.add_task("Starting", total=None)
    bar.start()

    def update(p: Progress) -> None:
        bar.update(task, completed=p.done, total=p.total, description=p.message)

    return update, bar.stop


def record_filter_of(args: argparse.Namespace) -> RecordFilter:
    kinds = [k for value in (args.kind or []) for k in value.split(",") if k]
    return RecordFilter(
        kinds=tuple(kinds),
        since=args.since,
        until=args.until,
        tag=args.tag,
        source_system=args.source,
        limit=args.limit,
    )


def print_records(records: Sequence[Any]) -> None:
    for s in records:
        r = s.record
        value = ""
        if r.value:
            shown = f"{r.value.value:g}" if r.value.value is not None else (r.value.text or "")
            value = f"  {shown} {r.value.unit or ''}".rstrip()
        date = r.effective.text[:10] if r.effective else "(no date)"
        flag = "  [!]" if r.quality else ""
        print(f"{s.id:>6}  {date:<10}  {r.kind.value:<13} {r.title}{value}{flag}")
