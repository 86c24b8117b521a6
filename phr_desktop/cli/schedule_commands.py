"""`phr schedule`: the daily sync outside the app (OS timer) and each connection's schedule."""

from __future__ import annotations

import argparse
import sys

from phr_desktop.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    choose_profile_name,
    open_profiles,
    print_json,
    unlocked_session,
)
from phr_desktop.cli.parser_options import AddCommand, Subcommands
from phr_desktop.services.os_schedule import OsScheduler, ScheduleState
from phr_desktop.services.scheduled_sync import (
    LeftToTheApp,
    remembered_on_device,
    run_scheduled_sync,
)
from phr_desktop.services.sync_schedule import SCHEDULES, SyncSchedules


def _state_json(state: ScheduleState) -> dict[str, object]:
    return {
        "system": state.system, "installed": state.installed,
        "files": [str(p) for p in state.files], "messages": state.messages,
    }  # fmt: skip


def cmd_schedule_enable(args: argparse.Namespace) -> int:
    profiles = open_profiles(args)
    name = choose_profile_name(args, profiles)
    if not profiles.exists(name):
        profiles.unlock(name)  # the usual "no profile named …" message
    state = OsScheduler().enable(name, profiles.data_dir, activate=not args.no_activate)
    remembered = remembered_on_device(profiles, name)
    if args.json:
        print_json({**_state_json(state), "profile": name, "remembered": remembered})
        return EXIT_OK
    print(f"A daily `phr sync` for profile {name!r} is set up ({state.system}):")
    for path in state.files:
        print(f"    {path}")
    for message in state.messages:
        print(f"    {message}")
    if not remembered:
        print(
            f"Profile {name!r} is not remembered on this device, so the scheduled sync cannot "
            "unlock it and will stop with a message. Run `phr profile remember` (a secure "
            "keyring is needed), or sync from the app.",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_schedule_disable(args: argparse.Namespace) -> int:
    state = OsScheduler().disable(deactivate=not args.no_activate)
    if args.json:
        print_json(_state_json(state))
        return EXIT_OK
    if not state.files:
        print("No daily sync was set up; nothing to remove.")
    for path in state.files:
        print(f"Removed {path}")
    for message in state.messages:
        print(f"    {message}")
    return EXIT_OK


def cmd_schedule_status(args: argparse.Namespace) -> int:
    state = OsScheduler().status()
    if args.json:
        print_json(_state_json(state))
        return EXIT_OK
    if state.installed:
        print(f"A daily sync is set up ({state.system}):")
        for path in state.files:
            print(f"    {path}")
    else:
        print("No daily sync is set up outside the app. Set one up with `phr schedule enable`.")
    return EXIT_OK


def cmd_schedule_set(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        schedules = SyncSchedules(session)
        schedules.set(args.name, args.schedule)
        current = schedules.all()
    if args.json:
        print_json(current)
    else:
        how = "only when asked" if args.schedule == "off" else args.schedule
        print(f"{args.name!r} syncs {how}.")
    return EXIT_OK


def cmd_scheduled_sync(args: argparse.Namespace) -> int:
    """`phr sync --scheduled`: what the OS timer runs."""
    profiles = open_profiles(args)
    name = choose_profile_name(args, profiles)
    try:
        result = run_scheduled_sync(profiles, name)
    except LeftToTheApp as exc:  # the timer did its part: exit 0, say why nothing ran
        print(str(exc))
        return EXIT_OK
    if args.json:
        print_json({
            "synced": {n: r.counts.as_dict() for n, r in result.reports.items()},
            "failed": result.failures, "new_results": result.new_results,
        })  # fmt: skip
    else:
        if not result.reports and not result.failures:
            print("No connection is due for its sync.")
        for n, r in result.reports.items():
            print(f"{n}: {r.counts.new} new, {r.counts.updated} updated")
        for n, why in result.failures.items():
            print(f"{n}: {why}", file=sys.stderr)
    failed = result.failures or any(r.failed or r.reconnect_needed for r in result.reports.values())
    return EXIT_PARTIAL if failed else EXIT_OK


# --- the parsers (build_parser adds them in the order `phr --help` lists the commands) ----


def add_schedule_parsers(sub: Subcommands, command: AddCommand) -> None:
    """`phr schedule enable|disable|status|set`."""
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
