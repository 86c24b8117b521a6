"""File → Export says what each file is for and names it for the person and the day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from PySide6.QtWidgets import QWidget

from phr_desktop.services.demo import open_demo
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.ui.export_menu import ExportMenu
from phr_desktop.ui.workers import TaskRunner


@pytest.fixture
def demo(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _created = open_demo(profiles)
    with session:
        yield session


@pytest.fixture
def menu(qtbot, demo: Session) -> Iterator[ExportMenu]:  # type: ignore[no-untyped-def]
    parent = QWidget()
    qtbot.addWidget(parent)
    yield ExportMenu(parent, TaskRunner(synchronous=True), lambda: demo)


def test_each_export_says_what_it_is_for(menu: ExportMenu) -> None:
    texts = [a.text().replace("&", "") for a in menu.actions()]
    assert "C-CDA (for another doctor's system)…" in texts
    assert all("(" in t for t in texts)  # every item explains itself, not "FHIR Bundle…"
    assert not any(t.startswith(("FHIR Bundle", "C-CDA document (CCD)")) for t in texts)


def test_the_suggested_file_carries_the_persons_name_and_the_date(menu: ExportMenu) -> None:
    path = menu.suggested_path("health record", ".pdf")
    assert path.name == f"Margaret Ellen Doyle health record {date.today().isoformat()}.pdf"
