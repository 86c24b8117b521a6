"""`phr`: the command line, on top of services. `--json` output shapes are stable (README).

The commands live in one module per group; this module builds the parser and runs them."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from phr_desktop import __version__
from phr_desktop.cli.backup_commands import cmd_vault_auto_backup, cmd_vault_restore
from phr_desktop.cli.common import (
    DATE_FORMS,
    EXIT_ERROR,
    kind_list_type,
    partial_date,
)
from phr_desktop.cli.connection_commands import (
    cmd_connect,
    cmd_connections,
    cmd_disconnect,
    cmd_sync,
)
from phr_desktop.cli.person_commands import cmd_person, cmd_split
from phr_desktop.cli.profile_commands import (
    cmd_audit,
    cmd_demo,
    cmd_profile_create,
    cmd_profile_delete,
    cmd_profile_list,
    cmd_profile_passwd,
    cmd_profile_remember,
    cmd_reindex,
    cmd_unlock,
    cmd_vault_backup,
    cmd_vault_check,
)
from phr_desktop.cli.provider_commands import (
    cmd_providers_client_id,
    cmd_providers_search,
    cmd_providers_update,
    cmd_providers_vendors,
)
from phr_desktop.cli.record_commands import (
    cmd_export,
    cmd_import,
    cmd_label,
    cmd_milestones,
    cmd_records,
    cmd_search,
    cmd_timeline,
)
from phr_desktop.cli.schedule_commands import (
    cmd_schedule_disable,
    cmd_schedule_enable,
    cmd_schedule_set,
    cmd_schedule_status,
)
from phr_desktop.cli.share_commands import (
    cmd_share_create,
    cmd_share_key,
    cmd_share_list,
    cmd_share_open,
    cmd_share_revoke,
)
from phr_desktop.process_hardening import harden_process
from phr_desktop.services.crash_reports import (
    EXIT_BUG,
    bug_message,
    os_error_message,
    report_crash,
)
from phr_desktop.services.errors import USER_ERRORS
from phr_desktop.services.exporting import FORMATS
from phr_desktop.services.sensitivity import LEVELS
from phr_desktop.services.shared_with import RECIPIENT_TYPES
from phr_desktop.services.sharing import PRESETS
from phr_desktop.services.sync_schedule import SCHEDULES
from phr_desktop.services.views import RECORD_KINDS

KIND_HELP = f"record kind(s), repeat or comma-separate: {', '.join(RECORD_KINDS)}"


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


def person_fields(p: argparse.ArgumentParser, name_flag: str = "--name") -> None:
    p.add_argument(
        name_flag,
        dest="person_name",
        help="the person's name: 'Given Middle Family' or 'Family, Given'",
    )
    p.add_argument("--birth-date", help="YYYY-MM-DD")
    p.add_argument("--sex", choices=("female", "male", "other", "unknown"))
    p.add_argument("--colour", help="the profile's colour in the app (#RRGGBB)")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--profile", default=argparse.SUPPRESS, help="profile (person) to use; PHR_PROFILE"
    )
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help="data folder; PHR_DATA_DIR")
    common.add_argument(
        "--passphrase-file",
        default=argparse.SUPPRESS,
        help="read the passphrase from the first line of FILE (or set PHR_PASSPHRASE)",
    )
    common.add_argument(
        "--recovery-key-file",
        default=argparse.SUPPRESS,
        help="unlock with the recovery key in FILE (or set PHR_RECOVERY_KEY)",
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output"
    )

    parser = argparse.ArgumentParser(
        prog="phr",
        parents=[common],
        description="phr-desktop's command line: an encrypted, local personal health record.",
    )
    parser.add_argument("--version", action="version", version=f"phr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, func: Callable[[argparse.Namespace], int], help_: str, parent: Any = sub
    ) -> argparse.ArgumentParser:
        p = parent.add_parser(name, parents=[common], help=help_, description=help_)
        p.set_defaults(func=func)
        return p

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
    p = command(
        "import",
        cmd_import,
        "import FHIR JSON (Bundles, single resources, NDJSON) and C-CDA files, or folders",
    )
    p.add_argument("files", nargs="+")
    p.add_argument(
        "--source", help="name of the source system (default: the resources' meta.source)"
    )
    p.add_argument(
        "--same-person",
        action="store_true",
        help="files held as another person's are yours: import them, remember the name",
    )

    def filters(p: argparse.ArgumentParser) -> None:
        add_kind_option(p)
        add_date_options(p)
        p.add_argument("--tag", help="tag such as aatd, lung_function, liver, augmentation")
        p.add_argument("--source", help="source system name")
        p.add_argument("--limit", type=int)
        include_restricted_option(p)

    filters(command("records", cmd_records, "list records, newest first"))
    p = command("search", cmd_search, "full-text search over titles, codes, notes and documents")
    p.add_argument("query", nargs="+")
    p.add_argument("--limit", type=int)
    include_restricted_option(p)
    p = command("label", cmd_label, "set how sensitive records are (normal, sensitive, restricted)")
    p.add_argument("record_ids", metavar="RECORD_ID", type=int, nargs="+")
    p.add_argument(
        "--sensitivity",
        required=True,
        choices=[*LEVELS, "source"],
        help="restricted: hidden and left out of shares and exports unless included; "
        "source: back to what the source said",
    )
    filters(command("timeline", cmd_timeline, "records counted by year and month"))
    command("milestones", cmd_milestones, "AATD milestones and the FEV1 trend")
    command("reindex", cmd_reindex, "rebuild records from the raw resources")
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
    p = command("audit", cmd_audit, "show the audit log")
    p.add_argument("--verify", action="store_true", help="check the HMAC chain")
    p.add_argument("--limit", type=int)
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
    command("demo", cmd_demo, "create (or refresh) the demo profile from resources/demo")
    p = command("connect", cmd_connect, "connect a provider (SMART on FHIR sign-in)")
    p.add_argument("fhir_base", nargs="?", help="the provider's FHIR base URL")
    p.add_argument(
        "--provider", metavar="NAME", help="a provider's name as `phr providers search` lists it"
    )
    p.add_argument("--vendor", help="with --provider: the EHR vendor, when two share the name")
    p.add_argument(
        "--client-id",
        help="the app id registered with the provider's EHR vendor (kept per vendor; default: "
        "the one kept)",
    )
    p.add_argument("--name", help="what to call this connection")
    p.add_argument(
        "--no-browser",
        action="store_true",
        help="print the sign-in URL (a line starting 'Open: ') without opening a browser",
    )
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the sign-in")
    p.add_argument(
        "--same-person",
        action="store_true",
        help="the signed-in patient is you, though held as another person: remember the name",
    )
    command("connections", cmd_connections, "list connections and their sync status")
    providers = sub.add_parser("providers", help="find a provider; the provider directory")
    prsub = providers.add_subparsers(dest="providers_command", required=True, metavar="ACTION")
    p = command("search", cmd_providers_search, "find providers by name, city, state", prsub)
    p.add_argument("text", nargs="*", help="words the name, city or state start with")
    p.add_argument("--vendor", help="only this EHR vendor (epic, oracle, cerner, healow, …)")
    p.add_argument("--test-systems", action="store_true", help="include vendor test systems")
    p.add_argument("--limit", type=int, default=50)
    p = command(
        "update", cmd_providers_update, "load a newer SMART User-access Brands bundle", prsub
    )
    p.add_argument("file", help="the brands bundle (.json)")
    command("vendors", cmd_providers_vendors, "EHR vendors, registration pages, app ids", prsub)
    p = command("client-id", cmd_providers_client_id, "show or set a vendor's app id", prsub)
    p.add_argument("vendor", help="vendor code, as `phr providers vendors` lists it")
    p.add_argument("client_id", nargs="?", help="the app id to keep for this vendor")
    p.add_argument("--forget", action="store_true", help="forget the kept app id")
    p = command(
        "export", cmd_export, "export the record (C-CDA, PDF, FHIR, IPS, CSV, emergency, wallet)"
    )
    p.add_argument("--format", required=True, choices=FORMATS)
    add_date_options(p, until=False)
    add_kind_option(p)
    include_restricted_option(p)
    p.add_argument(
        "-o", "--output", required=True,
        help="the file to write (its folder must exist; written 0600, replaced only when done)",
    )  # fmt: skip
    p.add_argument(
        "--shift-days",
        type=int,
        default=0,
        help="csv: move every date by N days (negative moves back)",
    )
    p.add_argument(
        "--deidentify",
        action="store_true",
        help="csv: pseudonymous subject, no record ids, sources as source-1, …",
    )
    p = command("disconnect", cmd_disconnect, "forget a connection (revoking its access)")
    p.add_argument("name")
    p.add_argument("--delete-data", action="store_true", help="also delete its records")
    p = command("sync", cmd_sync, "fetch new and changed records from connected providers")
    p.add_argument("name", nargs="?", help="one connection (default: all active)")
    p.add_argument("--full", action="store_true", help="fetch everything, not only changes")
    p.add_argument(
        "--scheduled",
        action="store_true",
        help="the daily timer's run: only connections due, only with a remembered key",
    )
    schedule = sub.add_parser("schedule", help="sync daily outside the app; connection schedules")
    scsub = schedule.add_subparsers(dest="schedule_command", required=True, metavar="ACTION")
    for action, func, help_ in (
        ("enable", cmd_schedule_enable, "install a daily `phr sync` for you (timer, agent, task)"),
        ("disable", cmd_schedule_disable, "remove the daily sync"),
    ):
        p = command(action, func, help_, scsub)
        p.add_argument(
            "--no-activate",
            action="store_true",
            help="only write (or remove) the files; do not ask the OS to start (stop) them",
        )
    command("status", cmd_schedule_status, "whether a daily sync is set up", scsub)
    p = command("set", cmd_schedule_set, "how often a connection syncs by itself", scsub)
    p.add_argument("name", help="the connection")
    p.add_argument("schedule", choices=SCHEDULES)
    share = sub.add_parser("share", help="share chosen records with a clinician (encrypted)")
    shsub = share.add_subparsers(dest="share_command", required=True, metavar="ACTION")
    p = command("create", cmd_share_create, "seal chosen records into a .phrshare file", shsub)
    add_kind_option(p)
    add_date_options(p)
    p.add_argument("--tag", help="tag such as aatd, lung_function, liver, augmentation")
    p.add_argument("--record", type=int, action="append", help="a hand-picked record id")
    p.add_argument("--preset", choices=sorted(PRESETS), help="a ready-made choice")
    p.add_argument("--for", dest="label", help="who it is for (shown to them and in history)")
    p.add_argument(
        "--recipient-type",
        choices=RECIPIENT_TYPES,
        default="provider",
        help="who the recipient is (default provider)",
    )
    p.add_argument(
        "--view-only",
        action="store_true",
        help="the viewer offers no saving of attached files (a request: what is seen can "
        "be copied)",
    )
    include_restricted_option(p)
    p.add_argument("--expires", default="30d", help="30d, 12h, 45s or YYYY-MM-DD (default 30d)")
    p.add_argument(
        "--passcode", action="store_true", help="also require a passcode (PHR_SHARE_PASSCODE)"
    )
    p.add_argument("--passcode-file", help="read the passcode from the first line of FILE")
    p.add_argument(
        "--hold-key", action="store_true", help="keep the key in the vault (revocable) for now"
    )
    p.add_argument(
        "--attachments", action="store_true", help="include the files stored with the records"
    )
    p.add_argument("--handout", help="also write the printable one-page hand-out PDF here")
    p.add_argument(
        "--html",
        action="store_true",
        help="also write NAME.html beside it: the same share, opens in any browser",
    )
    p.add_argument("-o", "--output", required=True, help="the .phrshare file to write")
    command("list", cmd_share_list, "the sharing history", shsub)
    p = command("key", cmd_share_key, "show a held-back key (then it cannot be revoked)", shsub)
    p.add_argument("id")
    p = command("revoke", cmd_share_revoke, "forget a held-back key so nobody can open it", shsub)
    p.add_argument("id")
    p = command("open", cmd_share_open, "open a .phrshare file read-only (clinician)", shsub)
    p.add_argument("file")
    p.add_argument(
        "--key-file", help="read the key from the first line of FILE (or set PHR_SHARE_KEY)"
    )
    p.add_argument(
        "--key",
        help="the key the patient gave you (visible to other users of this computer: prefer "
        "the prompt, --key-file or PHR_SHARE_KEY)",
    )
    p.add_argument("--save-files", metavar="DIR", help="save the attached files into DIR")
    p.add_argument(
        "--passcode", action="store_true", help="ask for the passcode (PHR_SHARE_PASSCODE)"
    )
    p.add_argument("--passcode-file", help="read the passcode from the first line of FILE")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    harden_process()  # before any key is in memory: no core dumps
    args = build_parser().parse_args(argv)
    for name, default in (
        ("profile", None),
        ("data_dir", None),
        ("passphrase_file", None),
        ("recovery_key_file", None),
        ("json", False),
    ):
        if not hasattr(args, name):
            setattr(args, name, default)
    return run_command(args)


def run_command(args: argparse.Namespace) -> int:
    """The one top-level handler: every error ends in a message, never a traceback. Errors
    the user can act on are shown as they are; anything else is a bug, reported in a crash
    file with no health data (services/crash_reports.py)."""
    try:
        return int(args.func(args))
    except USER_ERRORS as exc:
        print(f"phr: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("phr: interrupted; work in progress was rolled back.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`phr records | head`): nothing to say, and nothing more to
        # write; stdout goes to devnull so that the interpreter's final flush is quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except OSError as exc:
        print(f"phr: {os_error_message(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:
        print(f"phr: {bug_message(exc, report_crash(exc, where='phr'))}", file=sys.stderr)
        return EXIT_BUG
