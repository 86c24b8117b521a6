"""Shares with attached files, and the printable hand-out that goes with a share."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pypdf
import pypdfium2
import pytest
import zxingcpp

from phr_desktop.services import sharing
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.services.share_history import list_shares
from phr_desktop.services.share_opening import open_share
from phr_desktop.services.sharing import ShareSelection, create_share, write_handout
from phr_desktop.vault.keys import KdfParams
from phr_desktop.vault.queries import RecordFilter
from tests.conftest import DEMO_DIR, PASSPHRASE

NOW = datetime.now(UTC).replace(microsecond=0)
# A real (tiny) PDF and PNG, so content types and bytes are what a patient would upload.
SCAN = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PHOTO = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2218bc80000000049454e44ae426082"
)


@pytest.fixture(scope="module")
def session_with_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("phr_desktop.vault.vault.calibrate_kdf", KdfParams.minimum)
        profiles = Profiles(tmp_path_factory.mktemp("share-files"))
        session, _recovery = profiles.create("pat", PASSPHRASE)
        with session:
            session.import_paths(sorted(DEMO_DIR.glob("*.json")))
            folder = tmp_path_factory.mktemp("uploads")
            (folder / "spirometry-2024.pdf").write_bytes(SCAN)
            (folder / "inhaler.png").write_bytes(PHOTO)
            session.entries.upload_document(
                folder / "spirometry-2024.pdf", "Spirometry", "2024-03-02"
            )
            session.entries.upload_document(folder / "inhaler.png", "My inhaler", "2024-04-01")
            yield session


def _uploads(session: Session) -> tuple[int, ...]:
    ids = session.record_ids(RecordFilter(kinds=("document",)))
    return tuple(i for i in ids if session.attachments(i))


def test_attached_files_travel_and_open_byte_for_byte(
    session_with_files: Session, tmp_path: Path
) -> None:
    ids = _uploads(session_with_files)
    assert len(ids) == 2
    created = create_share(
        session_with_files,
        tmp_path / "with-files",
        ShareSelection(record_ids=ids),
        "Dr Lung",
        attachments=True,
        now=NOW,
    )
    assert created.attachment_count == 2
    view = open_share(created.file, created.key)
    files = {a.filename: a for a in view.attachments}
    assert files["spirometry-2024.pdf"].data == SCAN
    assert files["spirometry-2024.pdf"].content_type == "application/pdf"
    assert files["inhaler.png"].data == PHOTO
    # Each file names the record it belongs to, and that record is in the share.
    titles = {r.title for r in view.records}
    assert {a.owner_title for a in view.attachments} <= titles
    assert list_shares(session_with_files)[0].selection["attachments"] == 2


def test_without_the_option_no_files_travel(session_with_files: Session, tmp_path: Path) -> None:
    created = create_share(
        session_with_files,
        tmp_path / "no-files.phrshare",
        ShareSelection(record_ids=_uploads(session_with_files)),
        "Dr Lung",
        now=NOW,
    )
    view = open_share(created.file, created.key)
    assert created.attachment_count == 0 and view.attachments == []
    assert sum(r.resource_type == "DocumentReference" for r in view.records) == 2


def test_too_many_attached_bytes_is_refused_before_writing(
    session_with_files: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sharing, "MAX_ATTACHMENT_BYTES", len(SCAN) + 10)
    out = tmp_path / "big.phrshare"
    before = len(list_shares(session_with_files))
    with pytest.raises(ServiceError, match="attached files"):
        create_share(
            session_with_files,
            out,
            ShareSelection(record_ids=_uploads(session_with_files)),
            "Dr Lung",
            attachments=True,
        )
    assert not out.exists()
    assert len(list_shares(session_with_files)) == before


def test_handout_is_one_page_with_key_qr_and_fingerprint(
    session_with_files: Session, tmp_path: Path
) -> None:
    created = create_share(
        session_with_files,
        tmp_path / "for-dr-lung.phrshare",
        ShareSelection(kinds=("lab_result",)),
        "Dr Lung, pulmonology",
        passcode="tulip-42",
        now=NOW,
    )
    pdf = write_handout(
        created, tmp_path / "handout", label="Dr Lung, pulmonology", patient_name="Jane Doe"
    )
    assert pdf.suffix == ".pdf"
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    for expected in (
        "Jane Doe",
        "Dr Lung, pulmonology",
        "for-dr-lung.phrshare",
        created.fingerprint_display,
        f"{created.record_count} records",
        "passcode",
    ):
        assert expected in text, expected
    printed = re.search(r"(?:[0-9A-Z]{5}[- ]){9}[0-9A-Z]{5}", text)
    assert printed and printed.group().replace(" ", "-") == created.key_display
    # The key as typed from the sheet (line breaks and all) opens the file.
    assert open_share(created.file, printed.group(), passcode="tulip-42").record_count
    assert "tulip-42" not in text  # the passcode travels by another way
    image = pypdfium2.PdfDocument(str(pdf))[0].render(scale=200 / 72).to_pil()
    codes = [c.text for c in zxingcpp.read_barcodes(image)]
    assert codes == [created.key]
    # The key read from the sheet opens the file.
    assert open_share(created.file, codes[0], passcode="tulip-42").record_count == (
        created.record_count
    )


def test_handout_needs_a_handed_out_key(session_with_files: Session, tmp_path: Path) -> None:
    held = create_share(
        session_with_files,
        tmp_path / "held.phrshare",
        ShareSelection(kinds=("lab_result",)),
        "Dr Lung",
        hand_out_key=False,
    )
    with pytest.raises(ServiceError, match="held back"):
        write_handout(held, tmp_path / "handout.pdf", label="Dr Lung", patient_name="Jane")
    assert not (tmp_path / "handout.pdf").exists()
