"""Entry forms ask for names: a name box that suggests as you type (services/entry_names.py)
and fills the codes behind it, and code fields kept under "Advanced codes"."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import QCheckBox, QCompleter, QFormLayout, QLineEdit, QWidget

from phr_desktop.services.entry_names import NamedCode, find


def attach_name_lookup(
    edit: QLineEdit, names: Sequence[NamedCode], chosen: Callable[[NamedCode], None]
) -> QCompleter:
    """Suggest `names` containing what is typed (any case); when the text is one of them,
    `chosen` fills in its codes."""
    completer = QCompleter(edit)
    completer.setModel(QStringListModel([n.name for n in names], completer))
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    edit.setCompleter(completer)
    listed = list(names)

    def settle(_text: str = "") -> None:
        found = find(listed, edit.text())
        if found is not None:
            chosen(found)

    completer.activated.connect(settle)
    edit.editingFinished.connect(settle)
    return completer


class AdvancedRows:
    """Code fields hidden behind a "Show the codes (advanced)" box at the end of the form:
    picking a name fills them in; someone who knows a code can still type it."""

    def __init__(self, form: QFormLayout, parent: QWidget, rows: Sequence[QLineEdit]) -> None:
        self.form = form
        self.rows = list(rows)
        self.toggle = QCheckBox("Show the &codes (advanced)", parent)
        self.toggle.setAccessibleDescription(
            "Codes are filled in when you pick a name from the suggestions"
        )
        form.addRow("", self.toggle)
        self.toggle.toggled.connect(self._show)
        self._show(False)

    def _show(self, on: bool) -> None:
        for row in self.rows:
            self.form.setRowVisible(row, on)

    def visible(self) -> bool:
        return self.toggle.isChecked()
