"""The dashboard's quick search offers the searches made before, after the app is reopened."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from phr_desktop.services.demo import open_demo
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.ui.dashboard import Dashboard
from phr_desktop.ui.workers import TaskRunner


@pytest.fixture
def demo(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _created = open_demo(profiles)
    with session:
        yield session


def test_recent_searches_come_back_in_a_new_dashboard_from_the_vault(qtbot, demo: Session) -> None:  # type: ignore[no-untyped-def]
    first = Dashboard(demo, TaskRunner(synchronous=True))
    qtbot.addWidget(first)
    first.run_search("zemaira")
    first.run_search("emphysema")
    first.clear()  # locking forgets what is on screen, not what the vault keeps
    assert first.recent_searches == []

    reopened = Dashboard(demo, TaskRunner(synchronous=True))
    qtbot.addWidget(reopened)
    reopened.show()
    assert reopened.recent_searches == ["emphysema", "zemaira"]
    assert "zemaira" in reopened.recent_label.text() and reopened.recent_label.isVisible()
    assert reopened.completer.model().stringList() == ["emphysema", "zemaira"]  # type: ignore[attr-defined]
    assert demo.search_history.recent() == ["emphysema", "zemaira"]
