"""Whose record, in the app: the person on every screen (band and title), held files decided
side by side, and a record's sources with "these are different" and its undo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from phr_desktop.services.demo import open_demo
from phr_desktop.services.person import PersonCheck
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.ui import other_person_dialog
from phr_desktop.ui.main_window.window import MainWindow
from phr_desktop.ui.other_person_dialog import OtherPersonChoice, OtherPersonDialog
from phr_desktop.ui.record.detail import RecordDetailView
from phr_desktop.ui.workers import TaskRunner
from phr_desktop.vault.stored_record import StoredRecord
from tests.ui.test_app_flow import create_profile
from tests.ui.windows import close_left_open, settings_in, shown_main_window

IDENTITY = Path(__file__).parents[1] / "data" / "identity"
REBECCA = IDENTITY / "rebecca_larson_ipatientcare.xml"
KAREN = IDENTITY / "karen_mckiney_successehs.xml"


@pytest.fixture
def window(qtbot, profiles: Profiles, fast_kdf: None, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    yield shown_main_window(qtbot, profiles, settings_in(tmp_path))
    close_left_open(OtherPersonDialog)


def test_the_person_is_shown_in_the_band_and_the_title_once_the_first_file_sets_it(
    window: MainWindow,
) -> None:
    create_profile(window, "rl")
    band = window.person_band
    assert band is not None and band.isVisible()
    assert "not set yet" in band.born_label.text()
    window.import_paths([REBECCA])
    assert band.name_label.text() == "Rebecca Jones Larson"
    assert band.born_label.text().startswith("born 1970-05-01 · ")
    assert window.windowTitle().startswith("Rebecca Jones Larson (rl)")
    assert band.colour in band.styleSheet()
    window.lock()
    assert window.person_band is None and "Rebecca" not in window.windowTitle()


def test_a_held_file_shows_both_people_and_this_is_me_imports_it(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_profile(window, "rl")
    window.import_paths([REBECCA])
    asked: list[tuple[str, PersonCheck]] = []

    def answer(_parent: object, name: str, check: PersonCheck) -> OtherPersonChoice:
        asked.append((name, check))
        dialog = OtherPersonDialog(name, check)
        mine, theirs = dialog.cells["Name"]
        assert (mine.text(), theirs.text()) == ("Rebecca Jones Larson", "KAREN JONES MCKINEY")
        dialog.close()
        return OtherPersonChoice.THIS_IS_ME

    monkeypatch.setattr(other_person_dialog, "ask_about_other_person", answer)
    session = window.session
    assert session is not None
    before = len(session.record_ids())
    window.import_paths([KAREN])
    assert [name for name, _ in asked] == [KAREN.name]
    assert len(session.record_ids()) > before  # imported after "this is me"
    profile = session.person.get()
    assert profile is not None
    assert "KAREN JONES MCKINEY" in [a.name.display for a in profile.aliases]


def test_import_into_another_profile_locks_and_imports_there_after_unlocking(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_profile(window, "rl")
    window.import_paths([REBECCA])
    monkeypatch.setattr(
        other_person_dialog,
        "ask_about_other_person",
        lambda *_: OtherPersonChoice.ANOTHER_PROFILE,
    )
    window.import_paths([KAREN])
    assert window.session is None and window.pending_import == [KAREN]
    create_profile(window, "karen")
    assert window.session is not None and window.session.profile_name == "karen"
    assert window.windowTitle().startswith("KAREN JONES MCKINEY (karen)")
    assert window.pending_import == []


@pytest.fixture
def demo(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _created = open_demo(profiles)
    with session:
        yield session


def aatd_diagnosis(demo: Session) -> StoredRecord:
    """The demo's AATD diagnosis: one fact that two of its sources both hold."""
    return next(
        s
        for s in demo.records()
        if s.record.kind.value == "problem" and "PI*ZZ" in s.record.title.upper()
    )


def test_the_detail_lists_every_source_and_splits_and_joins_them(qtbot, demo: Session) -> None:  # type: ignore[no-untyped-def]
    view = RecordDetailView(demo)
    qtbot.addWidget(view)
    aatd = aatd_diagnosis(demo)
    view.show_record(aatd.id)
    box = view.sources
    assert box.sources_list.count() == 2 and box.title() == "Sources (2)"
    texts = [box.sources_list.item(i).text() for i in range(2)]
    assert any("Lakeside" in t for t in texts) and any("Riverside" in t for t in texts)
    edited: list[int] = []
    view.recordEdited.connect(edited.append)
    box.sources_list.setCurrentRow(1)
    assert box.split_button.isEnabled()
    other = box.sources_list.item(1).data(0x0100)
    box.split_button.click()
    assert box.sources_list.count() == 1 and box.apart_list.count() == 1
    assert other in demo.record_ids() and edited == [aatd.id]
    box.apart_list.setCurrentRow(0)
    box.undo_button.click()
    assert box.sources_list.count() == 2 and other not in demo.record_ids()


def test_the_person_can_be_given_when_the_profile_is_created(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = window.profile_screen
    screen.person_name.setText("Larson, Rebecca")
    screen.person_birth.setText("1970-13-01")
    create_profile(window, "rl")
    assert window.session is None and "YYYY-MM-DD" in screen.create_error.text()
    screen.person_birth.setText("1970-05-01")
    create_profile(window, "rl")
    assert window.windowTitle().startswith("Rebecca Larson (rl)")
    assert window.person_band is not None
    assert window.person_band.born_label.text().startswith("born 1970-05-01")
    asked: list[str] = []

    def cancel(_parent: object, name: str, _check: PersonCheck) -> OtherPersonChoice:
        asked.append(name)
        return OtherPersonChoice.CANCEL

    monkeypatch.setattr(other_person_dialog, "ask_about_other_person", cancel)
    window.import_paths([KAREN])  # checked from the very first file
    assert asked == [KAREN.name]
    assert window.session is not None and window.session.record_ids() == []


def test_a_sign_in_as_another_person_asks_and_this_is_me_signs_in_again_confirming_it(
    qtbot, demo: Session, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from phr_desktop.domain.person_match import Person, PersonName, Verdict
    from phr_desktop.services.connections import ConnectionService
    from phr_desktop.services.person import OtherPersonError
    from phr_desktop.ui.dashboard import Dashboard

    check = PersonCheck(
        Verdict.OTHER, "a different family name",
        Person((PersonName(("Wiley",), "Schuster"),), "1990-01-01"),
        Person((PersonName(("Margaret",), "Doyle"),), "1968-04-12"),
    )  # fmt: skip
    calls: list[bool] = []

    def connect(self: ConnectionService, fhir_base: str, **kw: object) -> None:
        calls.append(bool(kw.get("same_person")))
        if not kw.get("same_person"):
            raise OtherPersonError(check, "This sign-in", "phr connect URL --same-person")

    asked: list[PersonCheck] = []

    def answer(_parent: object, _what: str, seen: PersonCheck) -> OtherPersonChoice:
        asked.append(seen)
        return OtherPersonChoice.THIS_IS_ME

    monkeypatch.setattr(ConnectionService, "connect", connect)
    monkeypatch.setattr(other_person_dialog, "ask_about_other_person", answer)
    dashboard = Dashboard(demo, TaskRunner(synchronous=True))
    qtbot.addWidget(dashboard)
    dashboard.providers.start_connect("https://fhir.example/R4", "app", "Clinic")
    assert asked == [check] and calls == [False, True]


def test_long_source_names_wrap_in_a_narrow_detail_instead_of_scrolling_sideways(
    qtbot, demo: Session
) -> None:  # type: ignore[no-untyped-def]
    view = RecordDetailView(demo)
    qtbot.addWidget(view)
    view.resize(420, 700)  # the detail pane's share of a 1024×700 window, and less
    view.show()
    qtbot.waitExposed(view)
    aatd = aatd_diagnosis(demo)
    view.show_record(aatd.id)
    box = view.sources
    qtbot.wait(50)
    listing = box.sources_list
    one_line = listing.fontMetrics().height()
    widest = max(listing.fontMetrics().horizontalAdvance(listing.item(i).text()) for i in range(2))
    assert widest > listing.viewport().width()  # the names do not fit on one line here
    assert listing.horizontalScrollBar().maximum() == 0
    assert listing.sizeHintForRow(0) + listing.sizeHintForRow(1) > 2 * one_line  # they wrap
    assert listing.height() >= listing.sizeHintForRow(0) + listing.sizeHintForRow(1)
