"""Pieces shared by the dialogs that show sharing keys or the activity log: they forget what
they showed however they close, and list rows in a read-only, keyboard-friendly table."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QAbstractItemView, QDialog, QHeaderView, QTableWidget, QWidget


class ClearingDialog(QDialog):
    """A dialog that calls `clear()` when it closes by any path (button, Esc, window close,
    the app locking), so keys and health details do not linger in hidden widgets."""

    def clear(self) -> None:
        raise NotImplementedError

    def done(self, result: int) -> None:
        self.clear()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.clear()
        super().closeEvent(event)


def read_only_table(
    columns: Sequence[str], name: str, stretch: int, parent: QWidget
) -> QTableWidget:
    """Whole-row, single selection; Tab leaves the table; column `stretch` takes the room."""
    table = QTableWidget(0, len(columns), parent)
    table.setAccessibleName(name)
    table.setHorizontalHeaderLabels(list(columns))
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setTabKeyNavigation(False)
    table.verticalHeader().hide()
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table
