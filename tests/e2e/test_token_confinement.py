"""The bearer token stays with its FHIR server: data on the real SMART server that points
elsewhere (attachment URLs, a Bundle's next link) makes no request leave for there, checked by
a canary listener on another loopback port that must receive nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from tests.conftest import PASSPHRASE
from tests.e2e.smart_login import connect_through_login

CLIENT_ID = "phr-desktop-test"


@dataclass
class Canary:
    """A listener that records every request it gets (method, path, Authorization)."""

    port: int
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def canary() -> Iterator[Canary]:
    server: ThreadingHTTPServer | None = None
    found = Canary(port=0)

    class Record(BaseHTTPRequestHandler):
        def _record(self) -> None:
            found.requests.append((self.command, self.path, self.headers.get("Authorization")))
            self.send_response(200)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        do_GET = do_POST = do_HEAD = _record

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Record)
    found.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def profile(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _ = profiles.create("confined", PASSPHRASE)
    with session:
        yield session


def _document(server: Any, doc_id: str, *attachments: dict[str, Any]) -> dict[str, Any]:
    return server.put_resource(
        {
            "resourceType": "DocumentReference",
            "id": doc_id,
            "status": "current",
            "subject": {"reference": f"Patient/{server.patient}"},
            "type": {"text": f"Document {doc_id}"},
            "date": "2024-01-16T10:00:00Z",
            "content": [{"attachment": a} for a in attachments],
        }
    )


def _record_id(session: Session, resource_id: str) -> int:
    row = session.vault.conn.execute(
        "SELECT r.id FROM records r WHERE r.resource_id = ?", (resource_id,)
    ).fetchone()
    assert row, resource_id
    return int(row[0])


def _paths(server: Any) -> list[str]:
    return [r["path"] for r in server.stats()["recent"]]


def test_attachments_and_next_links_elsewhere_get_no_request_and_no_token(
    profile: Session, start_smart_server, synthea_seed: Path, canary: Canary
) -> None:  # type: ignore[no-untyped-def]
    server = start_smart_server(synthea_seed)
    elsewhere = [
        canary.url("/fhir/Binary/leak"),  # another port on the same machine
        f"http://127.0.0.1:{server.port}@127.0.0.1:{canary.port}/fhir/Binary/userinfo",
        f"{server.origin}/outside/Binary/same-host",  # the right host, outside the base path
        f"{server.base}/../outside/Binary/dot-dot",
        f"{server.base}evil/Binary/prefix",
    ]
    _document(
        server, "elsewhere", *({"contentType": "application/pdf", "url": u} for u in elsewhere)
    )
    server.put_resource(
        {
            "resourceType": "DiagnosticReport",
            "id": "report-elsewhere",
            "status": "final",
            "subject": {"reference": f"Patient/{server.patient}"},
            "code": {"text": "CT chest"},
            "effectiveDateTime": "2024-01-16",
            "presentedForm": [{"contentType": "application/pdf", "url": canary.url("/r.pdf")}],
        }
    )
    server.point_next_link("Condition", canary.url("/fhir/Condition?page=2"))
    server.point_next_link("Immunization", f"{server.origin}/outside/Immunization?page=2")
    connect_through_login(profile, server)
    server.reset_stats()

    report = profile.connections.sync()["Local SMART"]

    assert canary.requests == []
    assert not any(p.startswith(("/outside", "/fhirevil")) for p in _paths(server))
    assert report.attachments_external == len(elsewhere) + 1
    assert profile.vault.conn.execute("SELECT count(*) FROM attachments").fetchone()[0] == 0
    outcomes = {o.resource_type: o for o in report.outcomes}
    for rtype in ("Condition", "Immunization"):
        assert outcomes[rtype].status == "failed", outcomes[rtype]
        assert "not under this connection's FHIR address" in outcomes[rtype].detail
        assert "sign-in was not sent there" in outcomes[rtype].detail
        assert outcomes[rtype].fetched > 0  # the page before the bad link is kept
    assert canary.url("/fhir/Condition") in outcomes["Condition"].detail
    assert outcomes["Observation"].status == outcomes["DocumentReference"].status == "ok"
    states = profile.connections.statuses()[0].types
    assert states["Condition"].resume_url is None  # no checkpoint elsewhere to fail on again

    # The patient sees the files as links to open, named by where they are.
    files = profile.external_files(_record_id(profile, "elsewhere"))
    assert [f.url for f in files] == elsewhere
    assert files[0].host == "127.0.0.1" and files[0].content_type == "application/pdf"
    report_files = profile.external_files(_record_id(profile, "report-elsewhere"))
    assert [f.url for f in report_files] == [canary.url("/r.pdf")]

    # Once the server's links are right again, the failed types sync from the start.
    server.point_next_link("Condition", None)
    server.point_next_link("Immunization", None)
    again = {o.resource_type: o for o in profile.connections.sync()["Local SMART"].outcomes}
    assert again["Condition"].status == again["Immunization"].status == "ok"
    assert canary.requests == []


def test_attachments_under_the_fhir_base_still_arrive_and_are_not_links(
    profile: Session, start_smart_server, synthea_seed: Path, canary: Canary
) -> None:  # type: ignore[no-untyped-def]
    import base64

    server = start_smart_server(synthea_seed)
    server.put_resource(
        {
            "resourceType": "Binary",
            "id": "note-1",
            "contentType": "text/plain",
            "data": base64.b64encode(b"Clinic note").decode(),
        }
    )
    # Epic gives absolute Binary URLs on the FHIR base; others give relative ones.
    _document(
        server, "absolute", {"contentType": "text/plain", "url": f"{server.base}/Binary/note-1"}
    )
    _document(server, "relative", {"contentType": "text/plain", "url": "Binary/note-1"})
    connect_through_login(profile, server)
    report = profile.connections.sync()["Local SMART"]
    assert report.attachments == 2 and report.attachments_external == 0
    for doc in ("absolute", "relative"):
        record_id = _record_id(profile, doc)
        assert profile.external_files(record_id) == []
        ((attachment_id, _name, content_type, _size),) = profile.attachments(record_id)
        assert profile.attachment_data(attachment_id) == b"Clinic note"
        assert content_type == "text/plain"
    assert canary.requests == []
