"""A guided start: a new profile's dashboard offers its first steps and each one acts; the
import dialog takes every type the importer reads; Help → User guide works offline."""

from __future__ import annotations

import fnmatch
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMenu

from phr_desktop.services.demo import DEMO_PROFILE
from phr_desktop.services.profiles import Profiles
from phr_desktop.ui.aatd_view import INFUSION_HOW_TO
from phr_desktop.ui.import_choice import IMPORT_FILTER
from phr_desktop.ui.main_window import import_flow
from phr_desktop.ui.main_window.window import MainWindow
from phr_desktop.ui.manual_entry import LabResultDialog
from tests.ui.windows import close_left_open, settings_in, shown_main_window

from .test_app_flow import create_profile

CCDA = Path(__file__).resolve().parent.parent / "data" / "ccda" / "vendors" / "CCD-Sample.xml"


@pytest.fixture
def window(qtbot, profiles: Profiles, fast_kdf: None, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    yield shown_main_window(qtbot, profiles, settings_in(tmp_path))
    close_left_open()


def test_a_new_profile_offers_four_first_steps_instead_of_empty_lists(window: MainWindow) -> None:
    create_profile(window)
    dashboard = window.dashboard
    assert dashboard is not None
    card = dashboard.getting_started
    assert card.isVisible()
    assert [b.text() for b in card.buttons.values()] == [
        "Connect a provider…", "Import files…", "Add a result…", "Open the demo",
    ]  # fmt: skip
    assert not dashboard.latest_box.isVisible() and not dashboard.counts_box.isVisible()
    assert dashboard.providers.connect_button.text().replace("&", "") == "Connect a provider…"


def test_import_files_from_the_first_steps_imports_and_the_card_goes(
    window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_profile(window)
    monkeypatch.setattr(import_flow, "choose_import_paths", lambda _parent, folder: [CCDA])
    assert window.dashboard is not None
    window.dashboard.getting_started.buttons["import"].click()
    assert window.session is not None and window.session.counts_by_kind()
    assert not window.dashboard.getting_started.isVisible()
    assert window.dashboard.latest_box.isVisible()


def test_add_a_result_opens_the_test_result_form(window: MainWindow) -> None:
    create_profile(window)
    assert window.dashboard is not None
    window.dashboard.getting_started.buttons["add_result"].click()
    assert isinstance(window.open_dialog, LabResultDialog) and window.open_dialog.isVisible()


def test_open_the_demo_locks_this_profile_and_opens_the_demo(window: MainWindow) -> None:
    create_profile(window)
    assert window.dashboard is not None
    window.dashboard.getting_started.buttons["demo"].click()
    assert window.session is not None and window.session.profile_name == DEMO_PROFILE
    assert window.dashboard is not None and not window.dashboard.getting_started.isVisible()
    assert window.profiles.exists("alex")  # the new profile is kept, only locked


def test_the_import_dialog_offers_every_type_the_importer_reads() -> None:
    default = IMPORT_FILTER.split(";;")[0]
    patterns = default[default.index("(") + 1 : default.rindex(")")].split()
    for name in ("a.xml", "a.ccd", "a.cda", "a.txt", "a.json", "a.ndjson", "a.pdf", "a.png",
                 "a.jpg", "a.tif"):  # fmt: skip
        assert any(fnmatch.fnmatch(name, p) for p in patterns), name


def test_a_ccd_and_a_pdf_imported_together(
    window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A portal's CCD saved as .ccd is read as C-CDA; a PDF letter is kept as a document."""
    ccd = tmp_path / "summary.ccd"
    shutil.copyfile(CCDA, ccd)
    letter = tmp_path / "clinic-letter.pdf"
    letter.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    create_profile(window)
    monkeypatch.setattr(import_flow, "choose_import_paths", lambda _p, folder: [ccd, letter])
    window.import_action.trigger()
    session = window.session
    assert session is not None
    counts = session.counts_by_kind()
    assert counts.get("document", 0) >= 2  # the CCD itself and the letter
    assert "2 of 2 file(s)" in window.statusBar().currentMessage()


def _menu_path_exists(window: MainWindow, path: list[str]) -> bool:
    menus = [a.menu() for a in window.menuBar().actions()]
    titles = {m.title().replace("&", ""): m for m in menus if isinstance(m, QMenu)}
    menu: QMenu | None = titles.get(path[0])
    for step in path[1:]:
        if menu is None:
            return False
        found = [a for a in menu.actions() if a.text().replace("&", "") == step]
        if not found:
            return False
        menu = found[0].menu() if isinstance(found[0].menu(), QMenu) else None
    return True


def test_the_aatd_card_names_a_menu_that_exists(window: MainWindow) -> None:
    path = INFUSION_HOW_TO.removeprefix("Log one with ").split(" → ")
    assert _menu_path_exists(window, path), path


def test_help_user_guide_opens_offline_with_every_chapter(window: MainWindow) -> None:
    window.guide_action.trigger()
    guide = window.user_guide
    assert guide is not None and guide.isVisible()
    text = guide.browser.toPlainText()
    for chapter in ("First steps", "Connecting a provider", "Importing files",
                    "Sharing with a clinician", "Opening a share (for clinicians)",
                    "Backups and the recovery key"):  # fmt: skip
        assert chapter in text
    guide.close()


def test_the_genotype_card_names_a_menu_that_exists_and_it_fills_the_card(
    window: MainWindow,
) -> None:
    from phr_desktop.ui.aatd_view import GENOTYPE_HOW_TO
    from phr_desktop.ui.manual_entry import GenotypeDialog

    assert _menu_path_exists(window, GENOTYPE_HOW_TO.removeprefix("Add it with ").split(" → "))
    create_profile(window)
    window.show_tab(2)
    assert window.aatd is not None
    assert window.aatd.genotype_card.caption.text() == GENOTYPE_HOW_TO
    window.new_entry_actions["GenotypeDialog"].trigger()
    dialog = window.open_dialog
    assert isinstance(dialog, GenotypeDialog)
    dialog.genotype.setCurrentText("sz")  # as a letter might put it
    dialog.accept()
    window.show_tab(2)
    assert window.aatd.genotype_card.value.text() == "Pi*SZ — severe deficiency"


def test_every_menu_the_user_guide_names_exists(window: MainWindow) -> None:
    import re

    from phr_desktop.ui.user_guide import guide_text

    create_profile(window)  # the unlocked menus
    bold = re.findall(r"\*\*(.+?)\*\*", guide_text())
    paths = [b for b in bold if " → " in b]
    assert len(paths) >= 8
    missing = [p for p in paths if not _menu_path_exists(window, p.split(" → "))]
    assert not missing, missing
