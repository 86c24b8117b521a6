"""The header band over every screen of an unlocked profile: whose record this is (name, age
and birth date) in the profile's own colour, so a family computer never shows one person's
record as another's; and the dialog that edits that person."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from phr_desktop.domain.person_match import PersonName
from phr_desktop.services.errors import ServiceError
from phr_desktop.services.person import PROFILE_COLOURS, age_on
from phr_desktop.services.session import Session
from phr_desktop.ui import style


def person_line(session: Session, today: date | None = None) -> tuple[str, str]:
    """(name, "born 1970-05-01 · 56 years") for the band and the window title."""
    profile = session.person.get()
    if profile is None:
        return session.profile_name, "whose record: not set yet (the first import sets it)"
    person = profile.person
    age = age_on(person.birth_date, today or date.today())
    born = f"born {person.birth_date}" if person.birth_date else "birth date not known"
    return person.display_name, born + (f" · {age} years" if age is not None else "")


def _text_colour(background: str) -> str:
    colour = QColor(background)
    light = 0.299 * colour.red() + 0.587 * colour.green() + 0.114 * colour.blue()
    return "#000000" if light > 150 else "#FFFFFF"


class PersonBand(QWidget):
    edited = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setObjectName("personBand")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setAccessibleName("Whose record")
        self.name_label = QLabel(self)
        self.name_label.setFont(style.scaled_font(self.name_label, 1.3, bold=True))
        self.name_label.setAccessibleName("Person")
        self.born_label = QLabel(self)
        self.born_label.setAccessibleName("Birth date and age")
        self.profile_label = QLabel(self)
        self.edit_button = QPushButton("Edit…", self)
        self.edit_button.setToolTip("Edit whose record this profile is")
        self.edit_button.clicked.connect(self.edit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.addWidget(self.name_label)
        layout.addWidget(self.born_label)
        layout.addStretch(1)
        layout.addWidget(self.profile_label)
        layout.addWidget(self.edit_button)
        self.refresh()

    @property
    def colour(self) -> str:
        return self.session.person.colour()

    def refresh(self) -> None:
        name, born = person_line(self.session)
        self.name_label.setText(name)
        self.born_label.setText(born)
        self.profile_label.setText(f"Profile: {self.session.profile_name}")
        colour = self.colour
        text = _text_colour(colour)
        self.setStyleSheet(
            f"#personBand {{ background: {colour}; }} #personBand QLabel {{ color: {text}; }}"
        )

    def edit(self) -> None:
        dialog = PersonDialog(self.session, self)
        dialog.accepted.connect(self._saved)
        dialog.open()

    def _saved(self) -> None:
        self.refresh()
        self.edited.emit()


class PersonDialog(QDialog):
    """Name, birth date, sex and colour of the profile's person: the patient's own words."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Whose record is this?")
        profile = session.person.get()
        person = profile.person if profile else None
        self.name_edit = QLineEdit(person.display_name if person and person.names else "", self)
        self.name_edit.setPlaceholderText("Given names Family name")
        self.birth_edit = QLineEdit((person.birth_date or "") if person else "", self)
        self.birth_edit.setPlaceholderText("YYYY-MM-DD")
        self.sex_box = QComboBox(self)
        self.sex_box.addItems(["", "female", "male", "other", "unknown"])
        self.sex_box.setCurrentText((person.sex or "") if person else "")
        self.colour_box = QComboBox(self)
        self.colour_box.addItems(list(PROFILE_COLOURS))
        self.colour_box.setCurrentText(session.person.colour())
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.hide()
        form = QFormLayout()
        form.addRow("Name:", self.name_edit)
        form.addRow("Birth date:", self.birth_edit)
        form.addRow("Sex:", self.sex_box)
        form.addRow("Colour:", self.colour_box)
        if profile and profile.aliases:
            names = ", ".join(a.name.display for a in profile.aliases)
            form.addRow("Also known as:", style.muted(names, self))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def save(self) -> None:
        text = self.name_edit.text().strip()
        try:
            self.session.person.set(
                [PersonName.parse(text)] if text else [],
                self.birth_edit.text().strip() or None,
                self.sex_box.currentText() or None,
                colour=self.colour_box.currentText(),
            )
        except ServiceError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self.accept()
