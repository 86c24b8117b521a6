"""`phr profile …`, `unlock`, `vault …`, `reindex`, `audit`, `demo`: the profile and its vault."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from phr_desktop.cli.backup_commands import cmd_vault_auto_backup, cmd_vault_restore, status_lines
from phr_desktop.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    ask_passphrase,
    open_profiles,
    print_json,
    progress_printer,
    read_secret_file,
    unlocked_session,
)
from phr_desktop.cli.parser_options import AddCommand, Subcommands, person_fields
from phr_desktop.cli.person_commands import set_person_from_args
from phr_desktop.services import audit_log
from phr_desktop.services.demo import DEMO_PASSPHRASE, DEMO_PROFILE, open_demo
from phr_desktop.services.errors import ServiceError


def cmd_profile_create(args: argparse.Namespace) -> int:
    profiles = open_profiles(args)
    passphrase = ask_passphrase(args, confirm=True, prompt="New passphrase")
    session, recovery_key = profiles.create(args.name, passphrase)
    with session:
        if args.remember:
            session.remember_on_device()
        if args.person_name or args.birth_date or args.sex or args.colour:
            set_person_from_args(session.person, args)
    if args.json:
        print_json({"profile": args.name, "recovery_key": recovery_key})
    else:
        print(f"Created profile {args.name!r}.")
        print("Recovery key (write it down or print it now; it is shown only once and is the")
        print("only way in if you forget the passphrase):")
        print(f"\n    {recovery_key}\n")
    return EXIT_OK


def cmd_profile_list(args: argparse.Namespace) -> int:
    names = open_profiles(args).names()
    if args.json:
        print_json({"profiles": names})
    else:
        print("\n".join(names) if names else "No profiles yet. Try `phr demo`.")
    return EXIT_OK


def cmd_profile_delete(args: argparse.Namespace) -> int:
    profiles = open_profiles(args)
    if not args.yes:
        if not sys.stdin.isatty():
            raise ServiceError("Deleting a profile needs --yes when not run at a terminal.")
        typed = input(f"Type the profile name ({args.name}) to move it to the trash: ")
        if typed != args.name:
            print("Names differ; nothing was deleted.")
            return EXIT_ERROR
    target = profiles.delete(args.name)
    print(
        f"Moved profile {args.name!r} to {target}. Move it back to restore it; delete that "
        "folder to erase it for good."
    )
    return EXIT_OK


def cmd_profile_passwd(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        new = os.environ.get("PHR_NEW_PASSPHRASE") or (
            read_secret_file(args.new_passphrase_file) if args.new_passphrase_file else None
        )
        if new is None:
            if not sys.stdin.isatty():
                raise ServiceError("Set PHR_NEW_PASSPHRASE or use --new-passphrase-file FILE.")
            new = getpass.getpass("New passphrase: ")
            if getpass.getpass("New passphrase again: ") != new:
                raise ServiceError("The two passphrases differ; nothing was changed.")
        session.change_passphrase(new)
    print("Passphrase changed. Your recovery key stays the same.")
    return EXIT_OK


def cmd_profile_remember(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        if args.forget:
            session.forget_on_device()
            print("This device no longer remembers the profile.")
        else:
            session.remember_on_device()
            print("This device now remembers the profile in the OS keyring.")
    return EXIT_OK


def cmd_unlock(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        total = sum(session.counts_by_kind().values())
        if args.json:
            print_json({"profile": session.profile_name, "unlocked": True, "records": total})
        else:
            print(f"Unlocked {session.profile_name!r}: {total} records.")
    return EXIT_OK


def cmd_vault_check(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        report = session.check()
        backups = session.auto_backup.status()
    result = {
        "ok": report.ok,
        "cipher_version": report.cipher_version,
        "schema_version": report.schema_version,
        "problems": report.problems,
        "audit_chain": {
            "ok": report.audit.ok,
            "rows": report.audit.rows,
            "first_broken_id": report.audit.first_broken_id,
        },
        "backup": backups.as_json(),
    }
    if args.json:
        print_json(result)
    else:
        print(f"SQLCipher {report.cipher_version}, schema {report.schema_version}, HMAC on")
        print(
            "Integrity: ok"
            if not report.problems
            else "Integrity problems:\n  " + "\n  ".join(report.problems)
        )
        print(
            "Audit chain: ok"
            if report.audit.ok
            else f"Audit chain broken at row {report.audit.first_broken_id}: {report.audit.reason}"
        )
        print("\n".join(status_lines(backups)))
    return EXIT_OK if report.ok else EXIT_ERROR


def cmd_vault_backup(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        folder = session.backup(Path(args.folder))
    print(
        f"Encrypted backup written to {folder} (open it with the same passphrase or recovery key)."
    )
    return EXIT_OK


def cmd_reindex(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        count = session.reindex()
    print(f"Rebuilt {count} records from the raw resources.")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        entries = audit_log.list_events(session, args.limit)
        report = audit_log.verify(session) if args.verify else None
    if args.json:
        out: dict[str, Any] = {
            "entries": [
                {"id": e.id, "at": e.at, "action": e.action, "detail": e.detail} for e in entries
            ]
        }
        if report:
            out["verify"] = {
                "ok": report.ok,
                "rows": report.rows,
                "first_broken_id": report.first_broken_id,
                "reason": report.reason,
            }
        print_json(out)
    else:
        for e in entries:
            print(f"{e.id:>5}  {e.at}  {e.event}" + (f": {e.details}" if e.details else ""))
        if report:
            print(audit_log.verification_text(report))
    return EXIT_ERROR if report and not report.ok else EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    update, stop = progress_printer(not args.json)
    try:
        session, created = open_demo(open_profiles(args), progress=update)
    finally:
        stop()
    with session:
        counts = session.counts_by_kind()
    if args.json:
        print_json(
            {
                "profile": DEMO_PROFILE,
                "created": created,
                "passphrase": DEMO_PASSPHRASE,
                "records": counts,
            }
        )
    else:
        print(
            f"Demo profile {DEMO_PROFILE!r} {'created' if created else 'ready'}: "
            f"{sum(counts.values())} records. Passphrase: {DEMO_PASSPHRASE}"
        )
        print(f"Try: PHR_PASSPHRASE={DEMO_PASSPHRASE} phr --profile demo milestones")
    return EXIT_OK


# --- the parsers (build_parser adds them in the order `phr --help` lists the commands) ----


def add_profile_parsers(sub: Subcommands, command: AddCommand) -> None:
    """`phr profile create|list|delete|passwd|remember` and `phr unlock`."""
    profile = sub.add_parser("profile", help="create, list, delete profiles; change passphrase")
    psub = profile.add_subparsers(dest="profile_command", required=True, metavar="ACTION")
    p = command("create", cmd_profile_create, "create a profile and show its recovery key", psub)
    p.add_argument("name")
    p.add_argument(
        "--remember",
        action="store_true",
        help="remember it in the OS keyring (secure backends only)",
    )
    person_fields(p, "--person-name")
    command("list", cmd_profile_list, "list profiles", psub)
    p = command("delete", cmd_profile_delete, "move a profile to the trash folder", psub)
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p = command(
        "passwd", cmd_profile_passwd, "change the passphrase (re-wraps the key, fast)", psub
    )
    p.add_argument("--new-passphrase-file", help="new passphrase (or PHR_NEW_PASSPHRASE)")
    p = command("remember", cmd_profile_remember, "remember this profile in the OS keyring", psub)
    p.add_argument("--forget", action="store_true", help="forget it instead")

    command("unlock", cmd_unlock, "check that the profile unlocks")


def add_reindex_parser(command: AddCommand) -> None:
    """`phr reindex`."""
    command("reindex", cmd_reindex, "rebuild records from the raw resources")


def add_audit_parser(command: AddCommand) -> None:
    """`phr audit`."""
    p = command("audit", cmd_audit, "show the audit log")
    p.add_argument("--verify", action="store_true", help="check the HMAC chain")
    p.add_argument("--limit", type=int)


def add_vault_parsers(sub: Subcommands, command: AddCommand) -> None:
    """`phr vault check|backup|auto-backup|restore`."""
    vault = sub.add_parser("vault", help="check or back up the encrypted vault")
    vsub = vault.add_subparsers(dest="vault_command", required=True, metavar="ACTION")
    command("check", cmd_vault_check, "cipher, HMAC, integrity and audit-chain checks", vsub)
    p = command("backup", cmd_vault_backup, "write an encrypted backup to an empty folder", vsub)
    p.add_argument("folder")
    p = command(
        "auto-backup", cmd_vault_auto_backup,
        "back up automatically to FOLDER after changes (--off to stop)", vsub,
    )  # fmt: skip
    p.add_argument("folder", nargs="?", help="the folder (a drive, or one a cloud client syncs)")
    p.add_argument("--keep", type=int, default=10, help="how many backups to keep (default 10)")
    p.add_argument("--off", action="store_true", help="stop automatic backups")
    p = command(
        "restore", cmd_vault_restore,
        "make a profile from a backup (the newest in a folder, or the one named)", vsub,
    )  # fmt: skip
    p.add_argument("backup", help="a folder of backups, or one backup in it")
    p.add_argument("--as", dest="as_name", help="the new profile's name (default: the backup's)")


def add_demo_parser(command: AddCommand) -> None:
    """`phr demo`."""
    command("demo", cmd_demo, "create (or refresh) the demo profile from resources/demo")
