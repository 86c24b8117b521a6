"""The quick search remembers the last searches: per profile, inside its encrypted vault, and
nowhere in plaintext."""

from __future__ import annotations

from pathlib import Path

from phr_desktop.services.profiles import Profiles
from phr_desktop.services.search_history import RECENT_SEARCHES
from phr_desktop.services.session import Session
from tests.conftest import PASSPHRASE


def test_searches_are_remembered_newest_first_once_each_and_capped(session: Session) -> None:
    history = session.search_history
    assert history.recent() == []
    history.remember("zemaira")
    history.remember("  liver   tests ")
    assert history.remember("zemaira") == ["zemaira", "liver tests"]
    for n in range(RECENT_SEARCHES + 2):
        history.remember(f"term {n}")
    recent = session.search_history.recent()
    assert len(recent) == RECENT_SEARCHES and recent[0] == f"term {RECENT_SEARCHES + 1}"
    assert history.remember("   ") == recent  # nothing to remember
    history.forget()
    assert history.recent() == []


def test_searches_survive_locking_and_belong_to_their_profile(
    profiles: Profiles, session: Session
) -> None:
    session.search_history.remember("penicillin allergy")
    session.close()
    with profiles.unlock("alex", passphrase=PASSPHRASE) as again:
        assert again.search_history.recent() == ["penicillin allergy"]
    other, _recovery = profiles.create("sam", PASSPHRASE)
    with other:
        assert other.search_history.recent() == []


def test_no_search_is_written_in_plaintext_anywhere(
    profiles: Profiles, session: Session, data_dir: Path
) -> None:
    secret = "hivtestresultxq"
    session.search_history.remember(secret)
    session.close()
    written = [p for p in data_dir.rglob("*") if p.is_file()]
    assert written  # the vault and its header are there
    for path in written:
        assert secret.encode() not in path.read_bytes(), path


def test_a_stored_list_that_is_not_a_list_of_searches_is_ignored(session: Session) -> None:
    from phr_desktop.vault.settings import write_setting

    write_setting(session.vault.conn, "search.recent", '{"not": "a list"}')
    assert session.search_history.recent() == []
    write_setting(session.vault.conn, "search.recent", "not json")
    assert session.search_history.recent() == []
    assert session.search_history.remember("asthma") == ["asthma"]
