"""`phr connect`, `connections`, `sync`, `disconnect`: SMART on FHIR providers."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from phr_desktop.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    open_profiles,
    print_json,
    progress_printer,
    unlocked_session,
)
from phr_desktop.cli.parser_options import AddCommand
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.notices import Notices
from phr_desktop.services.provider_connect import connect_target
from phr_desktop.services.sync_schedule import SyncSchedules


def cmd_connect(args: argparse.Namespace) -> int:
    def show(url: str) -> None:
        # On a line of its own so a script can drive the sign-in.
        print(f"Open: {url}", flush=True)
        if not args.no_browser:
            import webbrowser

            webbrowser.open(url)

    if bool(args.fhir_base) == bool(args.provider):
        raise ServiceError(
            "Give either a FHIR address or --provider NAME (find the name with `phr providers "
            "search WORDS`)."
        )
    target = connect_target(
        open_profiles(args).data_dir, provider=args.provider, fhir_base=args.fhir_base,
        client_id=args.client_id, vendor_filter=args.vendor,
    )  # fmt: skip
    client_id = target.require_client_id()  # before the passphrase is asked for
    with unlocked_session(args) as session:
        connection = session.connections.connect(
            target.fhir_base, client_id=client_id, name=args.name or target.name,
            open_url=show, timeout=args.timeout, same_person=args.same_person,
        )  # fmt: skip
    if args.json:
        print_json(
            {"name": connection.name, "patient": connection.patient_id, "scope": connection.scope}
        )
    else:
        print(
            f"Connected {connection.name!r} (patient {connection.patient_id}). Run `phr sync` "
            "to fetch the records."
        )
    return EXIT_OK


def cmd_connections(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        statuses = session.connections.statuses()
        notices = Notices(session).connection_warnings()
        schedules = SyncSchedules(session).all()
    out: list[dict[str, Any]] = [
        {
            "name": s.connection.name, "fhir_base": s.connection.fhir_base,
            "status": s.connection.status, "patient": s.connection.patient_id,
            "scope": s.connection.scope, "last_sync_at": s.connection.last_sync_at,
            "last_error": s.connection.last_error, "token_expires_at": s.token_expires_at,
            "records": s.records, "searches": s.searches, "missing": s.missing,
            "warnings": s.warnings, "schedule": schedules.get(s.connection.name, "daily"),
            "notices": notices.get(s.connection.name, []),
            "types": {
                t.resource_type: {"status": t.status, "detail": t.detail, "fetched": t.fetched,
                                  "last_success_at": t.last_success_at}
                for t in s.types.values()
            },
        }
        for s in statuses
    ]  # fmt: skip
    if args.json:
        print_json(out)
        return EXIT_OK
    if not out:
        print("No connections yet. Connect a provider with `phr connect FHIR_BASE`.")
    for c in out:
        print(
            f"{c['name']}  [{c['status']}]  {c['records']} records, last sync "
            f"{c['last_sync_at'] or 'never'}, syncs {c['schedule']}"
        )
        for text in c["notices"]:
            print(f"    ! {text}")
        for rtype, t in sorted(c["types"].items()):
            extra = f"  ({t['detail']})" if t["detail"] else ""
            print(f"    {rtype:<22} {t['status']:<9} {t['fetched']:>6} fetched{extra}")
        if c["missing"]:
            print(f"    Missing: {', '.join(c['missing'])} (see above; the next sync tries again)")
        for rtype, how in c["searches"].items():
            print(f"    {rtype} is searched {how} on this server")
    return EXIT_OK


def cmd_disconnect(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        revoked = session.connections.disconnect(args.name, delete_data=args.delete_data)
    kept = "Its records were deleted." if args.delete_data else "Its records are kept."
    how = "access revoked at the provider" if revoked else "the provider offered no revocation"
    print(f"Disconnected {args.name!r} ({how}). {kept}")
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    if getattr(args, "scheduled", False):
        from phr_desktop.cli.schedule_commands import cmd_scheduled_sync

        return cmd_scheduled_sync(args)
    update, stop = progress_printer(not args.json)
    with unlocked_session(args) as session:
        try:
            reports = session.connections.sync(args.name, full=args.full, progress=update)
        finally:
            stop()
    failed = any(r.failed or r.reconnect_needed for r in reports.values())
    if args.json:
        print_json({
            name: {
                "counts": r.counts.as_dict(), "attachments": r.attachments,
                "attachments_skipped": r.attachments_skipped,
                "attachments_external": r.attachments_external, "marked_missing": r.marked_missing,
                "reconnect_needed": r.reconnect_needed,
                "types": [{"type": o.resource_type, "status": o.status, "fetched": o.fetched,
                           "detail": o.detail} for o in r.outcomes],
            }
            for name, r in reports.items()
        })  # fmt: skip
    else:
        if not reports:
            print("No active connections to sync.")
        for name, r in reports.items():
            c = r.counts
            print(
                f"{name}: {c.new} new, {c.updated} updated, {c.unchanged} unchanged, "
                f"{r.attachments} attachments"
            )
            if r.attachments_external:
                print(
                    f"    {r.attachments_external} attached file(s) are held outside the "
                    "provider's FHIR address: not downloaded (your sign-in stays with the "
                    "provider); open them as links from the record's Files tab."
                )
            for o in r.outcomes:
                if o.status == "failed":
                    print(f"    Missing {o.resource_type}: {o.detail}", file=sys.stderr)
                elif o.status != "ok":
                    print(f"    {o.resource_type}: {o.status} {o.detail}", file=sys.stderr)
            for o in r.warnings:
                print(f"    Note on {o.resource_type}: {o.detail}", file=sys.stderr)
            if r.reconnect_needed:
                print(
                    f"    Reconnect {name!r}: `phr connect` again. Records are kept.",
                    file=sys.stderr,
                )
    return EXIT_PARTIAL if failed else EXIT_OK


# --- the parsers (build_parser adds them in the order `phr --help` lists the commands) ----


def add_connect_parsers(command: AddCommand) -> None:
    """`phr connect` and `phr connections`."""
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


def add_sync_parsers(command: AddCommand) -> None:
    """`phr disconnect` and `phr sync`."""
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
