"""The clinician's side: a share opened into memory, read through the same queries as a profile,
refused whole when anything is wrong, and leaving nothing on disk."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pypdf
import pytest

from phr_desktop.interop.xml_safety import parse_xml
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.session import RecordFilter
from phr_desktop.services.share_opening import Limits
from phr_desktop.services.share_viewer import (
    ShareSession,
    open_share_session,
    share_needs_passcode,
)
from phr_desktop.services.sharing import CreatedShare
from phr_desktop.sharing.errors import ShareError, ShareExpired, ShareRejected, WrongShareKey
from tests.share_fixtures import (
    NOTE,
    SCAN,
    SCAN_NAME,
    WRITES,
    SharedProfile,
    empty_home,
    files_under,
    make_share,
    shared_profile,
)

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedProfile]:
    with shared_profile(tmp_path_factory.mktemp("patient")) as made:
        yield made


@pytest.fixture(scope="module")
def share(profile: SharedProfile, tmp_path_factory: pytest.TempPathFactory) -> CreatedShare:
    return make_share(profile, tmp_path_factory.mktemp("out") / "dr-lung.phrshare", now=NOW)


@pytest.fixture
def opened(share: CreatedShare) -> Iterator[ShareSession]:
    with open_share_session(share.file, share.key_display, now=NOW) as session:
        yield session


def test_the_shared_records_are_listed_as_the_banner_counts(
    opened: ShareSession, share: CreatedShare
) -> None:
    assert opened.view.record_count == share.record_count
    assert len(opened.record_ids()) == share.record_count  # the Patient is the banner's
    assert opened.profile_name == opened.view.patient_name != ""
    assert opened.view.signer_fingerprint == share.fingerprint
    assert opened.file_count == 1
    buckets = opened.timeline()
    assert sum(count for *_rest, count in buckets) == share.record_count
    patient = opened.record(opened.patient_record_id or 0)
    assert patient.record.kind.value == "patient" and patient.record.title == opened.profile_name
    # choosing the Patient kind explicitly still finds it
    assert opened.record_ids(RecordFilter(kinds=("patient",))) == [patient.id]


def test_the_record_screens_read_a_share_like_a_profile(opened: ShareSession) -> None:
    overview = opened.views.aatd_overview()
    assert overview.aat is not None and overview.fev1 is not None
    assert overview.genotype
    first = overview.aat.record_ids[-1]
    assert opened.views.trend(first).current_index is not None
    assert opened.views.related(first) is not None
    assert opened.raw_source(first).startswith(b"{")
    assert "Riverside Pulmonary (Epic)" in opened.source_systems()  # meta.source survives
    assert "aatd" in opened.tags()
    with pytest.raises(ServiceError, match="in this share"):
        opened.record(999_999)


def test_the_patients_notes_and_files_come_back_beside_their_records(
    opened: ShareSession, profile: SharedProfile
) -> None:
    noted = [i for i in opened.record_ids() if opened.notes(i)]
    assert len(noted) == 1
    assert opened.record(noted[0]).record.title == profile.noted_title
    assert [text for _id, text, _when in opened.notes(noted[0])] == [NOTE]
    assert all(r.record.title != NOTE for r in opened.records())  # not a record of its own
    assert [s.id for s in opened.search("breathless stairs")] == noted
    (upload,) = [i for i in opened.record_ids() if opened.attachments(i)]
    ((attachment_id, name, content_type, size),) = opened.attachments(upload)
    assert (name, content_type, size) == (SCAN_NAME, "application/pdf", len(SCAN))
    assert opened.attachment_data(attachment_id) == SCAN


def test_a_share_cannot_be_written_to(opened: ShareSession) -> None:
    for write in ("add_note", "import_paths", "entries", "connections", "backup", "vault"):
        assert not hasattr(opened, write)
    with pytest.raises(Exception, match="readonly"):
        opened.queries.add_note(opened.record_ids()[0], "a clinician's scribble")
    assert opened.corrections(opened.record_ids()[0]) == []


def test_the_key_opens_in_its_plain_and_grouped_forms(share: CreatedShare) -> None:
    for key in (share.key, share.key_display, f"  {share.key_display.replace(' ', '  ')}\n"):
        with open_share_session(share.file, key, now=NOW) as session:
            assert len(session.record_ids()) == share.record_count


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("wrong key", WrongShareKey),
        ("not a key", ShareError),
        ("changed byte", ShareError),
        ("expired", ShareExpired),
        ("not yet valid", ShareExpired),
        ("too large", ShareError),
        ("inflates too much", ShareRejected),
    ],
)
def test_refusals_are_whole(
    share: CreatedShare, tmp_path: Path, case: str, error: type[ShareError]
) -> None:
    path, key, now, limits = share.file, share.key, NOW, Limits()
    if case == "wrong key":
        key = base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
    elif case == "not a key":
        key = "hello"
    elif case == "changed byte":
        data = bytearray(share.file.read_bytes())
        middle = len(data) // 2
        data[middle] = ord("A") if data[middle] != ord("A") else ord("B")
        path = tmp_path / "changed.phrshare"
        path.write_bytes(bytes(data))
    elif case == "expired":
        now = share.expires_at + timedelta(seconds=1)
    elif case == "not yet valid":
        now = NOW - timedelta(days=1)
    elif case == "too large":
        limits = Limits(max_file_bytes=1000)
    else:
        limits = Limits(max_inflated_bytes=1000)
    with pytest.raises(error) as raised:
        open_share_session(path, key, now=now, limits=limits)
    assert str(raised.value)  # a message a clinician can read


def test_a_passcode_share_asks_for_its_passcode(profile: SharedProfile, tmp_path: Path) -> None:
    created = make_share(profile, tmp_path / "p.phrshare", passcode="lung-2024", attachments=False)
    assert share_needs_passcode(created.file)
    with pytest.raises(ShareError, match="passcode"):
        open_share_session(created.file, created.key)
    with pytest.raises(WrongShareKey):
        open_share_session(created.file, created.key, passcode="wrong one")
    with open_share_session(created.file, created.key, passcode=" lung-2024 ") as session:
        assert session.file_count == 0


def test_passcode_question_is_no_for_plain_and_broken_files(
    share: CreatedShare, tmp_path: Path
) -> None:
    assert not share_needs_passcode(share.file)
    (tmp_path / "junk.phrshare").write_bytes(b"\xff\x00 not a share")
    assert not share_needs_passcode(tmp_path / "junk.phrshare")
    assert not share_needs_passcode(tmp_path / "missing.phrshare")


def test_expiry_while_open_is_reported(opened: ShareSession, share: CreatedShare) -> None:
    assert not opened.is_expired(NOW)
    assert opened.is_expired(share.expires_at)


def test_viewing_writes_nothing_to_disk(
    share: CreatedShare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = empty_home(monkeypatch, tmp_path)
    before = sorted(share.file.parent.iterdir())
    with WRITES.watching() as writes, open_share_session(share.file, share.key) as session:
        for stored in session.records():
            session.raw_source(stored.id)
            session.views.related(stored.id)
            session.notes(stored.id)
        session.views.aatd_overview()
        session.search("fev1")
    assert writes == []
    assert files_under(watched) == []
    assert sorted(share.file.parent.iterdir()) == before


def test_save_as_pdf_and_ccda_writes_only_the_chosen_files(
    opened: ShareSession, tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    pdf = opened.export("pdf", tmp_path / "out" / "from-share.pdf")
    reader = pypdf.PdfReader(pdf)
    text = "".join(page.extract_text() for page in reader.pages[:2])
    assert opened.profile_name in text
    ccd = opened.export("ccda", tmp_path / "out" / "from-share.xml")
    root = parse_xml(ccd.read_bytes(), ccd.name).getroot()
    assert root.tag.endswith("ClinicalDocument")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "from-share.pdf",
        "from-share.xml",
    ]
    with pytest.raises(ServiceError, match="pdf or ccda"):
        opened.export("csv", tmp_path / "x.csv")


def test_number_literals_arrive_as_the_patient_stored_them(
    opened: ShareSession, profile: SharedProfile
) -> None:
    # The demo has values such as 2.90 and 7.0: a float round trip would show 2.9 and 7.
    stored = {
        (s.record.resource_type, s.record.resource_id): profile.session.raw_source(s.id)
        for s in profile.session.records()
    }
    shared = {
        (s.record.resource_type, s.record.resource_id): opened.raw_source(s.id)
        for s in opened.records()
    }
    lossy = [key for key, body in shared.items() if b": 2.90" in body or b":2.90" in body]
    assert lossy, "the demo's 2.90 should be among the shared records"
    for key, body in shared.items():
        assert body == stored[key], key
