"""The first steps a new profile offers: the dashboard's card while the record is still empty.

An empty dashboard of "Nothing here yet." lists tells a patient nothing about what to do next;
this card names the four ways in and each button does it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QGridLayout, QGroupBox, QPushButton, QWidget

from phr_desktop.ui import style

# (object name, button text, what it does): the text a patient reads under each button.
STEPS: tuple[tuple[str, str, str], ...] = (
    ("connect", "Connect a provider…",
     "Sign in at your hospital's or doctor's patient portal and fetch your records."),
    ("import", "Import files…",
     "Files you downloaded: C-CDA (.xml, .ccd), FHIR (.json, .ndjson), PDFs and images."),
    ("add_result", "Add a result…",
     "Type in a test result yourself, for example an AAT level from a letter."),
    ("demo", "Open the demo",
     "Look around a made-up patient's record first; nothing of yours is changed."),
)  # fmt: skip


class GettingStarted(QGroupBox):
    """Four buttons, each with a line saying what it does; the owner wires the signals."""

    connectRequested = Signal()
    importRequested = Signal()
    addResultRequested = Signal()
    demoRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Get started", parent)
        self.setAccessibleName("Get started")
        grid = QGridLayout(self)
        grid.setColumnStretch(1, 1)
        intro = style.muted(
            "This record is empty. Bring your records in one of these ways; you can use several.",
            self,
        )
        grid.addWidget(intro, 0, 0, 1, 2)
        signals = {
            "connect": self.connectRequested,
            "import": self.importRequested,
            "add_result": self.addResultRequested,
            "demo": self.demoRequested,
        }
        self.buttons: dict[str, QPushButton] = {}
        for row, (key, text, explanation) in enumerate(STEPS, start=1):
            button = QPushButton(text, self)
            button.setObjectName(f"get-started-{key}")
            button.setAccessibleDescription(explanation)
            button.clicked.connect(signals[key].emit)
            grid.addWidget(button, row, 0)
            grid.addWidget(style.muted(explanation, self), row, 1)
            self.buttons[key] = button
        grid.setRowStretch(len(STEPS) + 1, 1)  # the steps stay together at the top
