"""`phr import`, `records`, `search`, `timeline`, `milestones`, `export`: the records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from phr_desktop.cli.common import (
    EXIT_OK,
    EXIT_PARTIAL,
    kinds_of,
    print_json,
    print_records,
    progress_printer,
    record_filter_of,
    unlocked_session,
)
from phr_desktop.cli.parser_options import (
    AddCommand,
    add_date_options,
    add_kind_option,
    include_restricted_option,
    record_filters,
)
from phr_desktop.services.exporting import FORMATS, export, export_sensitivity
from phr_desktop.services.import_documents import import_files
from phr_desktop.services.sensitivity import LEVELS, label_records, sensitivity_summary
from phr_desktop.services.shared_with import shared_in_many
from phr_desktop.services.views import (
    milestone_to_dict,
    record_to_dict,
    timeline_to_dicts,
)


def cmd_import(args: argparse.Namespace) -> int:
    update, stop = progress_printer(not args.json)
    with unlocked_session(args) as session:
        try:
            # PDFs and images among the files are kept as documents, as in the app
            report = import_files(
                session, [Path(p) for p in args.files], source_name=args.source, progress=update,
                same_person=args.same_person,
            )  # fmt: skip
        finally:
            stop()
    if args.json:
        print_json(report.as_dict())
    else:
        for outcome in report.files:
            if outcome.status == "failed":
                print(f"FAILED  {outcome.path}\n        {outcome.error}", file=sys.stderr)
            elif outcome.status == "skipped":
                print(f"skipped   {outcome.path}: {outcome.error}")
            elif outcome.status == "other_person":
                print(f"HELD    {outcome.path}\n        {outcome.error}", file=sys.stderr)
            else:
                c = outcome.counts
                assert c is not None
                print(
                    f"{outcome.status:<9} {outcome.path}: {c.new} new, {c.updated} updated, "
                    f"{c.unchanged} unchanged, {c.records} records"
                )
        t = report.totals
        print(
            f"Total: {t.new} new, {t.updated} updated, {t.unchanged} unchanged; "
            f"{t.flagged} with data-quality flags; {len(report.failed)} file(s) failed"
            + (f", {len(report.skipped)} skipped" if report.skipped else "")
            + (
                f"; {len(report.other_person)} file(s) held as another person's."
                if report.other_person
                else "."
            )
        )
    return EXIT_PARTIAL if report.failed or report.other_person else EXIT_OK


def cmd_records(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        records = session.records(record_filter_of(args))
        ids = [s.id for s in records]
        sources = session.record_sources(ids) if args.json else {}
        shared = shared_in_many(session, ids) if args.json else {}
    if args.json:
        print_json([record_to_dict(s, sources[s.id], shared[s.id]) for s in records])
    else:
        print_records(records)
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    included = getattr(args, "include_restricted", False)
    with unlocked_session(args) as session:
        answer = session.search_answer(
            " ".join(args.query),
            limit=args.limit or 200,
            include_restricted=included,
        )
        found = answer.records
        ids = [s.id for s in found]
        sources = session.record_sources(ids) if args.json else {}
        shared = shared_in_many(session, ids) if args.json else {}
    if args.json:
        print_json([record_to_dict(s, sources[s.id], shared[s.id]) for s in found])
    else:
        for typed, used in answer.corrections.items():
            print(f"Searched for {used!r} (you typed {typed!r}).")
        print_records(found) if found else print("No records match.")
    if not found and answer.suggestion:
        # On stderr, so `--json` output stays a plain list.
        print(f"Did you mean: phr search {answer.suggestion}", file=sys.stderr)
    return EXIT_OK


def cmd_label(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        count = label_records(session, args.record_ids, args.sensitivity)
    if args.json:
        print_json({"records": args.record_ids, "sensitivity": args.sensitivity})
    elif args.sensitivity == "source":
        print(f"{count} record(s) back to the sensitivity their source gave.")
    else:
        print(f"{count} record(s) labelled {args.sensitivity}.")
        if args.sensitivity == "restricted":
            print("They are hidden from lists, search and the dashboard, and left out of shares "
                  "and exports unless you add --include-restricted.")  # fmt: skip
    return EXIT_OK


def cmd_timeline(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        years = timeline_to_dicts(session.timeline(record_filter_of(args)))
    if args.json:
        print_json(years)
        return EXIT_OK
    for year in years:
        print(f"{year['year']}  ({year['total']} records)")
        for month in year["months"]:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(month["kinds"].items()))
            print(f"    {month['month'] or '--'}  {kinds}")
    return EXIT_OK


def cmd_milestones(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        views = session.milestones()
        slope = session.fev1_slope_ml_per_year()
    if args.json:
        print_json(
            {"milestones": [milestone_to_dict(v) for v in views], "fev1_slope_ml_per_year": slope}
        )
        return EXIT_OK
    for v in views:
        print(f"{v.milestone.date.text[:10]:<10}  {v.milestone.title}  {v.milestone.detail}")
    if slope is not None:
        print(f"FEV1 trend: {slope:+.0f} mL/year")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    kinds = kinds_of(args)
    included = getattr(args, "include_restricted", False)
    update, stop = progress_printer(not args.json)
    with unlocked_session(args) as session:
        try:
            path = export(
                session, args.format, Path(args.output), since=args.since, kinds=kinds,
                shift_days=args.shift_days, deidentify=args.deidentify, progress=update,
                include_restricted=included,
            )  # fmt: skip
        finally:
            stop()
        counts = export_sensitivity(session, args.since, kinds)
    if args.json:
        print_json(
            {
                "file": str(path),
                "format": args.format,
                "sensitive": counts.sensitive,
                "restricted": counts.restricted if included else 0,
                "restricted_left_out": 0 if included else counts.restricted,
            }
        )
    else:
        print(f"Wrote {path}")
        print(sensitivity_summary(counts, included))
        if args.deidentify and not args.shift_days:
            print("Note: dates are not shifted; add --shift-days N to move them.", file=sys.stderr)
    return EXIT_OK


# --- the parsers (build_parser adds them in the order `phr --help` lists the commands) ----


def add_import_parser(command: AddCommand) -> None:
    """`phr import`."""
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


def add_record_parsers(command: AddCommand) -> None:
    """`phr records`, `search`, `label`, `timeline`, `milestones`."""
    record_filters(command("records", cmd_records, "list records, newest first"))
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
    record_filters(command("timeline", cmd_timeline, "records counted by year and month"))
    command("milestones", cmd_milestones, "AATD milestones and the FEV1 trend")


def add_export_parser(command: AddCommand) -> None:
    """`phr export`."""
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
