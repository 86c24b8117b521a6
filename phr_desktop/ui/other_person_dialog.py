"""A file held because it is (or may be) another person's: both people side by side, and the
patient's three choices: import it into another profile, "this is me", or cancel."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.services.person import PersonCheck
from phr_desktop.ui import style

if TYPE_CHECKING:  # the importers load on the first import, not at start
    from phr_desktop.services.importing import FileOutcome


class OtherPersonChoice(StrEnum):
    ANOTHER_PROFILE = "another_profile"
    THIS_IS_ME = "this_is_me"
    CANCEL = "cancel"


class OtherPersonDialog(QDialog):
    def __init__(self, file_name: str, check: PersonCheck, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.choice = OtherPersonChoice.CANCEL
        close = check.verdict.value == "close_call"
        self.setWindowTitle("May be someone else's record" if close else "Someone else's record")
        intro = QLabel(
            f"{file_name} {'may be' if close else 'is'} for another person ({check.reason}). "
            "Nothing from it was imported.",
            self,
        )
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        grid = QGridLayout()
        grid.addWidget(style.heading("This profile", self, 1.1), 0, 1)
        grid.addWidget(style.heading("In the file", self, 1.1), 0, 2)
        rows = (
            ("Name", check.profile.display_name if check.profile else "—",
             check.incoming.display_name if check.incoming else "—"),
            ("Birth date", (check.profile.birth_date if check.profile else None) or "—",
             (check.incoming.birth_date if check.incoming else None) or "—"),
        )  # fmt: skip
        self.cells: dict[str, tuple[QLabel, QLabel]] = {}
        for row, (label, mine, theirs) in enumerate(rows, start=1):
            grid.addWidget(QLabel(f"{label}:", self), row, 0)
            left, right = QLabel(mine, self), QLabel(theirs, self)
            left.setAccessibleName(f"This profile's {label.lower()}")
            right.setAccessibleName(f"The file's {label.lower()}")
            grid.addWidget(left, row, 1)
            grid.addWidget(right, row, 2)
            self.cells[label] = (left, right)
        buttons = QDialogButtonBox(self)
        self.another_button = QPushButton("Import into another profile…", self)
        self.another_button.setToolTip("Lock this profile; open or create that person's profile")
        self.me_button = QPushButton("This is me", self)
        self.me_button.setToolTip("Import it here and remember this name as mine")
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        buttons.addButton(self.another_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.me_button, QDialogButtonBox.ButtonRole.ActionRole)
        cancel.setDefault(True)
        self.another_button.clicked.connect(lambda: self._choose(OtherPersonChoice.ANOTHER_PROFILE))
        self.me_button.clicked.connect(lambda: self._choose(OtherPersonChoice.THIS_IS_ME))
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(grid)
        layout.addWidget(buttons)

    def _choose(self, choice: OtherPersonChoice) -> None:
        self.choice = choice
        self.accept()


def ask_about_other_person(
    parent: QWidget | None, file_name: str, check: PersonCheck
) -> OtherPersonChoice:
    """Show both people side by side and ask (tests replace this: it blocks on the user)."""
    dialog = OtherPersonDialog(file_name, check, parent)
    dialog.exec()
    return dialog.choice


def decide_held(
    parent: QWidget | None, held: Sequence[FileOutcome]
) -> tuple[list[Path], list[Path]]:
    """Ask about each held file: (the files that are "me", those for another profile)."""
    mine: list[Path] = []
    elsewhere: list[Path] = []
    for outcome in held:
        if outcome.person is None:
            continue
        choice = ask_about_other_person(parent, Path(outcome.path).name, outcome.person)
        if choice is OtherPersonChoice.THIS_IS_ME:
            mine.append(Path(outcome.path))
        elif choice is OtherPersonChoice.ANOTHER_PROFILE:
            elsewhere.append(Path(outcome.path))
    return mine, elsewhere
