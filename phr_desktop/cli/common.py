"""Shared by the `phr` commands: profile and passphrase handling, JSON and record printing."""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from phr_desktop.services.errors import USER_ERRORS, KeyringRefused, ServiceError
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.services.tasks import Progress

if TYPE_CHECKING:
    from phr_desktop.domain.records import Record

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL = 0, 1, 3
DATE_FORMS = "YYYY, YYYY-MM or YYYY-MM-DD"
_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def read_secret_file(path: str, what: str = "a passphrase") -> str:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it is empty"
        if isinstance(exc, UnicodeDecodeError):
            reason = "it is not text"
        raise ServiceError(f"Could not read {what} from {path}: {reason}.") from None


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
        back_up_if_due(session)
    finally:
        session.close()


def back_up_if_due(session: Session) -> None:
    """After a command that changed the profile: the automatic backup, if one is due. It
    never fails the command; a failure is a warning on stderr (and stays on the dashboard)."""
    try:
        outcome = session.auto_backup.run_if_due()
    except USER_ERRORS as exc:  # the vault's own disk, say: the command itself succeeded
        sys.stderr.write(f"Warning: the automatic backup failed: {exc}\n")
        return
    if outcome is None:
        return
    if outcome.error:
        sys.stderr.write(f"Warning: the automatic backup failed: {outcome.error}\n")
    if outcome.elsewhere:
        sys.stderr.write(f"Warning: {outcome.elsewhere}\n")


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


def partial_date(text: str) -> str:
    """An argparse type: a date of year, month or day precision, as records keep them (any
    other form would be compared as text and silently match nothing, or the wrong things)."""
    match = _PARTIAL_DATE.match(text.strip())
    try:
        if match is None:
            raise ValueError
        year, month, day = (int(part) if part else 1 for part in match.groups())
        date(year, month, day)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; use {DATE_FORMS} (e.g. 2020, 2020-03 or 2020-03-31)"
        ) from None
    return text.strip()


def kind_list_type(kinds: Sequence[str]) -> Callable[[str], list[str]]:
    """An argparse type for `--kind a,b`: each value must be one of `kinds`."""

    def parse(text: str) -> list[str]:
        values = [k.strip() for k in text.split(",") if k.strip()]
        unknown = [k for k in values if k not in kinds]
        if unknown or not values:
            raise argparse.ArgumentTypeError(
                f"unknown record kind {', '.join(map(repr, unknown)) or repr(text)}; "
                f"choose from {', '.join(kinds)}"
            )
        return values

    return parse


def kinds_of(args: argparse.Namespace) -> tuple[str, ...]:
    """`--kind` (and its alias `--kinds`), repeated or comma-separated, in order, once each."""
    chosen = [k for values in (getattr(args, "kind", None) or []) for k in values]
    return tuple(dict.fromkeys(chosen))


def read_share_key(args: argparse.Namespace) -> str:
    """From --key, --key-file, PHR_SHARE_KEY, or a hidden prompt at a terminal, so the key
    need not be on the command line (where the process list and shell history show it)."""
    if getattr(args, "key", None):
        return str(args.key)
    if getattr(args, "key_file", None):
        return read_secret_file(args.key_file, "a share key")
    if os.environ.get("PHR_SHARE_KEY"):
        return os.environ["PHR_SHARE_KEY"]
    if not sys.stdin.isatty():
        raise ServiceError(
            "No share key given. Type it at a terminal, or use --key-file FILE or set "
            "PHR_SHARE_KEY (--key KEY works too, but shows it to other users of this computer)."
        )
    key = getpass.getpass("Share key (from the patient's hand-out): ")
    if not key.strip():
        raise ServiceError("No share key typed; nothing was opened.")
    return key


def record_filter_of(args: argparse.Namespace) -> RecordFilter:
    kinds = kinds_of(args)
    return RecordFilter(
        kinds=tuple(kinds),
        since=args.since,
        until=args.until,
        tag=args.tag,
        source_system=args.source,
        limit=args.limit,
        include_restricted=getattr(args, "include_restricted", False),
    )


def record_line(r: Record, record_id: int | None = None) -> str:
    """One record as `records` prints it: date, kind, title, value and unit, a quality flag."""
    value = ""
    if r.value:
        shown = f"{r.value.value:g}" if r.value.value is not None else (r.value.text or "")
        value = f"  {shown} {r.value.unit or ''}".rstrip()
    when = r.effective.text[:10] if r.effective else "(no date)"
    flag = "  [!]" if r.quality else ""
    prefix = f"{record_id:>6}  " if record_id is not None else "  "
    return f"{prefix}{when:<10}  {r.kind.value:<13} {r.title}{value}{flag}"


def print_records(records: Sequence[Any]) -> None:
    for s in records:
        print(record_line(s.record, s.id))
