"""The clinician's side of a share: decrypt and verify a `.phrshare` file in memory, show its
records and files read-only, and save the files only when asked."""

from __future__ import annotations

import base64
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from phr_desktop.domain.records import Record
from phr_desktop.interop.fhir.fhir_json import keep_number_literals
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.output_files import safe_file_name
from phr_desktop.services.plain_words import VIEW_ONLY_NOTE
from phr_desktop.services.terminology import normalise_resource
from phr_desktop.sharing.errors import ShareError
from phr_desktop.sharing.keys import display_fingerprint
from phr_desktop.sharing.open import DEFAULT_LIMITS, Limits, open_share_bytes
from phr_desktop.sharing.share_key import parse_share_key

__all__ = [
    "DEFAULT_LIMITS",
    "FILE_NAME_EXTENSION",
    "Limits",
    "ShareAttachment",
    "ShareError",
    "ShareView",
    "open_share",
    "save_share_attachments",
    "shown_text",
]

# FHIR R4 Binary has no file name; ours rides in an extension (an own URI, no registry needed).
FILE_NAME_EXTENSION = "urn:phr-desktop:fhir:attachment-file-name"
MAX_SHOWN_CLAIM = 200  # characters of a name or label in the banner

# Unicode categories that draw nothing but can rearrange or break what is drawn: controls
# (newlines that would forge banner lines), formats (bidi overrides that reorder text),
# line and paragraph separators, surrogates and private use.
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}
_JOINERS = {"\u200c", "\u200d"}  # zero-width (non-)joiners shape Persian, Indic and emoji


def shown_text(value: object, limit: int = MAX_SHOWN_CLAIM) -> str:
    """A signed claim made safe to show: every control or format character becomes a space
    (joiners excepted), runs of spaces shrink to one, and it is cut to `limit` characters."""
    text = "" if value is None else str(value)
    cleaned = "".join(
        " " if unicodedata.category(ch) in _HIDDEN_CATEGORIES and ch not in _JOINERS else ch
        for ch in text[: limit * 4]
    )
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


@dataclass(frozen=True)
class ShareAttachment:
    """A file that travelled in a share, with the record it belongs to (by title and urn)."""

    filename: str
    content_type: str
    data: bytes
    owner_reference: str
    owner_title: str

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class ShareView:
    """A verified share, read-only, for display; `records` are normalised like our own, on
    first use (the app's viewer stores the bundle instead, which normalises it there)."""

    signer_fingerprint: str
    signer_fingerprint_display: str
    patient_name: str
    recipient: str
    issued_at: datetime
    not_before: datetime
    expires_at: datetime
    record_count: int
    share_id: str | None
    bundle: dict[str, Any]
    attachments: list[ShareAttachment] = field(default_factory=list)
    # True when the key named this signer and it matched (every key made since the key
    # format carries the signer); False for a key of the old format, which cannot tell.
    signer_confirmed: bool = False
    # False when the patient chose "view only": the viewer offers no file to save.
    allow_save: bool = True
    recipient_type: str = "provider"

    @cached_property
    def records(self) -> list[Record]:
        found = (normalise_resource(resource) for resource in _resources(self.bundle))
        return [record for record in found if record is not None]

    def records_newest_first(self) -> list[Record]:
        """As `phr records` lists them: newest first (by the date's text, which sorts by
        time at every precision), undated records last."""
        dated = [r for r in self.records if r.effective]
        undated = [r for r in self.records if not r.effective]
        dated.sort(key=lambda r: r.effective.text[:19] if r.effective else "", reverse=True)
        return dated + undated

    @property
    def signer_note(self) -> str:
        if self.signer_confirmed:
            return "the key the patient gave you names this signer: checked."
        return (
            "this share's key is of the old kind, which does not name its signer: compare the "
            "fingerprint with the patient's printed hand-out."
        )

    def banner(self) -> str:
        return (
            f"Shared by {self.patient_name or '(no name)'} for {self.recipient or '(no label)'}"
            f" - signed by key {self.signer_fingerprint_display}"
            f" on {self.issued_at:%Y-%m-%d %H:%M} UTC, valid until "
            f"{self.expires_at:%Y-%m-%d %H:%M} UTC - {self.record_count} records.\n"
            f"Signer: {self.signer_note}" + ("" if self.allow_save else f"\n{VIEW_ONLY_NOTE}")
        )


def _instant(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def open_share(
    path: Path,
    key: str,
    *,
    passcode: str | None = None,
    now: datetime | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ShareView:
    """Decrypt and verify a `.phrshare` file in memory; raise ShareError, showing nothing."""
    share_key = parse_share_key(key)
    try:
        size = path.stat().st_size
        if size > limits.max_file_bytes:
            raise ShareError(
                f"The file is larger than the {limits.max_file_bytes:,}-byte cap; refused."
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ShareError(f"Could not read {path}: {exc.strerror or exc}") from None
    clock = int((now or datetime.now(UTC)).timestamp())
    opened = open_share_bytes(data, share_key, now=clock, passcode=passcode, limits=limits)
    claims = opened.claims
    # Number literals as the patient's vault stored them ("1.50" stays "1.50"): the content
    # is read again only where the viewer's own parse (orjson) would have changed one.
    bundle = keep_number_literals(opened.payload, opened.bundle, path.name, key="bundle")
    binaries = (_attachment_of(resource) for resource in _resources(bundle, binary=True))
    return ShareView(
        signer_fingerprint=opened.fingerprint,
        signer_fingerprint_display=display_fingerprint(opened.fingerprint),
        patient_name=shown_text(claims.get("patient_name")),
        recipient=shown_text(claims.get("recipient")),
        issued_at=_instant(claims["iat"]),
        not_before=_instant(claims["nbf"]),
        expires_at=_instant(claims["exp"]),
        record_count=int(claims["record_count"]),
        share_id=shown_text(claims["jti"], 100) if claims.get("jti") else None,
        bundle=bundle,
        attachments=[attachment for attachment in binaries if attachment is not None],
        signer_confirmed=opened.signer_bound,
        # Shares made before view-only existed carry no claim: they allowed saving.
        allow_save=claims.get("allow_save") is not False,
        recipient_type=shown_text(claims.get("recipient_type") or "provider", 40),
    )


def _resources(bundle: dict[str, Any], *, binary: bool = False) -> Iterator[dict[str, Any]]:
    """The bundle's resources: the records (`binary=False`) or the attached files."""
    for entry in bundle.get("entry") or []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and (resource.get("resourceType") == "Binary") == binary:
            yield resource


def save_share_attachments(view: ShareView, folder: Path) -> list[Path]:
    """Save a share's files into `folder` (the clinician asked to); never overwrites a file.
    A view-only share's files are not saved."""
    if not view.allow_save:
        raise ServiceError(VIEW_ONLY_NOTE)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        saved: list[Path] = []
        for attachment in view.attachments:
            name = Path(attachment.filename).name or "attachment"
            target, n = folder / name, 1
            while target.exists():
                n += 1
                target = folder / f"{Path(name).stem} ({n}){Path(name).suffix}"
            # never over an existing file (O_EXCL), readable by the clinician only
            handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(handle, "wb") as out:
                out.write(attachment.data)
            saved.append(target)
    except OSError as exc:
        raise ServiceError(f"Could not save the files in {folder}: {exc.strerror or exc}") from None
    return saved


def _attachment_of(binary: dict[str, Any]) -> ShareAttachment | None:
    """A Binary entry as a file; one that is not valid base64 is left out (it was signed, so
    this would be the patient's app's fault, not tampering)."""
    try:
        data = base64.b64decode(str(binary.get("data") or ""), validate=True)
    except ValueError:
        return None
    names = [
        e.get("valueString")
        for e in binary.get("extension") or []
        if isinstance(e, dict) and e.get("url") == FILE_NAME_EXTENSION
    ]
    owner = binary.get("securityContext")
    owner = owner if isinstance(owner, dict) else {}
    return ShareAttachment(
        filename=safe_file_name(names[0] if names else None),
        content_type=shown_text(binary.get("contentType") or "application/octet-stream", 100),
        data=data,
        owner_reference=str(owner.get("reference") or ""),
        owner_title=shown_text(owner.get("display")),
    )
