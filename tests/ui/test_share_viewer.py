"""The clinician opens a patient's share in the app: File → Open share… or `phr-desktop FILE`,
the key dialog, the read-only window (banner, timeline, detail, AATD, Save as PDF/C-CDA), and
every refusal showing its reason and nothing of the share."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib.font_manager  # noqa: F401  (its font cache is built now, not while watching)
import pypdf
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QFileOpenEvent, QKeySequence
from PySide6.QtWidgets import QApplication, QMessageBox, QToolButton

from phr_desktop import app
from phr_desktop.services.profiles import Profiles
from phr_desktop.services.sharing import CreatedShare
from phr_desktop.ui.file_open import FileOpenFilter
from phr_desktop.ui.main_window.window import MainWindow
from phr_desktop.ui.sharing import open_dialog as share_open
from phr_desktop.ui.sharing import window as share_window
from phr_desktop.ui.sharing.open_dialog import ShareKeyDialog
from phr_desktop.ui.sharing.window import ShareWindow
from phr_desktop.ui.timeline.model import RecordIdRole
from phr_desktop.ui.workers import TaskRunner
from tests.share_fixtures import (
    NOTE,
    SCAN,
    WRITES,
    SharedProfile,
    empty_home,
    files_under,
    make_share,
    shared_profile,
)

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedProfile]:
    with shared_profile(tmp_path_factory.mktemp("patient")) as made:
        yield made


@pytest.fixture(scope="module")
def share(profile: SharedProfile, tmp_path_factory: pytest.TempPathFactory) -> CreatedShare:
    return make_share(profile, tmp_path_factory.mktemp("out") / "for-dr-lung.phrshare")


@pytest.fixture
def window(qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    """The app as a clinician starts it: an empty data folder, the profile screen."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    (tmp_path / "data").mkdir()
    win = MainWindow(
        Profiles(tmp_path / "data"), settings=settings, runner=TaskRunner(synchronous=True)
    )
    qtbot.addWidget(win)
    win.show()
    yield win
    win.share_opener.close_all()
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMessageBox):
            widget.close()


def open_with(window: MainWindow, path: Path, key: str, passcode: str = "") -> ShareKeyDialog:
    dialog = window.share_opener.open_file(path)
    assert dialog is not None and dialog.isVisible()
    dialog.key_edit.setText(key)
    dialog.passcode_edit.setText(passcode)
    dialog.open_button.click()
    return dialog


def only_window(window: MainWindow) -> ShareWindow:
    (opened,) = window.share_opener.windows
    return opened


def record_rows(viewer: ShareWindow) -> list[int]:
    model = viewer.timeline.model
    ids = []
    for y in range(model.rowCount()):
        year = model.index(y, 0)
        for m in range(model.rowCount(year)):
            month = model.index(m, 0, year)
            ids.extend(
                model.index(r, 0, month).data(RecordIdRole) for r in range(model.rowCount(month))
            )
    return ids


def refused(window: MainWindow, dialog: ShareKeyDialog) -> str:
    """The refusal is in the dialog, which stays open; no share window, no profile opened."""
    assert window.share_opener.windows == []
    assert dialog.isVisible() and not dialog.error.isHidden()
    assert window.session is None and window.stack.currentWidget() is window.profile_screen
    return dialog.error.text()


# --- opening ----------------------------------------------------------------------------------


def test_open_share_is_in_the_file_menu_on_the_profile_screen(
    window: MainWindow, share: CreatedShare, monkeypatch: pytest.MonkeyPatch
) -> None:
    action = window.share_opener.action
    assert action.text() == "Open &share…" and action.isEnabled()  # no profile needed
    file_menu = window.menuBar().actions()[0].menu()
    assert action in file_menu.actions()  # type: ignore[union-attr]
    taken = [a.shortcut() for a in window.findChildren(type(action)) if a is not action]
    assert action.shortcut() == QKeySequence("Ctrl+Alt+O") and action.shortcut() not in taken
    # and as a button on the profile screen, for a clinician who has no profile
    buttons = window.profile_screen.findChildren(QToolButton)
    assert any(b.defaultAction() is action and b.isVisible() for b in buttons)
    monkeypatch.setattr(share_open, "choose_share_path", lambda _parent: share.file)
    action.trigger()
    dialog = window.share_opener.dialog
    assert dialog is not None and dialog.path == share.file
    assert dialog.passcode_edit.isHidden()  # this file has no passcode


def test_the_right_key_shows_banner_timeline_and_detail_read_only(
    window: MainWindow, share: CreatedShare, profile: SharedProfile
) -> None:
    dialog = open_with(window, share.file, share.key_display)  # the grouped form, as printed
    assert not dialog.isVisible()
    viewer = only_window(window)
    assert viewer.isVisible() and window.session is None  # no profile was opened
    banner = viewer.banner.text()
    name = viewer.session.profile_name  # type: ignore[union-attr]
    for fact in (name, "Dr Lung, pulmonology", share.fingerprint_display,
                 f"{share.record_count} records", "1 attached file",
                 f"valid until {share.expires_at:%Y-%m-%d %H:%M} UTC",
                 "names this signer: checked"):  # fmt: skip
        assert fact in banner
    assert "Share from" in viewer.windowTitle() and "read-only" in viewer.windowTitle()

    # the timeline lists exactly the shared records; the detail opens for one
    ids = record_rows(viewer)
    assert len(ids) == viewer.timeline.model.record_count() == share.record_count
    viewer.timeline.recordActivated.emit(ids[0])
    assert viewer.detail.record_id() == ids[0]
    assert viewer.detail.title.text()
    assert "{" in viewer.detail.source_text.toPlainText()

    # the patient's note is shown, but nothing can be written
    noted = next(i for i in ids if viewer.session.notes(i))  # type: ignore[union-attr]
    viewer.show_record(noted)
    assert viewer.detail.title.text() == profile.noted_title
    assert NOTE in viewer.detail.notes_list.item(0).text()  # type: ignore[union-attr]
    assert viewer.detail.notes_heading.text() == "The patient's notes"
    for hidden in (viewer.detail.note_edit, viewer.detail.add_note_button,
                   viewer.detail.correct_button, viewer.detail.corrections_list,
                   viewer.detail.shared):  # fmt: skip
        assert hidden.isHidden()

    # the attached file can be saved where the clinician says, not opened from a temp copy
    upload = next(i for i in ids if viewer.session.attachments(i))  # type: ignore[union-attr]
    viewer.show_record(upload)
    assert viewer.detail.files_list.count() == 1 and viewer.detail.open_button.isHidden()
    assert viewer.detail.open_attachment() is None

    # the patient's details and the AATD overview
    viewer.banner.patient_button.click()
    assert viewer.detail.record_id() == viewer.session.patient_record_id  # type: ignore[union-attr]
    viewer.tabs.setCurrentIndex(1)
    assert viewer.aatd is not None and viewer.aatd.overview is not None
    assert viewer.aatd.overview.genotype

    session = viewer.session
    viewer.close()
    assert window.share_opener.windows == [] and viewer.session is None
    with pytest.raises(Exception, match="closed"):
        session.record_ids()  # type: ignore[union-attr]


def test_the_viewer_opens_on_the_aatd_overview(window: MainWindow, share: CreatedShare) -> None:
    """A pulmonologist starts from genotype, AAT level and FEV1 decline, not a year tree."""
    open_with(window, share.file, share.key)
    viewer = only_window(window)
    assert viewer.tabs.currentWidget() is viewer.aatd_page
    assert viewer.aatd is not None and viewer.aatd.isVisible()
    assert viewer.aatd.overview is not None and viewer.aatd.overview.genotype
    viewer.close()


def test_the_plain_key_with_stray_spaces_opens_too(window: MainWindow, share: CreatedShare) -> None:
    open_with(window, share.file, f"  {share.key[:20]} {share.key[20:]}\n")
    assert only_window(window).timeline.model.record_count() == share.record_count


# --- refusals ---------------------------------------------------------------------------------


def test_a_wrong_key_is_refused_and_can_be_corrected(
    window: MainWindow, share: CreatedShare
) -> None:
    wrong = base64.urlsafe_b64encode(bytes(32)).rstrip(b"=").decode()
    dialog = open_with(window, share.file, wrong)
    assert "does not open the file" in refused(window, dialog)
    dialog.key_edit.setText("not a key")
    dialog.open_button.click()
    assert "not a share key" in refused(window, dialog)
    groups = share.key.split("-")
    groups[3] = groups[3][:2] + ("7" if groups[3][2] != "7" else "8") + groups[3][3:]
    dialog.key_edit.setText("-".join(groups))  # one character mistyped
    dialog.open_button.click()
    assert "Group 4 of the key has a typo" in refused(window, dialog)
    assert dialog.height() >= dialog.sizeHint().height()  # grown to show the whole reason
    dialog.key_edit.setText("")
    dialog.open_button.click()
    assert "Type the key" in refused(window, dialog)
    dialog.key_edit.setText(share.key)  # corrected in place
    dialog.open_button.click()
    assert len(window.share_opener.windows) == 1 and not dialog.isVisible()


def test_a_changed_byte_is_refused(window: MainWindow, share: CreatedShare, tmp_path: Path) -> None:
    data = bytearray(share.file.read_bytes())
    data[len(data) // 3] ^= ord("a") ^ ord("b")  # one base64url letter for another
    changed = tmp_path / "changed.phrshare"
    changed.write_bytes(bytes(data))
    assert "changed" in refused(window, open_with(window, changed, share.key))


@pytest.mark.parametrize(
    ("made", "message"),
    [(NOW - timedelta(days=40), "expired"), (NOW + timedelta(days=2), "not valid yet")],
)
def test_expired_and_not_yet_valid_shares_are_refused(
    window: MainWindow, profile: SharedProfile, tmp_path: Path, made: datetime, message: str
) -> None:
    created = make_share(profile, tmp_path / "dated.phrshare", now=made, attachments=False)
    assert message in refused(window, open_with(window, created.file, created.key))


def test_a_passcode_share_asks_for_the_passcode(
    window: MainWindow, profile: SharedProfile, tmp_path: Path
) -> None:
    created = make_share(profile, tmp_path / "p.phrshare", passcode="lung-2024", attachments=False)
    dialog = open_with(window, created.file, created.key)
    assert not dialog.passcode_edit.isHidden()
    assert "passcode" in refused(window, dialog)
    dialog.passcode_edit.setText("wrong")
    dialog.open_button.click()
    assert "key and passcode do not open" in refused(window, dialog)
    dialog.passcode_edit.setText("lung-2024")
    dialog.open_button.click()
    assert only_window(window).banner.text()


# --- the command line ---------------------------------------------------------------------------


def test_phr_desktop_file_asks_for_the_key_of_that_file(
    window: MainWindow, share: CreatedShare
) -> None:
    args = app.build_parser().parse_args([str(share.file)])
    assert args.share == str(share.file) and not args.demo
    app.open_requested(window, args)
    dialog = window.share_opener.dialog
    assert dialog is not None and dialog.isVisible() and dialog.path == share.file
    dialog.key_edit.setText(share.key)
    dialog.open_button.click()
    assert only_window(window).timeline.model.record_count() == share.record_count


def test_a_macos_file_open_event_asks_for_the_key_of_that_file(
    window: MainWindow, share: CreatedShare, tmp_path: Path
) -> None:
    # Finder sends a double-clicked document as a FileOpen event, not as an argument.
    qt_app = QApplication.instance()
    assert qt_app is not None
    file_open = FileOpenFilter(window.share_opener.open_file, window)
    qt_app.installEventFilter(file_open)
    try:
        other = tmp_path / "letter.pdf"
        other.write_bytes(b"%PDF-1.4\n")
        QApplication.sendEvent(qt_app, QFileOpenEvent(str(other)))
        assert window.share_opener.dialog is None  # only shares are ours to take
        QApplication.sendEvent(qt_app, QFileOpenEvent(str(share.file)))
        dialog = window.share_opener.dialog
        assert dialog is not None and dialog.isVisible() and dialog.path == share.file
    finally:
        qt_app.removeEventFilter(file_open)


def test_phr_desktop_with_a_missing_file_says_so(window: MainWindow, tmp_path: Path) -> None:
    args = app.build_parser().parse_args([str(tmp_path / "nowhere.phrshare")])
    app.open_requested(window, args)
    assert window.share_opener.dialog is None
    boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
    assert any("There is no file" in box.text() for box in boxes)
    assert app.build_parser().parse_args([]).share is None


# --- disk, saving, expiry -----------------------------------------------------------------------


def test_viewing_a_share_writes_nothing_to_disk(
    window: MainWindow, share: CreatedShare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    watched = [*empty_home(monkeypatch, tmp_path / "env"), tmp_path / "data"]
    next_to_share = sorted(share.file.parent.iterdir())
    with WRITES.watching() as writes:
        open_with(window, share.file, share.key)
        viewer = only_window(window)
        for record_id in record_rows(viewer):
            viewer.timeline.recordActivated.emit(record_id)  # detail, trend chart, related
        viewer.banner.patient_button.click()
        viewer.tabs.setCurrentIndex(1)
        viewer.timeline.search.setText("fev1")
        viewer.timeline.refresh()
        viewer.close()
    assert writes == []
    assert files_under(watched) == []
    assert sorted(share.file.parent.iterdir()) == next_to_share


def test_save_as_pdf_and_ccda_from_the_viewer(
    window: MainWindow, share: CreatedShare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    open_with(window, share.file, share.key)
    viewer = only_window(window)
    target = tmp_path / "saved" / "from-share.pdf"
    target.parent.mkdir()  # a save dialog only offers folders that exist
    monkeypatch.setattr(share_window, "choose_save_path", lambda *_a: target)
    viewer.save_actions["pdf"].trigger()
    assert target.read_bytes().startswith(b"%PDF")
    pages = pypdf.PdfReader(target).pages
    assert len(pages) > 1 and viewer.session.profile_name in pages[0].extract_text()  # type: ignore[union-attr]
    assert str(target) in viewer.statusBar().currentMessage()
    ccd = tmp_path / "saved" / "from-share.xml"
    monkeypatch.setattr(share_window, "choose_save_path", lambda *_a: ccd)
    viewer.save_actions["ccda"].trigger()
    assert b"ClinicalDocument" in ccd.read_bytes()[:400]
    assert sorted(p.name for p in target.parent.iterdir()) == ["from-share.pdf", "from-share.xml"]
    # the attached file too, where the clinician chooses
    upload = next(i for i in record_rows(viewer) if viewer.session.attachments(i))  # type: ignore[union-attr]
    viewer.show_record(upload)
    viewer.detail.save_attachment(tmp_path / "saved" / "scan.pdf")
    assert (tmp_path / "saved" / "scan.pdf").read_bytes() == SCAN


def test_a_share_that_expires_while_open_stays_but_says_so(
    window: MainWindow, share: CreatedShare
) -> None:
    open_with(window, share.file, share.key)
    viewer = only_window(window)
    assert not viewer.check_expiry() and viewer.banner.expired.isHidden()
    assert viewer.check_expiry(share.expires_at + timedelta(seconds=1))
    assert not viewer.banner.expired.isHidden()
    assert "expired" in viewer.banner.text() and "refused" in viewer.banner.text()
    assert viewer.timeline.model.record_count() == share.record_count


def test_opening_runs_in_a_worker_thread(qtbot, share: CreatedShare, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(Profiles(tmp_path / "data"), settings=settings)  # a real thread pool
    qtbot.addWidget(win)
    win.show()
    dialog = open_with(win, share.file, share.key)
    assert not dialog.open_button.isEnabled()  # busy while the worker decrypts
    qtbot.waitUntil(lambda: len(win.share_opener.windows) == 1, timeout=30_000)
    viewer = only_window(win)
    viewer.timeline.recordActivated.emit(record_rows(viewer)[0])  # read on the GUI thread
    assert viewer.detail.record_id() is not None
    win.share_opener.close_all()
