"""Documents from a real SMART server: a Binary that answers only the right Accept (Oracle
Health) still arrives, and an attachment past the size cap is stopped while it is read, so a
1 GiB file never sits in memory."""

from __future__ import annotations

import base64
import hashlib
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from tests.conftest import PASSPHRASE
from tests.e2e.smart_login import connect_through_login, obtain_tokens

CLIENT_ID = "phr-desktop-test"
GIB = 1024**3
CAP = 4 * 1024 * 1024  # the attachment cap for these tests (20 MB in the app)


@pytest.fixture
def profile(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _ = profiles.create("documents", PASSPHRASE)
    with session:
        yield session


@pytest.fixture
def small_seed(tmp_path: Path) -> Path:
    """One patient and nothing else: the tests add the documents they need."""
    seed = tmp_path / "seed.json"
    patient = {
        "resourceType": "Patient",
        "id": "doc-patient",
        "name": [{"family": "Reader", "given": ["Ada"]}],
        "birthDate": "1970-01-01",
    }
    seed.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                "entry": [{"resource": patient}]}))  # fmt: skip
    return seed


def _document(server: Any, doc_id: str, attachment: dict[str, Any]) -> None:
    server.put_resource(
        {
            "resourceType": "DocumentReference",
            "id": doc_id,
            "status": "current",
            "subject": {"reference": f"Patient/{server.patient}"},
            "type": {"text": f"Document {doc_id}"},
            "date": "2024-01-16T10:00:00Z",
            "content": [{"attachment": attachment}],
        }
    )


def _binary(server: Any, binary_id: str, content_type: str, data: bytes) -> None:
    server.put_resource(
        {
            "resourceType": "Binary",
            "id": binary_id,
            "contentType": content_type,
            "data": base64.b64encode(data).decode(),
        }
    )


def _stored(session: Session, doc_id: str) -> list[tuple[bytes, str]]:
    rows = session.vault.conn.execute(
        "SELECT a.data, a.content_type FROM attachments a JOIN raw_resources w ON w.id = a.raw_id "
        "WHERE w.resource_id = ?",
        (doc_id,),
    )
    return [(bytes(data), content_type) for data, content_type in rows]


def test_the_strict_server_answers_only_the_own_type_or_fhir_json(
    start_smart_server, small_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(small_seed, binary_accept="strict")
    _binary(server, "pdf", "application/pdf", b"%PDF-1.7 report")
    token = obtain_tokens(server.issuer, server.base)["access_token"]
    url = f"{server.base}/Binary/pdf"

    def ask(accept: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": accept}
        return httpx.get(url, headers=headers, timeout=10)

    assert ask("*/*").status_code == 406
    assert ask("text/plain").status_code == 406
    raw = ask("application/pdf")
    assert (raw.status_code, raw.content) == (200, b"%PDF-1.7 report")
    wrapped = ask("application/fhir+json")
    assert wrapped.status_code == 200 and wrapped.json()["resourceType"] == "Binary"


def test_documents_behind_a_strict_binary_arrive_as_raw_bytes_or_decoded_fhir_json(
    profile: Session, start_smart_server, small_seed: Path
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(small_seed, binary_accept="strict")
    _binary(server, "letter", "application/pdf", b"%PDF-1.7 discharge letter")
    _binary(server, "note", "text/plain", b"Progress note: FEV1 1.9 L")
    _binary(server, "rtf", "text/plain", b"Stored as plain text")
    # Asked by its own type (raw bytes), absolute on the FHIR base as Epic and Oracle give it.
    _document(server, "by-type", {"contentType": "application/pdf",
                                  "url": f"{server.base}/Binary/letter"})  # fmt: skip
    # No type given: asked as FHIR JSON, `data` decoded.
    _document(server, "untyped", {"url": "Binary/note"})
    # A type the Binary does not have: refused (406), then asked as FHIR JSON.
    _document(server, "mistyped", {"contentType": "text/rtf", "url": "Binary/rtf"})
    connect_through_login(profile, server)
    server.reset_stats()
    report = profile.connections.sync()["Local SMART"]
    assert (report.attachments, report.attachments_skipped) == (3, 0)
    assert _stored(profile, "by-type") == [(b"%PDF-1.7 discharge letter", "application/pdf")]
    assert _stored(profile, "untyped") == [(b"Progress note: FEV1 1.9 L", "text/plain")]
    assert _stored(profile, "mistyped") == [(b"Stored as plain text", "text/plain")]
    binary_reads = [r for r in server.stats()["recent"] if r["path"].startswith("/fhir/Binary/")]
    assert [r["status"] for r in binary_reads if r["path"].endswith("/letter")] == [200]
    assert [r["status"] for r in binary_reads if r["path"].endswith("/rtf")] == [406, 200]


@pytest.mark.parametrize("declare_length", [False, True], ids=["chunked", "content-length"])
def test_a_1_gib_attachment_is_stopped_at_the_cap_while_reading(
    profile: Session,
    start_smart_server,
    small_seed: Path,
    monkeypatch: pytest.MonkeyPatch,
    declare_length: bool,
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("phr_desktop.smart.attachment_fetch.MAX_ATTACHMENT_BYTES", CAP)
    server = start_smart_server(small_seed)
    server.stream_binary("huge", GIB, "application/pdf", declare_length=declare_length)
    server.stream_binary("fits", CAP - 1, "application/pdf")
    _document(server, "huge-scan", {"contentType": "application/pdf", "url": "Binary/huge"})
    _document(server, "fitting-scan", {"contentType": "application/pdf", "url": "Binary/fits"})
    connect_through_login(profile, server)

    tracemalloc.start()
    try:
        report = profile.connections.sync()["Local SMART"]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (report.attachments, report.attachments_skipped) == (1, 1)
    assert _stored(profile, "huge-scan") == []
    ((data, _type),) = _stored(profile, "fitting-scan")
    assert hashlib.sha256(data).digest() == hashlib.sha256(b"A" * (CAP - 1)).digest()
    # Held at most about the cap (the fitting file, its copy into the vault), never the 1 GiB.
    assert peak < 3 * CAP + 4 * 1024 * 1024, peak
    sent = server.streamed_binary("huge")["sent"]
    assert not server.streamed_binary("huge")["finished"]
    assert sent < 64 * 1024 * 1024  # the client hung up; socket buffers hold the rest
