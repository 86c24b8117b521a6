"""Making a share: seal the chosen records for one clinician, log it, print the hand-out.

The choice of records and the expiry are in share_selection.py, the hand-out in
share_handout.py, the history of shares in share_history.py; opening one (the clinician's side,
which needs only the file and the key) is in share_opening.py.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from phr_desktop.interop.export_data import ExportData
from phr_desktop.interop.fhir.export import collection_bundle, resource_urn
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.exporting import build_export_data
from phr_desktop.services.output_files import check_output_path, write_output_bytes
from phr_desktop.services.sensitivity import sensitivity_counts
from phr_desktop.services.share_created import CreatedShare
from phr_desktop.services.share_handout import about_the_handout, with_suffix, write_handout
from phr_desktop.services.share_opening import FILE_NAME_EXTENSION
from phr_desktop.services.share_selection import (
    DEFAULT_EXPIRY,
    PRESETS,
    ShareSelection,
    count_selection,
    count_selection_by_sensitivity,
    parse_expiry,
    select_ids,
)
from phr_desktop.services.shared_with import RECIPIENT_TYPES, record_shared_records
from phr_desktop.sharing.bundle import FILE_SUFFIX, seal
from phr_desktop.sharing.errors import ShareError
from phr_desktop.sharing.html_share import HTML_SUFFIX, html_share_bytes
from phr_desktop.sharing.keys import display_fingerprint, fingerprint, signing_key
from phr_desktop.sharing.open import DEFAULT_LIMITS
from phr_desktop.sharing.share_key import new_share_key
from phr_desktop.vault.database import transaction

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

# Attached files travel base64-encoded twice over (JSON, then JWS/JWE), so 20 MiB of files make
# a file of about 36 MiB: under the viewer's 50 MB cap with room for the records themselves.
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


# --- creating -------------------------------------------------------------------------------


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
    output = check_output_path(with_suffix(output, FILE_SUFFIX))
    html_path = _html_beside(output) if html else None
    if handout is not None:
        if not hand_out_key:
            raise ServiceError(
                "A hand-out holds the key, so it cannot be printed while the key is held back; "
                "print it when you show the key."
            )
        with about_the_handout():
            handout = check_output_path(with_suffix(handout, ".pdf"))
        if handout.absolute() == output.absolute():
            raise ServiceError("The hand-out and the share file need different names.")
        if html_path is not None and handout.absolute() == html_path.absolute():
            raise ServiceError("The hand-out and the browser file need different names.")
    ids = select_ids(session, selection, include_restricted)
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
                with about_the_handout():
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
