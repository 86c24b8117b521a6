"""`phr`: the command line, on top of services. `--json` output shapes are stable (README)."""

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

from phr_desktop import __version__
from phr_desktop.services import audit_log
from phr_desktop.services.demo import DEMO_PASSPHRASE, DEMO_PROFILE, open_demo
from phr_desktop.services.errors import USER_ERRORS, KeyringRefused, ServiceError
from phr_desktop.services.exporting import FORMATS, export
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.services.share_history import list_shares, reveal_key, revoke_share
from phr_desktop.services.share_opening import open_share, save_share_attachments
from phr_desktop.services.sharing import PRESETS, ShareSelection, create_share, write_handout
from phr_desktop.services.tasks import Progress
from phr_desktop.services.views import (
    milestone_to_dict,
    record_to_dict,
    share_view_to_dict,
    timeline_to_dicts,
)

EXIT_OK, EXIT_ERROR, EXIT_PARTIAL = 0, 1, 3


def _print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def _read_secret_file(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError) as exc:
        raise ServiceError(f"Could not read a passphrase from {path}: {exc}") from None


def _passphrase(args: argparse.Namespace, confirm: bool = False, prompt: str = "Passphrase") -> str:
    """From --passphrase-file, PHR_PASSPHRASE, or a prompt on the terminal."""
    if getattr(args, "passphrase_file", None):
        return _read_secret_file(args.passphrase_file)
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


def _profiles(args: argparse.Namespace) -> Profiles:
    return Profiles(Path(args.data_dir) if args.data_dir else None)


def _profile_name(args: argparse.Namespace, profiles: Profiles) -> str:
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
def _session(args: argparse.Namespace) -> Iterator[Session]:
    profiles = _profiles(args)
    name = _profile_name(args, profiles)
    recovery = os.environ.get("PHR_RECOVERY_KEY") or (
        _read_secret_file(args.recovery_key_file) if args.recovery_key_file else None
    )
    if recovery:
        session = profiles.unlock(name, recovery_key=recovery)
    elif args.passphrase_file or os.environ.get("PHR_PASSPHRASE") or not sys.stdin.isatty():
        session = profiles.unlock(name, passphrase=_passphrase(args))
    else:
        try:  # a remembered key is a convenience; the passphrase always works
            session = profiles.unlock(name, use_keyring=True)
        except (KeyringRefused, ServiceError):
            session = profiles.unlock(name, passphrase=_passphrase(args))
    try:
        yield session
    finally:
        session.close()


def _progress_printer(enabled: bool) -> tuple[Callable[[Progress], None], Callable[[], None]]:
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


# --- commands ---------------------------------------------------------------------------------


def cmd_profile_create(args: argparse.Namespace) -> int:
    profiles = _profiles(args)
    passphrase = _passphrase(args, confirm=True, prompt="New passphrase")
    session, recovery_key = profiles.create(args.name, passphrase)
    with session:
        if args.remember:
            session.remember_on_device()
    if args.json:
        _print_json({"profile": args.name, "recovery_key": recovery_key})
    else:
        print(f"Created profile {args.name!r}.")
        print("Recovery key (write it down or print it now; it is shown only once and is the")
        print("only way in if you forget the passphrase):")
        print(f"\n    {recovery_key}\n")
    return EXIT_OK


def cmd_profile_list(args: argparse.Namespace) -> int:
    names = _profiles(args).names()
    if args.json:
        _print_json({"profiles": names})
    else:
        print("\n".join(names) if names else "No profiles yet. Try `phr demo`.")
    return EXIT_OK


def cmd_profile_delete(args: argparse.Namespace) -> int:
    profiles = _profiles(args)
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
    with _session(args) as session:
        new = os.environ.get("PHR_NEW_PASSPHRASE") or (
            _read_secret_file(args.new_passphrase_file) if args.new_passphrase_file else None
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
    with _session(args) as session:
        if args.forget:
            session.forget_on_device()
            print("This device no longer remembers the profile.")
        else:
            session.remember_on_device()
            print("This device now remembers the profile in the OS keyring.")
    return EXIT_OK


def cmd_unlock(args: argparse.Namespace) -> int:
    with _session(args) as session:
        total = sum(session.counts_by_kind().values())
        if args.json:
            _print_json({"profile": session.profile_name, "unlocked": True, "records": total})
        else:
            print(f"Unlocked {session.profile_name!r}: {total} records.")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    update, stop = _progress_printer(not args.json)
    with _session(args) as session:
        try:
            report = session.import_paths(
                [Path(p) for p in args.files], source_name=args.source, progress=update
            )
        finally:
            stop()
    if args.json:
        _print_json(report.as_dict())
    else:
        for outcome in report.files:
            if outcome.status == "failed":
                print(f"FAILED  {outcome.path}\n        {outcome.error}", file=sys.stderr)
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
            f"{t.flagged} with data-quality flags; {len(report.failed)} file(s) failed."
        )
    return EXIT_PARTIAL if report.failed else EXIT_OK


def _filter(args: argparse.Namespace) -> RecordFilter:
    kinds = [k for value in (args.kind or []) for k in value.split(",") if k]
    return RecordFilter(
        kinds=tuple(kinds),
        since=args.since,
        until=args.until,
        tag=args.tag,
        source_system=args.source,
        limit=args.limit,
    )


def _print_records(records: Sequence[Any]) -> None:
    for s in records:
        r = s.record
        value = ""
        if r.value:
            shown = f"{r.value.value:g}" if r.value.value is not None else (r.value.text or "")
            value = f"  {shown} {r.value.unit or ''}".rstrip()
        date = r.effective.text[:10] if r.effective else "(no date)"
        flag = "  [!]" if r.quality else ""
        print(f"{s.id:>6}  {date:<10}  {r.kind.value:<13} {r.title}{value}{flag}")


def cmd_records(args: argparse.Namespace) -> int:
    with _session(args) as session:
        records = session.records(_filter(args))
    if args.json:
        _print_json([record_to_dict(s) for s in records])
    else:
        _print_records(records)
    return EXIT_OK


def cmd_search(args: argparse.Namespace) -> int:
    with _session(args) as session:
        found = session.search(" ".join(args.query), limit=args.limit or 200)
    if args.json:
        _print_json([record_to_dict(s) for s in found])
    else:
        _print_records(found) if found else print("No records match.")
    return EXIT_OK


def cmd_timeline(args: argparse.Namespace) -> int:
    with _session(args) as session:
        years = timeline_to_dicts(session.timeline(_filter(args)))
    if args.json:
        _print_json(years)
        return EXIT_OK
    for year in years:
        print(f"{year['year']}  ({year['total']} records)")
        for month in year["months"]:
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(month["kinds"].items()))
            print(f"    {month['month'] or '--'}  {kinds}")
    return EXIT_OK


def cmd_milestones(args: argparse.Namespace) -> int:
    with _session(args) as session:
        views = session.milestones()
        slope = session.fev1_slope_ml_per_year()
    if args.json:
        _print_json(
            {"milestones": [milestone_to_dict(v) for v in views], "fev1_slope_ml_per_year": slope}
        )
        return EXIT_OK
    for v in views:
        print(f"{v.milestone.date.text[:10]:<10}  {v.milestone.title}  {v.milestone.detail}")
    if slope is not None:
        print(f"FEV1 trend: {slope:+.0f} mL/year")
    return EXIT_OK


def cmd_vault_check(args: argparse.Namespace) -> int:
    with _session(args) as session:
        report = session.check()
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
    }
    if args.json:
        _print_json(result)
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
    return EXIT_OK if report.ok else EXIT_ERROR


def cmd_vault_backup(args: argparse.Namespace) -> int:
    with _session(args) as session:
        folder = session.backup(Path(args.folder))
    print(
        f"Encrypted backup written to {folder} (open it with the same passphrase or recovery key)."
    )
    return EXIT_OK


def cmd_reindex(args: argparse.Namespace) -> int:
    with _session(args) as session:
        count = session.reindex()
    print(f"Rebuilt {count} records from the raw resources.")
    return EXIT_OK


def cmd_audit(args: argparse.Namespace) -> int:
    with _session(args) as session:
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
        _print_json(out)
    else:
        for e in entries:
            print(f"{e.id:>5}  {e.at}  {e.event}" + (f": {e.details}" if e.details else ""))
        if report:
            print(audit_log.verification_text(report))
    return EXIT_ERROR if report and not report.ok else EXIT_OK


def cmd_connect(args: argparse.Namespace) -> int:
    def show(url: str) -> None:
        # On a line of its own so a script can drive the sign-in.
        print(f"Open: {url}", flush=True)
        if not args.no_browser:
            import webbrowser

            webbrowser.open(url)

    with _session(args) as session:
        connection = session.connections.connect(
            args.fhir_base, client_id=args.client_id, name=args.name, open_url=show,
            timeout=args.timeout,
        )  # fmt: skip
    if args.json:
        _print_json(
            {"name": connection.name, "patient": connection.patient_id, "scope": connection.scope}
        )
    else:
        print(
            f"Connected {connection.name!r} (patient {connection.patient_id}). Run `phr sync` "
            "to fetch the records."
        )
    return EXIT_OK


def cmd_connections(args: argparse.Namespace) -> int:
    with _session(args) as session:
        statuses = session.connections.statuses()
    out: list[dict[str, Any]] = [
        {
            "name": s.connection.name, "fhir_base": s.connection.fhir_base,
            "status": s.connection.status, "patient": s.connection.patient_id,
            "scope": s.connection.scope, "last_sync_at": s.connection.last_sync_at,
            "last_error": s.connection.last_error, "token_expires_at": s.token_expires_at,
            "records": s.records,
            "types": {
                t.resource_type: {"status": t.status, "detail": t.detail, "fetched": t.fetched,
                                  "last_success_at": t.last_success_at}
                for t in s.types.values()
            },
        }
        for s in statuses
    ]  # fmt: skip
    if args.json:
        _print_json(out)
        return EXIT_OK
    if not out:
        print("No connections yet. Connect a provider with `phr connect FHIR_BASE`.")
    for c in out:
        print(
            f"{c['name']}  [{c['status']}]  {c['records']} records, last sync "
            f"{c['last_sync_at'] or 'never'}"
        )
        for rtype, t in sorted(c["types"].items()):
            extra = f"  ({t['detail']})" if t["detail"] else ""
            print(f"    {rtype:<22} {t['status']:<9} {t['fetched']:>6} fetched{extra}")
    return EXIT_OK


def cmd_disconnect(args: argparse.Namespace) -> int:
    with _session(args) as session:
        revoked = session.connections.disconnect(args.name, delete_data=args.delete_data)
    kept = "Its records were deleted." if args.delete_data else "Its records are kept."
    how = "access revoked at the provider" if revoked else "the provider offered no revocation"
    print(f"Disconnected {args.name!r} ({how}). {kept}")
    return EXIT_OK


def cmd_sync(args: argparse.Namespace) -> int:
    update, stop = _progress_printer(not args.json)
    with _session(args) as session:
        try:
            reports = session.connections.sync(args.name, full=args.full, progress=update)
        finally:
            stop()
    failed = any(r.failed or r.reconnect_needed for r in reports.values())
    if args.json:
        _print_json({
            name: {
                "counts": r.counts.as_dict(), "attachments": r.attachments,
                "attachments_skipped": r.attachments_skipped, "marked_missing": r.marked_missing,
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
            for o in r.outcomes:
                if o.status != "ok":
                    print(f"    {o.resource_type}: {o.status} {o.detail}", file=sys.stderr)
            if r.reconnect_needed:
                print(
                    f"    Reconnect {name!r}: `phr connect` again. Records are kept.",
                    file=sys.stderr,
                )
    return EXIT_PARTIAL if failed else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    kinds = tuple(k for value in (args.kinds or []) for k in value.split(",") if k)
    update, stop = _progress_printer(not args.json)
    with _session(args) as session:
        try:
            path = export(
                session, args.format, Path(args.output), since=args.since, kinds=kinds,
                shift_days=args.shift_days, deidentify=args.deidentify, progress=update,
            )  # fmt: skip
        finally:
            stop()
    if args.json:
        _print_json({"file": str(path), "format": args.format})
    else:
        print(f"Wrote {path}")
        if args.deidentify and not args.shift_days:
            print("Note: dates are not shifted; add --shift-days N to move them.", file=sys.stderr)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    update, stop = _progress_printer(not args.json)
    try:
        session, created = open_demo(_profiles(args), progress=update)
    finally:
        stop()
    with session:
        counts = session.counts_by_kind()
    if args.json:
        _print_json(
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


def _share_passcode(args: argparse.Namespace, confirm: bool) -> str | None:
    """From --passcode-file, PHR_SHARE_PASSCODE, or a prompt; None when not asked for."""
    if getattr(args, "passcode_file", None):
        return _read_secret_file(args.passcode_file)
    if not args.passcode:
        return None
    if os.environ.get("PHR_SHARE_PASSCODE"):
        return os.environ["PHR_SHARE_PASSCODE"]
    if not sys.stdin.isatty():
        raise ServiceError("No passcode given: set PHR_SHARE_PASSCODE or use --passcode-file.")
    first = getpass.getpass("Share passcode: ")
    if confirm and getpass.getpass("Share passcode again: ") != first:
        raise ServiceError("The two passcodes differ; nothing was shared.")
    return first


def cmd_share_create(args: argparse.Namespace) -> int:
    kinds = tuple(k for value in (args.kinds or []) for k in value.split(",") if k)
    if args.preset:
        selection = PRESETS[args.preset]
    else:
        selection = ShareSelection(
            kinds=kinds, since=args.since, until=args.until, tag=args.tag,
            record_ids=tuple(args.record or ()),
        )  # fmt: skip
    passcode = _share_passcode(args, confirm=True)
    with _session(args) as session:
        created = create_share(
            session, Path(args.output), selection, args.label or "", expires=args.expires,
            passcode=passcode, hand_out_key=not args.hold_key, attachments=args.attachments,
        )  # fmt: skip
    handout = write_handout(created, Path(args.handout)) if args.handout and created.key else None
    if args.json:
        _print_json(
            {
                "id": created.id,
                "file": str(created.file),
                "key": created.key or None,
                "expires": created.expires_at.isoformat(),
                "fingerprint": created.fingerprint,
                "records": created.record_count,
                "attachments": created.attachment_count,
                "passcode": created.passcode,
                "handout": str(handout) if handout else None,
            }
        )
        return EXIT_OK
    files = f" and {created.attachment_count} attached files" if created.attachment_count else ""
    print(f"Wrote {created.file}: {created.record_count} records{files}, valid until "
          f"{created.expires_at:%Y-%m-%d %H:%M} UTC.")  # fmt: skip
    print(f"Signing key fingerprint: {created.fingerprint_display}")
    if not created.key:
        print(f"The key is held back; show it with `phr share key {created.id}`, "
              f"or revoke with `phr share revoke {created.id}`.")  # fmt: skip
        return EXIT_OK
    print(f"Key (give it to the clinician, not with the file): {created.key_display}")
    if created.passcode:
        print("The clinician also needs the passcode; tell it to them separately.")
    if handout:
        print(f"Printable hand-out (key, QR, fingerprint, instructions): {handout}")
    if sys.stdout.isatty():
        import segno

        segno.make(created.key, error="m").terminal(compact=True)
    print("Once the key is given out the file cannot be recalled; expiry is enforced by "
          "phr-desktop's viewer only.", file=sys.stderr)  # fmt: skip
    return EXIT_OK


def cmd_share_list(args: argparse.Namespace) -> int:
    with _session(args) as session:
        shares = list_shares(session)
    if args.json:
        _print_json([s.to_dict() for s in shares])
        return EXIT_OK
    if not shares:
        print("No shares yet.")
    for s in shares:
        state = "revoked" if s.revoked_at else ("key given" if s.key_handed_out else "key held")
        what = ", ".join(f"{k}={v}" for k, v in s.selection.items()) or "everything"
        print(f"{s.created_at[:16]}  for {s.label or '(no label)'}: {s.record_count} records "
              f"({what}) until {s.expires_at[:16]}  [{state}]  {s.file_name}  {s.id}")  # fmt: skip
    return EXIT_OK


def cmd_share_key(args: argparse.Namespace) -> int:
    with _session(args) as session:
        key = reveal_key(session, args.id)
    if args.json:
        _print_json({"id": args.id, "key": key})
    else:
        print(f"Key: {key}")
    return EXIT_OK


def cmd_share_revoke(args: argparse.Namespace) -> int:
    with _session(args) as session:
        revoke_share(session, args.id)
    if args.json:
        _print_json({"id": args.id, "revoked": True})
    else:
        print("Revoked: the key is forgotten, so the file can no longer be opened.")
    return EXIT_OK


def cmd_share_open(args: argparse.Namespace) -> int:
    key = args.key or os.environ.get("PHR_SHARE_KEY")
    if not key:
        raise ServiceError("Give the key with --key K (or PHR_SHARE_KEY).")
    view = open_share(Path(args.file), key, passcode=_share_passcode(args, confirm=False))
    saved = save_share_attachments(view, Path(args.save_files)) if args.save_files else []
    if args.json:
        _print_json({**share_view_to_dict(view), "saved_files": [str(p) for p in saved]})
        return EXIT_OK
    print(view.banner())
    print("Read-only view; nothing is saved." if not saved else f"Saved {len(saved)} files.")
    for r in view.records:
        date = r.effective.text[:10] if r.effective else "(no date)"
        print(f"  {date:<10}  {r.kind.value:<13} {r.title}")
    for a in view.attachments:
        print(f"  file: {a.filename} ({a.content_type}, {a.size:,} bytes) with {a.owner_title}")
    return EXIT_OK


# --- parser -----------------------------------------------------------------------------------


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
        "import", cmd_import, "import FHIR files: Bundles, single resources, NDJSON, folders"
    )
    p.add_argument("files", nargs="+")
    p.add_argument(
        "--source", help="name of the source system (default: the resources' meta.source)"
    )

    def filters(p: argparse.ArgumentParser) -> None:
        p.add_argument("--kind", action="append", help="record kind(s), repeat or comma-separate")
        p.add_argument("--since", help="from this date (YYYY, YYYY-MM or YYYY-MM-DD)")
        p.add_argument("--until", help="through this date")
        p.add_argument("--tag", help="tag such as aatd, lung_function, liver, augmentation")
        p.add_argument("--source", help="source system name")
        p.add_argument("--limit", type=int)

    filters(command("records", cmd_records, "list records, newest first"))
    p = command("search", cmd_search, "full-text search over titles, codes, notes and documents")
    p.add_argument("query", nargs="+")
    p.add_argument("--limit", type=int)
    filters(command("timeline", cmd_timeline, "records counted by year and month"))
    command("milestones", cmd_milestones, "AATD milestones and the FEV1 trend")
    command("reindex", cmd_reindex, "rebuild records from the raw resources")
    p = command("audit", cmd_audit, "show the audit log")
    p.add_argument("--verify", action="store_true", help="check the HMAC chain")
    p.add_argument("--limit", type=int)
    vault = sub.add_parser("vault", help="check or back up the encrypted vault")
    vsub = vault.add_subparsers(dest="vault_command", required=True, metavar="ACTION")
    command("check", cmd_vault_check, "cipher, HMAC, integrity and audit-chain checks", vsub)
    p = command("backup", cmd_vault_backup, "write an encrypted backup to an empty folder", vsub)
    p.add_argument("folder")
    command("demo", cmd_demo, "create (or refresh) the demo profile from resources/demo")
    p = command("connect", cmd_connect, "connect a provider (SMART on FHIR sign-in)")
    p.add_argument("fhir_base", help="the provider's FHIR base URL")
    p.add_argument("--client-id", help="registered app id (default: from the endpoint directory)")
    p.add_argument("--name", help="what to call this connection")
    p.add_argument(
        "--no-browser",
        action="store_true",
        help="print the sign-in URL (a line starting 'Open: ') without opening a browser",
    )
    p.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the sign-in")
    command("connections", cmd_connections, "list connections and their sync status")
    p = command("export", cmd_export, "export the record (C-CDA, PDF, FHIR, IPS, CSV, emergency)")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--since", help="only records from this date (YYYY, YYYY-MM or YYYY-MM-DD)")
    p.add_argument("--kinds", action="append", help="record kind(s), repeat or comma-separate")
    p.add_argument("-o", "--output", required=True, help="the file to write")
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
    share = sub.add_parser("share", help="share chosen records with a clinician (encrypted)")
    shsub = share.add_subparsers(dest="share_command", required=True, metavar="ACTION")
    p = command("create", cmd_share_create, "seal chosen records into a .phrshare file", shsub)
    p.add_argument("--kinds", action="append", help="record kind(s), repeat or comma-separate")
    p.add_argument("--since", help="from this date (YYYY, YYYY-MM or YYYY-MM-DD)")
    p.add_argument("--until", help="through this date")
    p.add_argument("--tag", help="tag such as aatd, lung_function, liver, augmentation")
    p.add_argument("--record", type=int, action="append", help="a hand-picked record id")
    p.add_argument("--preset", choices=sorted(PRESETS), help="a ready-made choice")
    p.add_argument("--for", dest="label", help="who it is for (shown to them and in history)")
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
    p.add_argument("-o", "--output", required=True, help="the .phrshare file to write")
    command("list", cmd_share_list, "the sharing history", shsub)
    p = command("key", cmd_share_key, "show a held-back key (then it cannot be revoked)", shsub)
    p.add_argument("id")
    p = command("revoke", cmd_share_revoke, "forget a held-back key so nobody can open it", shsub)
    p.add_argument("id")
    p = command("open", cmd_share_open, "open a .phrshare file read-only (clinician)", shsub)
    p.add_argument("file")
    p.add_argument("--key", help="the key the patient gave you (or PHR_SHARE_KEY)")
    p.add_argument("--save-files", metavar="DIR", help="save the attached files into DIR")
    p.add_argument(
        "--passcode", action="store_true", help="ask for the passcode (PHR_SHARE_PASSCODE)"
    )
    p.add_argument("--passcode-file", help="read the passcode from the first line of FILE")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
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
    try:
        return int(args.func(args))
    except USER_ERRORS as exc:
        print(f"phr: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("phr: interrupted; work in progress was rolled back.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
