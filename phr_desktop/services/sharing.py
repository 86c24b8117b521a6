"""Making a share: choose records, seal them for one clinician, log it, print the hand-out.

The history of shares is in share_history.py; opening one (the clinician's side, which needs
only the file and the key) is in share_opening.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from phr_desktop.interop.export_data import ExportData
from phr_desktop.interop.fhir.export import collection_bundle, resource_urn
from phr_desktop.services.errors import ServiceError, StorageFull
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.output_files import check_output_path, write_output_bytes
from phr_desktop.services.sensitivity import SensitivityCounts, sensitivity_counts
from phr_desktop.services.share_opening import FILE_NAME_EXTENSION
from phr_desktop.services.shared_with import (
    RECIPIENT_TYPES,
    record_shared_records,
    restricted_ids,
)
from phr_desktop.sharing.bundle import FILE_SUFFIX, seal
from phr_desktop.sharing.errors import ShareError
from phr_desktop.sharing.html_share import HTML_SUFFIX, html_share_bytes
from phr_desktop.sharing.keys import display_fingerprint, fingerprint, signing_key
from phr_desktop.sharing.open import DEFAULT_LIMITS
from phr_desktop.sharing.share_key import new_share_key
from phr_desktop.vault.database import transaction
from phr_desktop.vault.queries import RecordFilter

if TYPE_CHECKING:
    from phr_desktop.services.session import Session

__all__ = [
    "PRESETS",
    "CreatedShare",
    "ShareError",
    "ShareSelection",
    "count_selection",
    "count_selection_by_sensitivity",
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
    key: str  # 10 groups of 5 characters (share_key.py): what the clinician types or scans
    key_display: str  # the same, as printed
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
    # The JWE content key as a JWK, for standard JOSE tools; None with a passcode (the content
    # key then also depends on it) or while the key is held back.
    key_jwk: dict[str, str] | None = None
    handout: Path | None = None
    html: Path | None = None  # the same share as one HTML file that opens in a browser
    recipient_type: str = "provider"
    allow_save: bool = True  # whether the clinician's viewer offers to save attached files
    sensitivity: SensitivityCounts = field(default_factory=SensitivityCounts)


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


def _select_ids(
    session: Session, selection: ShareSelection, include_restricted: bool = False
) -> list[int]:
    """The chosen ids; restricted records only when explicitly included (hand-picked ones
    too: picking a record while it was revealed does not include it by accident)."""
    ids: set[int] = set(selection.record_ids)
    for f in selection.any_of:
        ids.update(session.record_ids(replace(f, include_restricted=include_restricted)))
    if selection.has_filter or not (selection.record_ids or selection.any_of):
        ids.update(
            session.record_ids(
                RecordFilter(
                    kinds=selection.kinds,
                    since=selection.since,
                    until=selection.until,
                    tag=selection.tag,
                    include_restricted=include_restricted,
                )
            )
        )
    if not include_restricted and selection.record_ids:
        ids.difference_update(restricted_ids(session, selection.record_ids))
    return sorted(ids)


def count_selection(
    session: Session, selection: ShareSelection, include_restricted: bool = False
) -> int:
    """How many records `create_share` would seal for this choice (the patient's own details
    travel in every share and are not counted, as in `CreatedShare.record_count`)."""
    ids = set(_select_ids(session, selection, include_restricted))
    if not ids:
        return 0
    return len(ids.difference(session.record_ids(RecordFilter(kinds=("patient",)))))


def count_selection_by_sensitivity(
    session: Session, selection: ShareSelection
) -> SensitivityCounts:
    """What a share of this choice would hold at each level, restricted ones included: the
    app's "include N restricted records" checkbox and the sensitive count come from here."""
    ids = _select_ids(session, selection, include_restricted=True)
    patient = set(session.record_ids(RecordFilter(kinds=("patient",), include_restricted=True)))
    return sensitivity_counts(session, [i for i in ids if i not in patient])


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
    handout: Path | None = None,
    html: bool = False,
    now: datetime | None = None,
    recipient_type: str = "provider",
    allow_save: bool = True,
    include_restricted: bool = False,
) -> CreatedShare:
    """Seal the chosen records into `output` (a `.phrshare` file, 0600) and log it.

    With `attachments=True` the files stored with those records (PDFs, images, documents
    fetched from a portal) travel too, as FHIR Binary entries.

    With `hand_out_key=False` the key is kept in the vault (not shown) so the share can still
    be revoked; `reveal_key` shows it later and from then on revoking is impossible.

    With `handout`, the printable hand-out is written too, before the share is recorded: if
    it cannot be written, neither the share file nor any history entry is left behind, so no
    share is ever marked "key given" whose key nobody saw.

    With `html=True`, `NAME.html` is written beside `NAME.phrshare`: the same JWE inside a
    viewer that opens in any current browser (html_share.py). A passcode is then stretched
    with PBKDF2 instead of Argon2id, because browsers offer only the former (bundle.py).

    Restricted records are left out unless `include_restricted`. `recipient_type` (provider,
    family member, researcher) and `allow_save` (False: view only) are kept in the history
    and sealed into the share, whose viewer then offers no file to save.
    """
    if recipient_type not in RECIPIENT_TYPES:
        raise ServiceError(
            f"Unknown recipient type {recipient_type!r}; choose one of "
            f"{', '.join(RECIPIENT_TYPES)}."
        )
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    until = parse_expiry(expires, now)
    if passcode is not None and len(passcode.strip()) < 4:
        raise ServiceError("A passcode needs at least 4 characters.")
    output = check_output_path(_with_suffix(output, FILE_SUFFIX))
    html_path = _html_beside(output) if html else None
    if handout is not None:
        if not hand_out_key:
            raise ServiceError(
                "A hand-out holds the key, so it cannot be printed while the key is held back; "
                "print it when you show the key."
            )
        with _about_the_handout():
            handout = check_output_path(_with_suffix(handout, ".pdf"))
        if handout.absolute() == output.absolute():
            raise ServiceError("The hand-out and the share file need different names.")
        if html_path is not None and handout.absolute() == html_path.absolute():
            raise ServiceError("The hand-out and the browser file need different names.")
    ids = _select_ids(session, selection, include_restricted)
    if not ids:
        raise ServiceError("No records match this choice; nothing was shared.")
    data = build_export_data(session, record_ids=ids)
    if not data.records:
        raise ServiceError("No records match this choice; nothing was shared.")
    files = _attachment_entries(session, data) if attachments else []
    bundle = collection_bundle(data, files)
    share_id = str(uuid.uuid4())
    written: list[Path] = []
    with session.write_lock, transaction(session.vault.conn):
        signer = signing_key(session.vault.conn)
        thumb = fingerprint(signer)
        key = new_share_key(thumb)
        claims = {
            "jti": share_id,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(until.timestamp()),
            "recipient": label,
            "record_count": len(data.records),
            "patient_name": data.patient_name,
            "recipient_type": recipient_type,
            "allow_save": allow_save,
        }
        if files:
            claims["attachment_count"] = len(files)
        sealed = seal(
            signer,
            claims,
            bundle,
            key.content_key(),
            passcode or None,
            browser=html_path is not None,
        )
        if len(sealed) > DEFAULT_LIMITS.max_file_bytes:
            raise ServiceError(
                f"This share would be {len(sealed) / 2**20:.0f} MiB, more than the viewer opens "
                f"({DEFAULT_LIMITS.max_file_bytes // 2**20} MiB); choose fewer records or leave "
                "attached files out."
            )
        page = html_share_bytes(sealed) if html_path is not None else b""
        created = CreatedShare(
            id=share_id,
            file=output,
            key=key.text() if hand_out_key else "",
            key_display=key.text() if hand_out_key else "",
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
            key_jwk=key.jwk() if hand_out_key and not passcode else None,
            html=html_path,
            recipient_type=recipient_type,
            allow_save=allow_save,
            sensitivity=sensitivity_counts(session, [r.id for r in data.records]),
        )
        try:
            written.append(write_output_bytes(output, sealed))
            if html_path is not None:
                written.append(write_output_bytes(html_path, page))
            if handout is not None:
                with _about_the_handout():
                    written.append(write_handout(created, handout))
            session.vault.conn.execute(
                "INSERT INTO shares (id, label, created_at, expires_at, record_count, selection,"
                " fingerprint, file_name, passcode, key_handed_out, key, recipient_type,"
                " allow_save) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    share_id, label, now.isoformat(), until.isoformat(), len(data.records),
                    orjson.dumps(
                        {**selection.describe(), **({"attachments": len(files)} if files else {})}
                    ).decode(),
                    thumb, output.name,
                    int(bool(passcode)), int(hand_out_key),
                    None if hand_out_key else key.text(), recipient_type, int(allow_save),
                ),
            )  # fmt: skip
            record_shared_records(session, share_id, [r.id for r in data.records])
            session.vault.audit.append(
                "share", share_id=share_id, records=len(data.records), expires=until.isoformat(),
                fingerprint=thumb, passcode=bool(passcode), key_handed_out=hand_out_key,
                attachments=len(files), recipient_type=recipient_type, allow_save=allow_save,
                restricted=created.sensitivity.restricted,
            )  # fmt: skip
        except BaseException:
            for path in written:  # the transaction rolls back; no file may outlive it
                path.unlink(missing_ok=True)
            raise
    return replace(created, handout=handout)


def _html_beside(output: Path) -> Path:
    """`NAME.html` next to `NAME.phrshare`, checked like any output before anything is made."""
    html_path = output.with_suffix(HTML_SUFFIX)
    if html_path == output:
        raise ServiceError("The share file must not itself end in .html; use .phrshare.")
    return check_output_path(html_path)


def _with_suffix(path: Path, suffix: str) -> Path:
    """`name` becomes `name.phrshare` (or `.pdf`); a folder stays as it is, to be refused."""
    return path if path.suffix or path.is_dir() else path.with_suffix(suffix)


@contextmanager
def _about_the_handout() -> Iterator[None]:
    """A hand-out error says it is about the hand-out, and that no share was made."""
    try:
        yield
    except (ServiceError, StorageFull) as exc:
        raise type(exc)(f"The hand-out: {exc} Nothing was shared.") from None


def write_handout(
    created: CreatedShare,
    output: Path,
    *,
    label: str | None = None,
    patient_name: str | None = None,
) -> Path:
    """Write the printable one-page hand-out (0600: it holds the key) for a share whose key
    is handed out (label and name default to the share's own)."""
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
        html_file_name=created.html.name if created.html else None,
    )
    return write_output_bytes(_with_suffix(output, ".pdf"), handout_pdf_bytes(facts))
