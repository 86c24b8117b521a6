"""A caregiver names a profile as they call the person: the app shows that name everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from phr_desktop.services.profiles import Profiles
from phr_desktop.ui.main_window.window import MainWindow
from tests.ui.windows import settings_in, shown_main_window

from .test_app_flow import PASSPHRASE, create_profile


@pytest.fixture
def window(qtbot, profiles: Profiles, fast_kdf: None, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    yield shown_main_window(qtbot, profiles, settings_in(tmp_path))


def test_a_unicode_profile_is_created_locked_and_unlocked_by_its_name(window: MainWindow) -> None:
    create_profile(window, "Mum (Joan) 山田")
    assert window.windowTitle().startswith("Mum (Joan) 山田")
    window.lock()
    screen = window.profile_screen
    assert screen.selected_profile() == "Mum (Joan) 山田"
    screen.passphrase.setText(PASSPHRASE)
    screen.unlock_button.click()
    assert window.session is not None and window.session.profile_name == "Mum (Joan) 山田"
