"""The activity log in plain words, and the chain check explained to a person."""

from __future__ import annotations

from pathlib import Path

from phr_desktop.services import audit_log
from phr_desktop.services.session import Session
from phr_desktop.services.sharing import ShareSelection, create_share
from phr_desktop.vault.audit import AuditEntry


def test_each_event_is_described_in_plain_words_newest_first(
    session: Session, demo_files: list[Path], tmp_path: Path
) -> None:
    session.import_paths(demo_files[:1])
    create_share(
        session, tmp_path / "s.phrshare", ShareSelection(kinds=("problem",)), "Dr Rivera",
        passcode="4321", hand_out_key=False,
    )  # fmt: skip
    events = audit_log.list_events(session)
    assert [e.action for e in events][:2] == ["share", "import"]
    share = events[0]
    assert share.event == "Shared with a clinician"
    assert "for Dr Rivera" in share.details and "with a passcode" in share.details
    assert "key held back" in share.details
    assert events[-1].event == "Profile created"
    assert "new" in events[1].details


def test_an_unknown_action_is_still_shown() -> None:
    event = audit_log.describe(AuditEntry(7, "2026-01-01T00:00:00+00:00", "ccda_fix", {"n": 2}))
    assert event.event == "Ccda fix" and event.details == "n: 2"


def test_verification_names_the_first_broken_entry(session: Session) -> None:
    session.vault.audit.append("backup")
    session.vault.audit.append("backup")
    report = audit_log.verify(session)
    assert report.ok and "intact" in audit_log.verification_text(report)
    session.vault.conn.execute("UPDATE audit_log SET at = '2020-01-01T00:00:00+00:00' WHERE id = 2")
    text = audit_log.verification_text(audit_log.verify(session))
    assert "entry #2 was changed" in text
    session.vault.conn.execute("DELETE FROM audit_log WHERE id = 1")
    assert "entry #1 is missing" in audit_log.verification_text(audit_log.verify(session))
