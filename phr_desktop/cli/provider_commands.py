"""`phr providers search|update|vendors|client-id`: find a provider, refresh the directory,
and the app ids (client ids) kept per EHR vendor. No profile is needed for any of them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from phr_desktop.cli.common import EXIT_OK, open_profiles, print_json
from phr_desktop.cli.parser_options import AddCommand, Subcommands
from phr_desktop.domain.ehr_vendors import VENDORS, vendor
from phr_desktop.services.client_ids import ClientIds
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.provider_directory import ProviderDirectory


def cmd_providers_search(args: argparse.Namespace) -> int:
    if not "".join(args.text).strip() and not args.vendor:
        raise ServiceError(
            "Give words of the provider's name, city or state (e.g. `phr providers search "
            "mayo`), or --vendor V to list one vendor's."
        )
    directory = ProviderDirectory(open_profiles(args).data_dir)
    found = directory.search(
        " ".join(args.text), vendor=args.vendor, include_test_systems=args.test_systems,
        limit=args.limit,
    )  # fmt: skip
    rows: list[dict[str, Any]] = [
        {"name": p.name, "city": p.city or None, "state": p.state or None,
         "vendor": p.vendor or None, "fhir_base": p.fhir_base}
        for p in found
    ]  # fmt: skip
    if args.json:
        print_json(rows)
        return EXIT_OK
    if not rows:
        print(
            "No provider matches. Try fewer or shorter words, or connect by FHIR address "
            "(`phr connect FHIR_BASE`)."
        )
    for p in found:
        place = ", ".join(x for x in (p.city, p.state) if x)
        test = " [test system]" if p.test_system else ""
        print(f"{p.name}{f' ({place})' if place else ''} - {vendor(p.vendor).name}{test}")
        print(f"    {p.fhir_base}")
    return EXIT_OK


def cmd_providers_update(args: argparse.Namespace) -> int:
    report = ProviderDirectory(open_profiles(args).data_dir).update_from_file(Path(args.file))
    if args.json:
        print_json({
            "organisations": report.organisations, "skipped": report.skipped,
            "timestamp": report.timestamp or None, "path": str(report.path),
        })  # fmt: skip
    else:
        skipped = f", {report.skipped} left out (no name or no https address)" * bool(
            report.skipped
        )
        print(
            f"Provider directory updated: {report.organisations:,} organisations{skipped}, "
            f"dated {report.timestamp or 'unknown'}. Kept in {report.path}."
        )
    return EXIT_OK


def cmd_providers_vendors(args: argparse.Namespace) -> int:
    ids = ClientIds(open_profiles(args).data_dir).all()
    rows = [
        {"vendor": v.code, "name": v.name, "registration_url": v.registration_url,
         "client_id": ids.get(v.code)}
        for v in VENDORS.values()
    ]  # fmt: skip
    if args.json:
        print_json(rows)
        return EXIT_OK
    for r in rows:
        state = f"app id {r['client_id']}" if r["client_id"] else "no app id yet"
        print(f"{r['vendor']:<16} {r['name']:<40} {state}")
        print(f"{'':<16} register at {r['registration_url']}")
    return EXIT_OK


def cmd_providers_client_id(args: argparse.Namespace) -> int:
    code = args.vendor.strip().casefold()
    if code not in VENDORS:
        raise ServiceError(f"There is no vendor {args.vendor!r}; use one of: {', '.join(VENDORS)}.")
    ids = ClientIds(open_profiles(args).data_dir)
    if args.forget:
        ids.forget(code)
        print(f"Forgot the app id for {VENDORS[code].name}.")
    elif args.client_id:
        ids.set(code, args.client_id)
        print(f"App id for every {VENDORS[code].name} organisation: {args.client_id.strip()}")
    else:
        current = ids.get(code)
        print(current or f"No app id for {VENDORS[code].name} yet; {vendor(code).how_to_register}")
    return EXIT_OK


# --- the parsers (build_parser adds them in the order `phr --help` lists the commands) ----


def add_providers_parsers(sub: Subcommands, command: AddCommand) -> None:
    """`phr providers search|update|vendors|client-id`."""
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
