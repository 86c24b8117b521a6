"""`phr vault auto-backup`, `phr vault restore`, and the automatic backup after a command
that changed the profile."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from phr_desktop.cli.common import (
    EXIT_OK,
    ask_passphrase,
    open_profiles,
    print_json,
    read_secret_file,
    unlocked_session,
)
from phr_desktop.services.backup_status import BackupStatus
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.restore import restore_backup


def status_lines(status: BackupStatus) -> list[str]:
    """The backup part of `vault check` and `vault auto-backup`, for people."""
    where = f"to {status.folder}, newest {status.keep} kept" if status.folder else "off"
    lines = [f"Automatic backups: {where}"]
    if status.last_good:
        lines.append(
            f"Last good backup: {status.last_good.made:%Y-%m-%d %H:%M} UTC, {status.last_good.path}"
        )
    else:
        lines.append("Last good backup: none")
    lines.extend(f"Warning: {w}" for w in status.warnings())
    return lines


def cmd_vault_auto_backup(args: argparse.Namespace) -> int:
    if args.off == bool(args.folder):
        raise ServiceError("Give the backup FOLDER, or --off to stop automatic backups.")
    with unlocked_session(args) as session:
        auto = session.auto_backup
        if args.off:
            auto.turn_off()
            outcome = None
        else:
            auto.turn_on(Path(args.folder), keep=args.keep)
            outcome = auto.run_now()  # the first one at once: the patient sees it works
        status = auto.status()
    if args.json:
        print_json(status.as_json())
    elif args.off:
        print("Automatic backups are off. The backups already made were left where they are.")
    else:
        assert outcome is not None
        if outcome.ok:
            print(f"Automatic backups are on. First backup: {outcome.path}")
        print("\n".join(status_lines(status)))
    return EXIT_OK


def cmd_vault_restore(args: argparse.Namespace) -> int:
    profiles = open_profiles(args)
    recovery = os.environ.get("PHR_RECOVERY_KEY") or (
        read_secret_file(args.recovery_key_file, "a recovery key")
        if getattr(args, "recovery_key_file", None)
        else None
    )
    secret = {"recovery_key": recovery} if recovery else {"passphrase": ask_passphrase(args)}
    report = restore_backup(profiles, Path(args.backup), name=args.as_name, **secret)
    if args.json:
        print_json(
            {
                "profile": report.profile,
                "backup": str(report.backup),
                "made": report.made.isoformat() if report.made else None,
            }
        )
    else:
        made = f" (made {report.made:%Y-%m-%d %H:%M} UTC)" if report.made else ""
        print(f"Restored profile {report.profile!r} from {report.backup}{made}.")
        print("It opens with the passphrase or recovery key the backup was made with.")
        print(
            "Use this profile on one computer only: two computers changing one profile is "
            "not supported."
        )
    return EXIT_OK
