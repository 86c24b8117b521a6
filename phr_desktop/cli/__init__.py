"""`phr`: the command line, on top of services. `--json` output shapes are stable (README).

The commands live in one module per group, each with the parsers of its commands; this module
builds the parser from them and runs the command asked for."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from phr_desktop import __version__
from phr_desktop.cli.common import EXIT_ERROR
from phr_desktop.cli.connection_commands import add_connect_parsers, add_sync_parsers
from phr_desktop.cli.person_commands import add_person_parsers
from phr_desktop.cli.profile_commands import (
    add_audit_parser,
    add_demo_parser,
    add_profile_parsers,
    add_reindex_parser,
    add_vault_parsers,
)
from phr_desktop.cli.provider_commands import add_providers_parsers
from phr_desktop.cli.record_commands import (
    add_export_parser,
    add_import_parser,
    add_record_parsers,
)
from phr_desktop.cli.schedule_commands import add_schedule_parsers
from phr_desktop.cli.share_commands import add_share_parsers
from phr_desktop.process_hardening import harden_process
from phr_desktop.services.crash_reports import (
    EXIT_BUG,
    bug_message,
    os_error_message,
    report_crash,
)
from phr_desktop.services.errors import USER_ERRORS


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

    # The groups' parsers in the order `phr --help` lists the commands.
    add_profile_parsers(sub, command)
    add_import_parser(command)
    add_record_parsers(command)
    add_reindex_parser(command)
    add_person_parsers(command)
    add_audit_parser(command)
    add_vault_parsers(sub, command)
    add_demo_parser(command)
    add_connect_parsers(command)
    add_providers_parsers(sub, command)
    add_export_parser(command)
    add_sync_parsers(command)
    add_schedule_parsers(sub, command)
    add_share_parsers(sub, command)
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
