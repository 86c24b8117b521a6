"""Making a share: choose records, seal them for one clinician, log it, print the hand-out.

The history of shares is in share_history.py; opening one (the clinician's side, which needs
only the file and the key) is in share_opening.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from phr_desktop.interop.export_data import ExportData
from phr_desktop.interop.fhir.export import collection_bundle, resource_urn
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.share_opening import FILE_NAME_EXTENSION
from phr_desktop.sharing.bundle import (
    FILE_SUFFIX,
    display_key,
    format_key,
    new_share_key,
    seal,
)
from phr_desktop.sharing.errors import ShareError
from phr_desktop.sharing.keys import display_fingerprint, fingerprint, signing_key
from phr_desktop.sharing.open import DEFAULT_LIMITS
from phr_desktop.vault.database import transaction
from phr_desktop.vault.queries import RecordFilter
from phr_desktop.vault.storage_errors import storage_errors

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

__all__ = [
    "PRESETS",
    "CreatedShare",
    "ShareError",
    "ShareSelection",
    "count_selection",
    "create_share",
    "parse_expiry",
    "write_handout",
]

DEFAULT_EXPIRY = "30d"
MAX_EXPIRY = timedelta(days=366)
# Attached files travel base64-encoded twice over (JSON, then JWS/JWE), so 20 MiB of files make
# a file of about 36 MiB: under the viewer's 50 MB cap with room for the records themselves.
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class ShareSelection:
    """What to share: records matching the filter (kinds AND dates AND tag), plus hand-picked
    ids, plus every record matched by any of `any_of` (presets are built from these)."""

    kinds: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    tag: str | None = None
    record_ids: tuple[int, ...] = ()
    any_of: tuple[RecordFilter, ...] = ()
    preset: str | None = None

    @property
    def has_filter(self) -> bool:
        return bool(self.kinds or self.since or self.until or self.tag)

    def describe(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in (
                ("preset", self.preset),
                ("kinds", list(self.kinds)),
                ("since", self.since),
                ("until", self.until),
                ("tag", self.tag),
                ("hand_picked", len(self.record_ids)),
            )
            if v
        }


PRESETS: dict[str, ShareSelection] = {
    # Everything a new pulmonologist needs: the AATD work-up, lung function, augmentation,
    # liver follow-up, and the current lists (problems, medicines, allergies, vaccines).
    "pulmonologist": ShareSelection(
        preset="pulmonologist",
        any_of=(
            *(RecordFilter(tag=t) for t in ("aatd", "lung_function", "augmentation", "liver")),
            RecordFilter(kinds=("problem", "medication", "allergy", "immunization")),
        ),
    ),
}


@dataclass(frozen=True)
class CreatedShare:
    id: str
    file: Path
    key: str  # 43 base64url characters: what the clinician types or scans
    key_display: str  # the same in groups of four
    expires_at: datetime
    fingerprint: str
    fingerprint_display: str
    record_count: int
    passcode: bool
    key_handed_out: bool
    attachment_count: int = 0
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    label: str = ""
    patient_name: str = ""


# --- expiry ---------------------------------------------------------------------------------

_DURATION = re.compile(r"^\s*(\d+)\s*([dhs])\s*$")


def parse_expiry(text: str | None, now: datetime) -> datetime:
    """`30d`, `12h`, `45s`, or a date `YYYY-MM-DD` (valid to the end of that day, UTC)."""
    text = (text or DEFAULT_EXPIRY).strip()
    match = _DURATION.match(text)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        delta = {"d": timedelta(days=amount), "h": timedelta(hours=amount)}.get(
            unit, timedelta(seconds=amount)
        )
        until = now + delta
    else:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ServiceError(
                f"Expiry {text!r} is not understood; use 30d, 12h, 45s or a date YYYY-MM-DD."
            ) from None
        until = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=UTC)
    if until <= now:
        raise ServiceError("The expiry is not in the future.")
    if until - now > MAX_EXPIRY:
        raise ServiceError("A share can last at most a year; choose an earlier expiry.")
    return until


# --- creating -------------------------------------------------------------------------------


def _select_ids(session: Session, selection: ShareSelection) -> list[int]:
    ids: set[int] = set(selection.record_ids)
    for f in selection.any_of:
        ids.update(session.record_ids(f))
    if selection.has_filter or not (selection.record_ids or selection.any_of):
        ids.update(
            session.record_ids(
                RecordFilter(
                    kinds=selection.kinds,
                    since=selection.since,
                    until=selection.until,
                    tag=selection.tag,
                )
            )
        )
    return sorted(ids)


def count_selection(session: Session, selection: ShareSelection) -> int:
    """How many records `create_share` would seal for this choice (the patient's own details
    travel in every share and are not counted, as in `CreatedShare.record_count`)."""
    ids = set(_select_ids(session, selection))
    if not ids:
        return 0
    return len(ids.difference(session.record_ids(RecordFilter(kinds=("patient",)))))


def _attachment_entries(session: Session, data: ExportData) -> list[dict[str, Any]]:
    """Each stored file of the chosen records as a FHIR Binary whose `securityContext` points
    at the record it belongs to (FHIR R4's link from a Binary to its owning resource)."""
    entries: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    total = 0
    for rec in data.records:
        owner = resource_urn(
            rec.record.resource_type, rec.record.resource_id, rec.record.source_system
        )
        for attachment_id, filename, content_type, size in session.attachments(rec.id):
            total += size
            if total > MAX_ATTACHMENT_BYTES:
                raise ServiceError(
                    f"The attached files come to more than {MAX_ATTACHMENT_BYTES // 2**20} MiB, "
                    "too much for one share; leave attached files out or choose fewer records."
                )
            body = session.attachment_data(attachment_id)
            digest = hashlib.sha256(body).hexdigest()
            if (digest, owner) in seen:
                continue
            seen.add((digest, owner))
            binary_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{owner}|{digest}")
            entries.append(
                {
                    "fullUrl": f"urn:uuid:{binary_id}",
                    "resource": {
                        "resourceType": "Binary",
                        "id": str(binary_id),
                        "extension": [{"url": FILE_NAME_EXTENSION, "valueString": filename}],
                        "contentType": content_type,
                        "securityContext": {"reference": owner, "display": rec.record.title},
                        "data": base64.b64encode(body).decode("ascii"),
                    },
                }
            )
    return entries


def create_share(
    session: Session,
    output: Path,
    selection: ShareSelection,
    label: str,
    *,
    expires: str | None = DEFAULT_EXPIRY,
    passcode: str | None = None,
    hand_out_key: bool = True,
    attachments: bool = False,
    now: datetime | None = None,
) -> CreatedShare:
    """Seal the chosen records into `output` (a `.phrshare` file) and log it.

    With `attachments=True` the files stored with those records (PDFs, images, documents
    fetched from a portal) travel too, as FHIR Binary entries.

    With `hand_out_key=False` the key is kept in the vault (not shown) so the share can still
    be revoked; `reveal_key` shows it later and from then on revoking is impossible.
    """
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    until = parse_expiry(expires, now)
    if passcode is not None and len(passcode.strip()) < 4:
        raise ServiceError("A passcode needs at least 4 characters.")
    ids = _select_ids(session, selection)
    if not ids:
        raise ServiceError("No records match this choice; nothing was shared.")
    data = build_export_data(session, record_ids=ids)
    if not data.records:
        raise ServiceError("No records match this choice; nothing was shared.")
    files = _attachment_entries(session, data) if attachments else []
    bundle = collection_bundle(data, files)
    share_id = str(uuid.uuid4())
    key = new_share_key()
    with session.write_lock, transaction(session.vault.conn):
        signer = signing_key(session.vault.conn)
        thumb = fingerprint(signer)
        claims = {
            "jti": share_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(until.timestamp()),
            "recipient": label,
            "record_count": len(data.records),
            "patient_name": data.patient_name,
        }
        if files:
            claims["attachment_count"] = len(files)
        sealed = seal(signer, claims, bundle, key, passcode or None)
        if len(sealed) > DEFAULT_LIMITS.max_file_bytes:
            raise ServiceError(
                f"This share would be {len(sealed) / 2**20:.0f} MiB, more than the viewer opens "
                f"({DEFAULT_LIMITS.max_file_bytes // 2**20} MiB); choose fewer records or leave "
                "attached files out."
            )
        output = output if output.suffix else output.with_suffix(FILE_SUFFIX)
        output.parent.mkdir(parents=True, exist_ok=True)
        partial = output.with_name(output.name + ".partial")
        try:
            with storage_errors(f"write the share {output}", "No share was made.", output):
                partial.write_bytes(sealed)
                partial.replace(output)
        finally:
            if partial.exists():
                partial.unlink()
        session.vault.conn.execute(
            "INSERT INTO shares (id, label, created_at, expires_at, record_count, selection,"
            " fingerprint, file_name, passcode, key_handed_out, key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                share_id, label, now.isoformat(), until.isoformat(), len(data.records),
                orjson.dumps(
                    {**selection.describe(), **({"attachments": len(files)} if files else {})}
                ).decode(),
                thumb, output.name,
                int(bool(passcode)), int(hand_out_key),
                None if hand_out_key else format_key(key),
            ),
        )  # fmt: skip
        session.vault.audit.append(
            "share", share_id=share_id, records=len(data.records), expires=until.isoformat(),
            fingerprint=thumb, passcode=bool(passcode), key_handed_out=hand_out_key,
            attachments=len(files),
        )  # fmt: skip
    return CreatedShare(
        id=share_id,
        file=output,
        key=format_key(key) if hand_out_key else "",
        key_display=display_key(key) if hand_out_key else "",
        expires_at=until,
        fingerprint=thumb,
        fingerprint_display=display_fingerprint(thumb),
        record_count=len(data.records),
        passcode=bool(passcode),
        key_handed_out=hand_out_key,
        attachment_count=len(files),
        created_at=now,
        label=label,
        patient_name=data.patient_name,
    )


def write_handout(
    created: CreatedShare,
    output: Path,
    *,
    label: str | None = None,
    patient_name: str | None = None,
) -> Path:
    """Write the printable one-page hand-out for a share whose key is handed out (label and
    name default to the share's own)."""
    from phr_desktop.interop.pdf.share_handout import HandoutFacts, handout_pdf_bytes

    if not created.key_handed_out or not created.key:
        raise ServiceError("This share's key is held back; show the key first, then print.")
    facts = HandoutFacts(
        patient_name=created.patient_name if patient_name is None else patient_name,
        recipient=created.label if label is None else label,
        file_name=created.file.name,
        key=created.key,
        key_display=created.key_display,
        fingerprint_display=created.fingerprint_display,
        created_at=created.created_at,
        expires_at=created.expires_at,
        record_count=created.record_count,
        attachment_count=created.attachment_count,
        passcode=created.passcode,
    )
    output = output if output.suffix else output.with_suffix(".pdf")
    partial = output.with_name(output.name + ".partial")
    try:
        partial.write_bytes(handout_pdf_bytes(facts))
        partial.replace(output)
    except OSError as exc:
        raise ServiceError(f"Could not write {output}: {exc.strerror or exc}") from None
    finally:
        if partial.exists():
            partial.unlink()
    return output
