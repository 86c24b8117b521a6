"""The printable one-page hand-out of a share: the key, the fingerprint and how to open it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from phr_desktop.services.errors import ServiceError, StorageFull
from phr_desktop.services.output_files import write_output_bytes
from phr_desktop.services.share_created import CreatedShare


def with_suffix(path: Path, suffix: str) -> Path:
    """`name` becomes `name.phrshare` (or `.pdf`); a folder stays as it is, to be refused."""
    return path if path.suffix or path.is_dir() else path.with_suffix(suffix)


@contextmanager
def about_the_handout() -> Iterator[None]:
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
    return write_output_bytes(with_suffix(output, ".pdf"), handout_pdf_bytes(facts))
