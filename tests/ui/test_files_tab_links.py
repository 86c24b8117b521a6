"""The Files tab lists files a record names on other sites as links to open in the browser:
never downloaded, so no sign-in goes there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.ui.record import files_tab as record_files_tab
from phr_desktop.ui.record.detail import RecordDetailView
from tests.conftest import PASSPHRASE

ELSEWHERE = "https://documents.elsewhere.example/scan/42.pdf"


@pytest.fixture
def session(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    created, _ = profiles.create("links", PASSPHRASE)
    with created:
        yield created


def _import_document(session: Session, tmp_path: Path, attachments: list[dict[str, str]]) -> int:
    document = {
        "resourceType": "DocumentReference",
        "id": "scan-42",
        "status": "current",
        "type": {"text": "Chest CT scan"},
        "date": "2024-01-16T10:00:00Z",
        "content": [{"attachment": a} for a in attachments],
    }
    path = tmp_path / "document.json"
    path.write_text(json.dumps(document))
    session.import_paths([path])
    return next(s.id for s in session.records() if s.record.resource_id == "scan-42")


def test_a_file_on_another_site_is_listed_as_a_link_and_opens_in_the_browser(
    qtbot, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    opened: list[str] = []
    monkeypatch.setattr(
        record_files_tab.QDesktopServices, "openUrl", lambda url: opened.append(url.toString())
    )
    attachments = [
        {"contentType": "application/pdf", "title": "CT report", "url": ELSEWHERE},
        {"contentType": "text/plain", "url": "javascript:alert(1)"},  # never offered
        {"contentType": "text/plain", "url": "file:///etc/passwd"},  # never offered
    ]
    record_id = _import_document(session, tmp_path, attachments)
    view = RecordDetailView(session)
    qtbot.addWidget(view)
    view.show_record(record_id)
    tab = view.files_tab
    assert tab.links_list.count() == 1 and not tab.links_list.isHidden()
    label = tab.links_list.item(0).text()
    assert "CT report" in label and "documents.elsewhere.example" in label
    assert tab.links_list.item(0).toolTip() == ELSEWHERE
    assert "never sent there" in tab.links_note.text()
    assert view.tabs.tabText(view.tabs.indexOf(tab)) == "Files (1)"
    assert tab.open_link() == ELSEWHERE and opened == [ELSEWHERE]
    view.clear()
    assert tab.links_list.count() == 0 and tab.links_list.isHidden()


def test_a_record_without_links_shows_no_link_section(
    qtbot, session: Session, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    record_id = _import_document(
        session, tmp_path, [{"contentType": "text/plain", "data": "SGVsbG8="}]
    )
    view = RecordDetailView(session)
    qtbot.addWidget(view)
    view.show_record(record_id)
    assert view.files_tab.links_list.count() == 0
    assert view.files_tab.links_list.isHidden() and view.files_tab.open_link_button.isHidden()
    assert view.files_tab.open_link() is None


def test_a_file_already_held_is_not_offered_as_a_link_too(session: Session, tmp_path: Path) -> None:
    held_url = "https://ehr.example/fhir/Binary/letter-7"
    record_id = _import_document(
        session,
        tmp_path,
        [{"contentType": "application/pdf", "url": held_url}, {"url": ELSEWHERE}],
    )
    assert [f.url for f in session.external_files(record_id)] == [held_url, ELSEWHERE]
    raw_id = session.vault.conn.execute(
        "SELECT raw_id FROM records WHERE id = ?", (record_id,)
    ).fetchone()[0]
    with session.vault.conn:
        # As a share's viewer keeps a synced file: named by the URL's last segment.
        session.vault.conn.execute(
            "INSERT INTO attachments (raw_id, record_id, filename, content_type, size, sha256, "
            "data, created_at) VALUES (?, ?, 'letter-7', 'application/pdf', 4, '', x'25504446', "
            "'2024-01-01')",
            (raw_id, record_id),
        )
    assert [f.url for f in session.external_files(record_id)] == [ELSEWHERE]
