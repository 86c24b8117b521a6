"""The Share dialog also saves the page for any browser, by default (with a passcode too),
and says where it went."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from phr_desktop.services.demo import open_demo
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.services.share_opening import open_share
from phr_desktop.services.sharing import ShareError
from phr_desktop.ui.sharing import dialog as share_dialog
from phr_desktop.ui.sharing.dialog import ShareDialog
from phr_desktop.ui.workers import TaskRunner


@pytest.fixture
def demo(profiles: Profiles, fast_kdf: None) -> Iterator[Session]:
    session, _created = open_demo(profiles)
    with session:
        yield session


@pytest.fixture
def dialog(qtbot, demo: Session) -> ShareDialog:  # type: ignore[no-untyped-def]
    made = ShareDialog(demo, TaskRunner(synchronous=True))
    qtbot.addWidget(made)
    made.show()
    made.label.setText("Dr Rivera")
    return made


@pytest.fixture
def share_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "for-dr-rivera.phrshare"
    monkeypatch.setattr(share_dialog, "choose_share_path", lambda _parent, _suggested: path)
    return path


def test_the_browser_page_is_saved_by_default_beside_the_share(
    dialog: ShareDialog, share_path: Path
) -> None:
    assert dialog.browser_file.isChecked() and dialog.browser_file.isEnabled()
    dialog.create_button.click()
    page = share_path.with_suffix(".html")
    assert page.is_file() and share_path.read_text() in page.read_text()
    assert f"{page} (opens in any browser)" in dialog.key_panel.file_label.text()
    assert "any browser" in dialog.key_panel.summary.text()


def test_unticked_no_page_is_saved(dialog: ShareDialog, share_path: Path) -> None:
    dialog.browser_file.setChecked(False)
    dialog.create_button.click()
    assert share_path.is_file() and not share_path.with_suffix(".html").exists()


def test_with_a_passcode_the_page_is_saved_too_and_needs_it(
    dialog: ShareDialog, share_path: Path
) -> None:
    dialog.passcode.setText("tulip-42")
    dialog.passcode_again.setText("tulip-42")
    assert dialog.browser_file.isChecked() and dialog.browser_file.isEnabled()
    dialog.create_button.click()
    page = share_path.with_suffix(".html")
    assert page.is_file() and share_path.read_text() in page.read_text()
    key = dialog.key_panel.key
    with pytest.raises(ShareError, match="passcode"):
        open_share(share_path, key)
    assert open_share(share_path, key, passcode="tulip-42").record_count
