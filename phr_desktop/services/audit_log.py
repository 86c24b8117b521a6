"""The activity log for people: audit rows in plain words, and the chain check explained.

The vault keeps the rows (counts and ids, never health data) and checks the MAC chain; this
module only puts both into sentences, for the app's Activity log and for `phr audit`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from phr_desktop.vault.audit import AuditEntry, ChainReport

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

__all__ = ["AuditEvent", "ChainReport", "describe", "list_events", "verification_text", "verify"]


@dataclass(frozen=True)
class AuditEvent:
    id: int
    at: str  # ISO instant, UTC, as stored
    action: str  # the stored action name, e.g. "share"
    event: str  # the same in plain words
    details: str  # the row's counts and choices in plain words ("" when there are none)
    detail: dict[str, Any]  # the stored detail, unchanged


def _count(n: Any, one: str, many: str | None = None) -> str:
    try:
        value = int(n)
    except (TypeError, ValueError):
        return f"{n} {many or one + 's'}"
    return f"{value:,} {one if value == 1 else (many or one + 's')}"


def _day(iso: Any) -> str:
    try:
        return datetime.fromisoformat(str(iso)).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(iso)


def _recipient(d: dict[str, Any], labels: dict[str, str]) -> str:
    label = labels.get(str(d.get("share_id")))
    return f"for {label}" if label else ""


def _share(d: dict[str, Any], labels: dict[str, str]) -> str:
    parts = [
        _recipient(d, labels),
        _count(d.get("records", 0), "record"),
        f"valid until {_day(d['expires'])}" if d.get("expires") else "",
        _count(d["attachments"], "attached file") if d.get("attachments") else "",
        "with a passcode" if d.get("passcode") else "",
        "key given out" if d.get("key_handed_out", True) else "key held back",
    ]
    return ", ".join(p for p in parts if p)


def _sync(d: dict[str, Any], _labels: dict[str, str]) -> str:
    text = f"{_count(d.get('new', 0), 'new record')}, {d.get('updated', 0):,} updated"
    if d.get("failed_types"):
        text += f"; {_count(d['failed_types'], 'record type')} could not be fetched"
    return text


def _export(d: dict[str, Any], _labels: dict[str, str]) -> str:
    parts = [
        str(d.get("format", "")).upper(),
        _count(d.get("records", 0), "record"),
        "de-identified" if d.get("deidentified") else "",
        "dates shifted" if d.get("shifted") else "",
    ]
    return ", ".join(p for p in parts if p)


_Describe = Callable[[dict[str, Any], dict[str, str]], str]
_NO_DETAIL: _Describe = lambda _d, _labels: ""  # noqa: E731

# action -> (event in plain words, details from the row's detail)
_EVENTS: dict[str, tuple[str, _Describe]] = {
    "create": ("Profile created", _NO_DETAIL),
    "unlock": (
        "Unlocked",
        lambda d, _l: {
            "passphrase": "with the passphrase",
            "recovery_key": "with the recovery key",
            "data_key": "with the key remembered on this device",
        }.get(str(d.get("method")), f"with {d['method']}" if d.get("method") else ""),
    ),
    "change_passphrase": ("Passphrase changed", _NO_DETAIL),
    "remember_on_device": ("Key remembered on this device", _NO_DETAIL),
    "forget_on_device": ("Key forgotten on this device", _NO_DETAIL),
    "backup": ("Encrypted backup made", _NO_DETAIL),
    "restore": ("Restored from a backup on this computer", _NO_DETAIL),
    "import": (
        "Files imported",
        lambda d, _l: (
            f"{_count(d.get('resources', 0), 'record')}: "
            f"{d.get('new', 0):,} new, {d.get('updated', 0):,} updated"
        ),
    ),
    "import_held": (
        "File held: another person's record",
        lambda d, _l: "a close call" if d.get("verdict") == "close_call" else "",
    ),
    "person_set": ("Whose record this is: set or edited", lambda d, _l: str(d.get("set_from", ""))),
    "person_alias": ("Another name confirmed as yours", _NO_DETAIL),
    "records_split": ("Two records kept apart by you", _NO_DETAIL),
    "records_split_undone": ("Two records shown as one again", _NO_DETAIL),
    "manual_entry": (
        "Entry added by you",
        lambda d, _l: _count(d.get("resources", 0), "record"),
    ),
    "connect": (
        "Provider connected",
        lambda d, _l: "with a device key" if d.get("device_key") else "",
    ),
    "sync": ("Records fetched from a provider", _sync),
    "sync_schedule": ("Sync schedule changed", lambda d, _l: f"now {d.get('schedule')}"),
    "disconnect": (
        "Provider disconnected",
        lambda d, _l: ", ".join(
            p
            for p in (
                "access revoked at the provider" if d.get("revoked") else "",
                "its records deleted" if d.get("deleted_data") else "its records kept",
            )
            if p
        ),
    ),
    "export": ("Record exported", _export),
    "share": ("Shared with a clinician", _share),
    "share_key_shown": (
        "Held-back share key shown (can no longer be revoked)",
        lambda d, labels: _recipient(d, labels),
    ),
    "share_revoked": ("Share revoked", lambda d, labels: _recipient(d, labels)),
    "label": (
        "Sensitivity set by you",
        lambda d, _l: f"{_count(d['records'], 'record')}: {d['sensitivity']}",
    ),
    "reveal_restricted": ("Restricted records shown (passphrase given again)", lambda d, _l: ""),
}


def _generic(detail: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(detail.items()))


def describe(entry: AuditEntry, share_labels: dict[str, str] | None = None) -> AuditEvent:
    """One row in plain words; an action this version does not know is still shown."""
    labels = share_labels or {}
    known = _EVENTS.get(entry.action)
    if known is None:
        event, details = entry.action.replace("_", " ").capitalize(), _generic(entry.detail)
    else:
        event = known[0]
        try:
            details = known[1](entry.detail, labels)
        except (KeyError, TypeError, ValueError):  # a row written by another version
            details = _generic(entry.detail)
    return AuditEvent(entry.id, entry.at, entry.action, event, details, entry.detail)


def _share_labels(session: Session) -> dict[str, str]:
    rows = session.vault.conn.execute("SELECT id, label FROM shares").fetchall()
    return {str(r[0]): str(r[1]) for r in rows if r[1]}


def list_events(session: Session, limit: int | None = None) -> list[AuditEvent]:
    """The newest rows first, described; shares are named by whom they were for."""
    labels = _share_labels(session)
    return [describe(e, labels) for e in session.audit_entries(limit)]


def verify(session: Session) -> ChainReport:
    """Recompute the MAC chain from the first row; report the first row that does not fit."""
    return session.verify_audit()


def verification_text(report: ChainReport) -> str:
    if report.ok:
        return f"The activity log is intact: all {report.rows:,} entries are as they were written."
    what = (
        "is missing (it was deleted)"
        if "missing" in report.reason
        else "was changed after it was written"
        if "changed" in report.reason
        else report.reason
    )
    return (
        f"The activity log was tampered with: entry #{report.first_broken_id} {what}. "
        "Entries from that one on cannot be trusted; earlier entries are intact."
    )
