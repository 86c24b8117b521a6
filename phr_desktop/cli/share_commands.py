"""`phr share create | list | key | revoke | open`: sharing with a clinician."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from phr_desktop.cli.common import (
    EXIT_OK,
    kinds_of,
    print_json,
    read_secret_file,
    read_share_key,
    record_line,
    unlocked_session,
)
from phr_desktop.cli.parser_options import (
    AddCommand,
    Subcommands,
    add_date_options,
    add_kind_option,
    include_restricted_option,
)
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.sensitivity import SensitivityCounts, sensitivity_summary
from phr_desktop.services.share_history import (
    list_shares,
    reveal_key,
    revealed_share,
    revoke_share,
)
from phr_desktop.services.share_opening import open_share, save_share_attachments
from phr_desktop.services.shared_with import RECIPIENT_TYPES
from phr_desktop.services.sharing import (
    PRESETS,
    ShareSelection,
    count_selection_by_sensitivity,
    create_share,
)
from phr_desktop.services.views import (
    share_view_to_dict,
)


def share_passcode(args: argparse.Namespace, confirm: bool) -> str | None:
    """From --passcode-file, PHR_SHARE_PASSCODE, or a prompt; None when not asked for."""
    if getattr(args, "passcode_file", None):
        return read_secret_file(args.passcode_file)
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
    kinds = kinds_of(args)
    included = getattr(args, "include_restricted", False)
    if args.preset:
        selection = PRESETS[args.preset]
    else:
        selection = ShareSelection(
            kinds=kinds, since=args.since, until=args.until, tag=args.tag,
            record_ids=tuple(args.record or ()),
        )  # fmt: skip
    passcode = share_passcode(args, confirm=True)
    with unlocked_session(args) as session:
        created = create_share(
            session, Path(args.output), selection, args.label or "", expires=args.expires,
            passcode=passcode, hand_out_key=not args.hold_key, attachments=args.attachments,
            handout=Path(args.handout) if args.handout else None, html=args.html,
            recipient_type=getattr(args, "recipient_type", "provider"),
            allow_save=not getattr(args, "view_only", False),
            include_restricted=included,
        )  # fmt: skip
        # Counted apart from the share, so it can say how many restricted ones stayed out.
        offered = count_selection_by_sensitivity(session, selection)
    handout = created.handout
    if args.json:
        print_json(
            {
                "id": created.id,
                "file": str(created.file),
                "key": created.key or None,
                "key_jwk": created.key_jwk,
                "expires": created.expires_at.isoformat(),
                "fingerprint": created.fingerprint,
                "records": created.record_count,
                "attachments": created.attachment_count,
                "passcode": created.passcode,
                "handout": str(handout) if handout else None,
                "html": str(created.html) if created.html else None,
                "recipient_type": created.recipient_type,
                "view_only": not created.allow_save,
                "sensitive": created.sensitivity.sensitive,
                "restricted": created.sensitivity.restricted,
                "restricted_left_out": 0 if included else offered.restricted,
            }
        )
        return EXIT_OK
    files = f" and {created.attachment_count} attached files" if created.attachment_count else ""
    print(f"Wrote {created.file}: {created.record_count} records{files}, valid until "
          f"{created.expires_at:%Y-%m-%d %H:%M} UTC.")  # fmt: skip
    print(sensitivity_summary(
        SensitivityCounts(created.sensitivity.normal, created.sensitivity.sensitive,
                          created.sensitivity.restricted if included
                          else offered.restricted),
        included,
    ))  # fmt: skip
    if not created.allow_save:
        print("View only: the clinician's viewer offers no saving of attached files (what they "
              "see can still be copied by a determined recipient).")  # fmt: skip
    if created.html:
        print(f"Wrote {created.html}: the same share, opens in any browser with the same key.")
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
    print("The key also names your signing key: the clinician's phr-desktop refuses a copy "
          "that anyone else re-signed.", file=sys.stderr)  # fmt: skip
    print("Once the key is given out the file cannot be recalled; expiry is enforced by "
          "phr-desktop's viewer only.", file=sys.stderr)  # fmt: skip
    return EXIT_OK


def cmd_share_list(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        shares = list_shares(session)
    if args.json:
        print_json([s.to_dict() for s in shares])
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
    with unlocked_session(args) as session:
        key = reveal_key(session, args.id)
        entry = next(s for s in list_shares(session) if s.id == args.id)
    if args.json:
        print_json({"id": args.id, "key": key, "key_jwk": revealed_share(entry, key).key_jwk})
    else:
        print(f"Key (give it to the clinician, not with the file): {key}")
    return EXIT_OK


def cmd_share_revoke(args: argparse.Namespace) -> int:
    with unlocked_session(args) as session:
        revoke_share(session, args.id)
    if args.json:
        print_json({"id": args.id, "revoked": True})
    else:
        print("Revoked: the key is forgotten, so the file can no longer be opened.")
    return EXIT_OK


def cmd_share_open(args: argparse.Namespace) -> int:
    key = read_share_key(args)
    view = open_share(Path(args.file), key, passcode=share_passcode(args, confirm=False))
    saved = save_share_attachments(view, Path(args.save_files)) if args.save_files else []
    if args.json:
        print_json({**share_view_to_dict(view), "saved_files": [str(p) for p in saved]})
        return EXIT_OK
    print(view.banner())
    print("Read-only view; nothing is saved." if not saved else f"Saved {len(saved)} files.")
    for record in view.records_newest_first():
        print(record_line(record))
    for a in view.attachments:
        print(f"  file: {a.filename} ({a.content_type}, {a.size:,} bytes) with {a.owner_title}")
    return EXIT_OK


# --- the parsers (build_parser adds them in the order `phr --help` lists the commands) ----


def add_share_parsers(sub: Subcommands, command: AddCommand) -> None:
    """`phr share create|list|key|revoke|open`."""
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
