"""The profile screen: create with strength feedback, keep the recovery key, unlock three ways."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QCheckBox

from phr_desktop.services.errors import KeyringRefused
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.session import Session
from phr_desktop.ui.profiles import recovery_key_page, strength
from phr_desktop.ui.profiles.screen import ProfileScreen
from phr_desktop.ui.profiles.strength import passphrase_strength
from phr_desktop.ui.workers import TaskRunner

GOOD = "correct horse battery staple"
RECOVERY_KEY = re.compile(r"^[0-9A-Z]{5}(-[0-9A-Z]{5}){7}$")


@pytest.fixture
def screen(qtbot, profiles: Profiles, fast_kdf: None) -> Iterator[ProfileScreen]:  # type: ignore[no-untyped-def]
    widget = ProfileScreen(profiles, TaskRunner(synchronous=True))
    qtbot.addWidget(widget)
    widget.show()
    yield widget
    widget.discard_pending()


@pytest.fixture
def opened() -> Iterator[list[Session]]:
    sessions: list[Session] = []
    yield sessions
    for session in sessions:
        session.close()


def create(screen: ProfileScreen, name: str = "alex", passphrase: str = GOOD) -> None:
    screen.new_name.setText(name)
    screen.new_passphrase.setText(passphrase)
    screen.confirm_passphrase.setText(passphrase)
    screen.create_button.click()


# --- strength ------------------------------------------------------------------------------


def test_common_passwords_are_weak_and_four_random_words_strong() -> None:
    assert not passphrase_strength("password1").acceptable
    assert not passphrase_strength("").acceptable
    strong = passphrase_strength(GOOD)
    assert strong.acceptable and strong.label in ("Strong", "Very strong")


def test_the_profile_name_counts_against_the_passphrase() -> None:
    assert passphrase_strength("margaret1968", ("margaret",)).score <= 2


def test_without_zxcvbn_a_character_count_estimate_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(strength, "_zxcvbn", None)
    assert not passphrase_strength("abc123").acceptable
    assert passphrase_strength("Tulip-Granite-Oboe-Harbor-71").acceptable


# --- create --------------------------------------------------------------------------------


def test_with_no_profile_the_screen_opens_on_create(screen: ProfileScreen) -> None:
    assert screen.stack.currentWidget() is screen.create_page
    assert not screen.back_button.isVisible()


def test_every_check_box_of_the_create_form_fits_its_width(
    qtbot, profiles: Profiles, fast_kdf: None
) -> None:  # type: ignore[no-untyped-def]
    # A check box's text does not wrap: "Remember on this device (unlock without the
    # passphrase)" ran past the form's width and was cut off on a 1024x700 screen.
    widget = ProfileScreen(profiles, TaskRunner(synchronous=True))
    qtbot.addWidget(widget)
    widget.resize(1024, 700)
    widget.show()
    qtbot.waitExposed(widget)
    boxes = widget.create_page.findChildren(QCheckBox)
    assert boxes
    for box in boxes:
        assert box.width() >= box.sizeHint().width(), box.text()


def test_strength_feedback_follows_typing(screen: ProfileScreen) -> None:
    screen.new_passphrase.setText("password")
    assert screen.strength_bar.value() <= 1
    assert screen.strength_feedback.text()
    screen.new_passphrase.setText(GOOD)
    assert screen.strength_bar.value() >= 3
    assert screen.strength_bar.format() in ("Strong", "Very strong")


def test_a_weak_or_mistyped_passphrase_is_refused_before_anything_is_created(
    screen: ProfileScreen, profiles: Profiles
) -> None:
    create(screen, passphrase="password")
    assert "weak" in screen.create_error.text().lower()
    screen.new_passphrase.setText(GOOD)
    screen.confirm_passphrase.setText(GOOD + "!")
    screen.create_button.click()
    assert screen.create_error.text() == "The two passphrases differ."
    assert profiles.names() == []


def test_creating_shows_the_recovery_key_once_and_continue_unlocks(
    screen: ProfileScreen, profiles: Profiles, opened: list[Session]
) -> None:
    screen.unlocked.connect(opened.append)
    create(screen)
    assert profiles.names() == ["alex"]
    assert screen.stack.currentWidget() is screen.recovery_page
    key = screen.key_label.text()
    assert RECOVERY_KEY.match(key), key
    assert not screen.new_passphrase.text() and not screen.confirm_passphrase.text()
    assert not screen.continue_button.isEnabled()
    screen.kept_key.setChecked(True)
    screen.continue_button.click()
    assert [s.profile_name for s in opened] == ["alex"]
    assert screen.key_label.text() == ""
    opened[0].close()
    profiles.unlock("alex", recovery_key=key).close()  # the key shown is the real one


def test_the_recovery_key_can_be_saved_to_an_owner_only_text_file(
    screen: ProfileScreen, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "key.txt"
    monkeypatch.setattr(recovery_key_page, "choose_save_path", lambda *a: str(target))
    create(screen)
    screen.save_button.click()
    text = target.read_text()
    assert screen.key_label.text() in text and "Profile: alex" in text
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert str(target) in screen.recovery_status.text()


def test_the_recovery_key_prints(screen: ProfileScreen, tmp_path: Path) -> None:
    from PySide6.QtPrintSupport import QPrinter

    create(screen)
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "key.pdf"))
    screen.print_to(printer)
    assert (tmp_path / "key.pdf").read_bytes().startswith(b"%PDF")


def test_a_refused_keyring_is_said_plainly_and_the_profile_still_opens(
    screen: ProfileScreen, monkeypatch: pytest.MonkeyPatch, opened: list[Session]
) -> None:
    def refuse(self: Session) -> None:
        raise KeyringRefused("This computer has no secure keyring to remember the profile in.")

    monkeypatch.setattr(Session, "remember_on_device", refuse)
    screen.unlocked.connect(opened.append)
    screen.remember.setChecked(True)
    create(screen)
    assert screen.keyring_status.text() == (
        "Not remembered on this device. This computer has no secure keyring to remember the "
        "profile in."
    )
    screen.kept_key.setChecked(True)
    screen.continue_button.click()
    assert len(opened) == 1


def test_remembering_on_a_secure_keyring_is_confirmed(
    screen: ProfileScreen, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(Session, "remember_on_device", lambda self: calls.append("yes"))
    screen.remember.setChecked(True)
    create(screen)
    assert calls == ["yes"]
    assert screen.keyring_status.text().startswith("Remembered on this device")


# --- unlock --------------------------------------------------------------------------------


@pytest.fixture
def existing(profiles: Profiles, fast_kdf: None) -> str:
    session, recovery_key = profiles.create("alex", GOOD)
    session.close()
    profiles.create("sam", GOOD)[0].close()
    return recovery_key


def test_profiles_are_listed_and_a_wrong_passphrase_is_explained(
    existing: str, screen: ProfileScreen, opened: list[Session]
) -> None:
    screen.unlocked.connect(opened.append)
    assert screen.stack.currentWidget() is screen.unlock_page
    names = [screen.profile_list.item(i).text() for i in range(screen.profile_list.count())]
    assert names == ["alex", "sam"]
    screen.passphrase.setText("not it")
    screen.unlock_button.click()
    assert "does not unlock this profile" in screen.unlock_error.text()
    assert opened == []
    assert screen.stack.isEnabled()


def test_the_right_passphrase_unlocks_and_leaves_no_trace_in_the_field(
    existing: str, screen: ProfileScreen, opened: list[Session]
) -> None:
    screen.unlocked.connect(opened.append)
    screen.profile_list.setCurrentRow(1)
    screen.passphrase.setText(GOOD)
    screen.unlock_button.click()
    assert [s.profile_name for s in opened] == ["sam"]
    assert screen.passphrase.text() == ""


def test_the_recovery_key_unlocks_when_the_passphrase_is_forgotten(
    existing: str, screen: ProfileScreen, opened: list[Session]
) -> None:
    screen.unlocked.connect(opened.append)
    screen.use_recovery.setChecked(True)
    assert not screen.passphrase.isEnabled()
    screen.recovery_key.setText(existing.lower())
    screen.unlock_button.click()
    assert [s.profile_name for s in opened] == ["alex"], screen.unlock_error.text()


def test_a_profile_not_remembered_here_says_to_use_the_passphrase(
    existing: str, screen: ProfileScreen, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("phr_desktop.services.profiles.recall_data_key", lambda _id: None)
    screen.remembered_button.click()
    assert "not remembered on this device" in screen.unlock_error.text()


def test_a_remembered_key_unlocks_without_the_passphrase(
    existing: str,
    screen: ProfileScreen,
    profiles: Profiles,
    monkeypatch: pytest.MonkeyPatch,
    opened: list[Session],
) -> None:
    with profiles.unlock("alex", passphrase=GOOD) as session:
        data_key = session.vault.data_key
    monkeypatch.setattr("phr_desktop.services.profiles.recall_data_key", lambda _id: data_key)
    screen.unlocked.connect(opened.append)
    screen.remembered_button.click()
    assert [s.profile_name for s in opened] == ["alex"]


def test_reset_after_a_lock_forgets_what_was_typed(
    existing: str, screen: ProfileScreen, qapp: QApplication
) -> None:
    screen.passphrase.setText("half typed")
    screen.use_recovery.setChecked(True)
    screen.recovery_key.setText("ABCDE")
    screen.reset(select="sam")
    assert screen.passphrase.text() == "" and screen.recovery_key.text() == ""
    assert not screen.use_recovery.isChecked()
    assert screen.selected_profile() == "sam"
