"""Share… : choose records, a recipient, an expiry and a passcode; seal them into a .phrshare
file in a worker; then show the key (text + QR) and offer the printable hand-out.

The dialog holds the key only while its result page is open: closing it (or locking the app,
which closes it) clears the key from the widgets and from the clipboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from PySide6.QtCore import QDate, QStandardPaths, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.errors import USER_ERRORS, ServiceError
from phr_desktop.services.session import RecordFilter, Session
from phr_desktop.services.sharing import CreatedShare, create_share
from phr_desktop.services.tasks import CancelToken, Progress, ProgressCallback
from phr_desktop.ui import style
from phr_desktop.ui.readable_colours import mark_flag
from phr_desktop.ui.screen_fit import open_at_hint, scrolling
from phr_desktop.ui.secret_dialogs import ClearingDialog
from phr_desktop.ui.sharing.choice import ShareChoiceBox
from phr_desktop.ui.sharing.key_panel import KeyPanel, suggested_name
from phr_desktop.ui.workers import TaskRunner

SHARE_FILTER = "phr-desktop share (*.phrshare)"
# (text, parse_expiry argument); None: a date chosen in the calendar
EXPIRY_CHOICES: tuple[tuple[str, str | None], ...] = (
    ("1 day", "1d"),
    ("7 days", "7d"),
    ("30 days", "30d"),
    ("90 days", "90d"),
    ("Until a date…", None),
)
DEFAULT_EXPIRY_INDEX = 2
MIN_PASSCODE = 4
HOLD_BACK_TEXT = (
    "The file is written but its key stays in your vault: nobody can open the file yet. Show "
    "the key later from Sharing history; until you do, you can revoke the share there."
)
BROWSER_FILE_TEXT = (
    "Saves NAME.html beside the .phrshare: the same encrypted share inside a small page that "
    "opens in Chrome, Edge, Firefox or Safari with the same key, with nothing to install."
)
RECIPIENT_CHOICES: tuple[tuple[str, str], ...] = (
    ("A provider (doctor, clinic)", "provider"),
    ("A family member", "family_member"),
    ("A researcher", "researcher"),
)
VIEW_ONLY_TEXT = (
    "phr-desktop's viewer will not offer to save the attached files. This is a request, not a "
    "lock: a determined recipient can still copy what they see. The browser page honours it "
    "too."
)
HELD_BACK_RESULT = (
    "The key is held back in your vault, so nobody can open this file yet. When you are ready "
    "to give it, use Sharing → Sharing history… → Show key. Until then you can revoke the "
    "share there; once the key is shown, it cannot be revoked."
)


def documents_folder() -> Path:
    found = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    return Path(found) if found else Path.home()


def choose_share_path(parent: QWidget, suggested: Path) -> Path | None:
    """Ask where to write the share (tests replace this)."""
    chosen, _ = QFileDialog.getSaveFileName(parent, "Save the share", str(suggested), SHARE_FILTER)
    return Path(chosen) if chosen else None


def patient_name(session: Session) -> str:
    """The name on the Patient record, else the profile's name (for the hand-out's header)."""
    for stored in session.records(RecordFilter(kinds=("patient",), limit=1)):
        if stored.record.title:
            return stored.record.title
    return session.profile_name


class ShareDialog(ClearingDialog):
    def __init__(
        self,
        session: Session,
        runner: TaskRunner,
        parent: QWidget | None = None,
        *,
        timeline_ids: Sequence[int] | None = None,
    ) -> None:
        super().__init__(parent)
        self.session: Session | None = session
        self.runner = runner
        self.created: CreatedShare | None = None
        self.closed = False
        self.setWindowTitle("Share records with a clinician")
        self.setAccessibleName("Share records")
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self._choice_page(session, timeline_ids))
        self.pages.addWidget(self._result_page())
        layout = QVBoxLayout(self)
        layout.addWidget(self.pages)
        self.choice.recount()
        self.label.setFocus()
        open_at_hint(self)

    # --- page 1: the choice -------------------------------------------------------------------

    def _choice_page(self, session: Session, timeline_ids: Sequence[int] | None) -> QWidget:
        page = QWidget(self)
        self.choice = ShareChoiceBox(session, timeline_ids, page)
        form = QFormLayout()
        self.label = QLineEdit(page, placeholderText="e.g. Dr Rivera, pulmonology clinic")
        self.label.setAccessibleName("For whom")
        form.addRow("&For whom:", self.label)
        self.expiry = QComboBox(page)
        self.expiry.setAccessibleName("Valid for")
        for text, value in EXPIRY_CHOICES:
            self.expiry.addItem(text, value)
        self.expiry.setCurrentIndex(DEFAULT_EXPIRY_INDEX)
        self.expiry_date = QDateEdit(page)
        self.expiry_date.setAccessibleName("Valid until")
        self.expiry_date.setCalendarPopup(True)
        self.expiry_date.setDisplayFormat("yyyy-MM-dd")
        today = QDate.currentDate()
        self.expiry_date.setDateRange(today.addDays(1), today.addDays(365))
        self.expiry_date.setDate(today.addDays(30))
        self.expiry_date.setVisible(False)
        self.expiry.currentIndexChanged.connect(self._expiry_chosen)
        expiry_row = QHBoxLayout()
        expiry_row.addWidget(self.expiry)
        expiry_row.addWidget(self.expiry_date)
        expiry_row.addStretch(1)
        expiry_label = QLabel("&Valid for:", page)
        expiry_label.setBuddy(self.expiry)
        form.addRow(expiry_label, expiry_row)
        self.passcode = self._secret(page, "Passcode (optional)")
        self.passcode_again = self._secret(page, "Passcode again")
        form.addRow("&Passcode (optional):", self.passcode)
        form.addRow("Passcode a&gain:", self.passcode_again)
        self.recipient_type = QComboBox(page)
        self.recipient_type.setAccessibleName("Recipient type")
        for text, value in RECIPIENT_CHOICES:
            self.recipient_type.addItem(text, value)
        form.addRow("&Recipient is:", self.recipient_type)
        self.attachments = QCheckBox("Include attached file&s (PDFs, images, documents)", page)
        form.addRow("", self.attachments)
        self.view_only = QCheckBox("&View only: the recipient's viewer offers no saving", page)
        self.view_only.setToolTip(VIEW_ONLY_TEXT)
        form.addRow("", self.view_only)
        self.include_restricted = QCheckBox(page)
        self.include_restricted.setAccessibleName("Include restricted records")
        self.include_restricted.toggled.connect(self._include_restricted_toggled)
        form.addRow("", self.include_restricted)
        self.sensitive_note = style.muted("", page)
        self.sensitive_note.setAccessibleName("Sensitive records")
        form.addRow("", self.sensitive_note)
        # On by default: most clinicians cannot install the app on a clinic computer.
        self.browser_file = QCheckBox("Also save a page that opens in any &browser (.html)", page)
        self.browser_file.setChecked(True)
        self.browser_file.setToolTip(BROWSER_FILE_TEXT)
        form.addRow("", self.browser_file)
        self.hold_back = QCheckBox("&Hold back the key for now", page)
        form.addRow("", self.hold_back)
        hold_note = style.muted(HOLD_BACK_TEXT, page)
        form.addRow("", hold_note)
        self.error = QLabel(page)
        self.error.setAccessibleName("Error")
        self.error.setWordWrap(True)
        mark_flag(self.error)
        self.error.hide()
        self.choice_buttons = QDialogButtonBox(page)
        self.create_button = self.choice_buttons.addButton(
            "&Create share…", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.create_button.setDefault(True)
        self.choice_buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.create_button.clicked.connect(self.create_clicked)
        self.choice_buttons.rejected.connect(self.reject)
        self.choice.changed.connect(self._choice_changed)
        body = QWidget(page)
        self.choice.setParent(body)
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 0, 0)
        body_layout.addWidget(self.choice)
        body_layout.addLayout(form)
        body_layout.addWidget(self.error)
        body_layout.addStretch(1)
        self.choice_scroll = scrolling(body, page)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.choice_scroll, 1)
        layout.addWidget(self.choice_buttons)
        return page

    def _expiry_chosen(self, _index: int) -> None:
        self.expiry_date.setVisible(self.expiry.currentData() is None)  # "Until a date…"

    def _choice_changed(self) -> None:
        self.create_button.setEnabled(self.choice.matching > 0)
        counts = self.choice.by_sensitivity
        self.include_restricted.setText(f"Include {counts.restricted:,} restricted record(s)")
        self.include_restricted.setVisible(
            counts.restricted > 0 or self.include_restricted.isChecked()
        )
        self.sensitive_note.setText(
            f"{counts.sensitive:,} of the records match are marked sensitive."
            if counts.sensitive
            else ""
        )
        self.sensitive_note.setVisible(counts.sensitive > 0)

    def _include_restricted_toggled(self, checked: bool) -> None:
        self.choice.include_restricted = checked
        self.choice.recount()

    @staticmethod
    def _secret(parent: QWidget, name: str) -> QLineEdit:
        edit = QLineEdit(parent)
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setAccessibleName(name)
        return edit

    def show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    def _expires(self) -> str:
        value = self.expiry.currentData()
        if value is not None:
            return str(value)
        return str(self.expiry_date.date().toString("yyyy-MM-dd"))

    def _checked_passcode(self) -> str | None:
        first, again = self.passcode.text(), self.passcode_again.text()
        if not first and not again:
            return None
        if first != again:
            self.passcode_again.setFocus()
            raise ServiceError("The two passcodes differ; type the same passcode twice.")
        if len(first.strip()) < MIN_PASSCODE:
            self.passcode.setFocus()
            raise ServiceError(f"A passcode needs at least {MIN_PASSCODE} characters.")
        return first

    def create_clicked(self) -> None:
        session = self.session
        if session is None or self.runner.busy:
            return
        self.error.hide()
        label = self.label.text().strip()
        try:
            if not label:
                self.label.setFocus()
                raise ServiceError("Say who the share is for (a name or clinic); it is required.")
            passcode = self._checked_passcode()
            selection = self.choice.selection()
        except ServiceError as exc:
            self.show_error(str(exc))
            return
        if self.choice.matching == 0:
            self.show_error("No records match this choice; choose something to share.")
            return
        suggested = documents_folder() / suggested_name(label, date.today(), ".phrshare", "share")
        output = choose_share_path(self, suggested)
        if output is None:
            return
        expires, attachments = self._expires(), self.attachments.isChecked()
        hand_out = not self.hold_back.isChecked()
        html = self.browser_file.isChecked()
        count = self.choice.matching
        recipient_type = str(self.recipient_type.currentData())
        allow_save = not self.view_only.isChecked()
        include_restricted = self.include_restricted.isChecked()

        def run(progress: ProgressCallback, _cancel: CancelToken) -> CreatedShare:
            progress(Progress(0, None, f"Sealing {count:,} record(s) for {label}…"))
            return create_share(
                session, output, selection, label, expires=expires, passcode=passcode,
                hand_out_key=hand_out, attachments=attachments, html=html,
                recipient_type=recipient_type, allow_save=allow_save,
                include_restricted=include_restricted,
            )  # fmt: skip

        self.create_button.setEnabled(False)
        self.runner.run(
            run,
            title="Creating the share",
            on_success=self._created,
            on_error=self._create_failed,
            cancellable=False,  # sealing is one step; the file appears whole or not at all
        )

    def _create_failed(self, exc: BaseException) -> bool:
        if self.closed:
            return isinstance(exc, USER_ERRORS)
        self.create_button.setEnabled(True)
        if isinstance(exc, USER_ERRORS):
            self.show_error(str(exc))
            return True
        return False

    # --- page 2: the result -------------------------------------------------------------------

    def _result_page(self) -> QWidget:
        page = QWidget(self)
        self.result_title = style.heading("", page)
        self.key_panel = KeyPanel(self.runner, page)
        self.held_back_note = QLabel(page)
        self.held_back_note.setWordWrap(True)
        self.held_back_note.setTextFormat(Qt.TextFormat.PlainText)
        self.held_back_note.setAccessibleName("Key held back")
        self.close_button = QPushButton("&Done", page)
        self.close_button.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.result_title)
        layout.addWidget(self.key_panel, 1)
        layout.addWidget(self.held_back_note, 1)
        layout.addLayout(buttons)
        return page

    def _created(self, created: CreatedShare) -> None:
        if self.closed or self.session is None:  # locked or closed while sealing
            return
        self.created = created
        self.passcode.clear()
        self.passcode_again.clear()
        label = self.label.text().strip()
        self.result_title.setText(f"The share for {label} is ready")
        handed = created.key_handed_out and bool(created.key)
        if handed:
            self.key_panel.show_share(created, label, patient_name(self.session))
        else:
            files = f" and {created.attachment_count:,} file(s)" if created.attachment_count else ""
            self.held_back_note.setText(
                f"{created.record_count:,} record(s){files} are sealed into {created.file}, "
                f"valid until {created.expires_at.astimezone():%Y-%m-%d %H:%M}.\n\n"
                + HELD_BACK_RESULT
            )
        self.key_panel.setVisible(handed)
        self.held_back_note.setVisible(not handed)
        self.pages.setCurrentIndex(1)
        self.close_button.setDefault(True)
        (self.key_panel.key_label if handed else self.close_button).setFocus()

    # --- closing ------------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget the key, the passcode and the session (closing and locking call this)."""
        self.closed = True
        self.key_panel.clear()
        self.created = None
        self.passcode.clear()
        self.passcode_again.clear()
        self.choice.clear()
        self.session = None
