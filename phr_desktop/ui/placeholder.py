"""A placeholder main window until the full desktop UI lands: the profile and its record counts."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QMainWindow, QVBoxLayout, QWidget

KIND_LABELS = {
    "problem": "Problems",
    "medication": "Medications",
    "lab_result": "Test results",
    "vital_sign": "Vital signs",
    "imaging": "Imaging",
    "clinical_note": "Clinical notes",
    "document": "Documents",
    "procedure": "Procedures",
    "immunization": "Immunizations",
    "allergy": "Allergies",
    "encounter": "Visits",
    "patient": "Patient details",
}


class PlaceholderWindow(QMainWindow):
    def __init__(self, title: str, counts: dict[str, int] | None, profiles: list[str]) -> None:
        super().__init__()
        self.setWindowTitle(f"phr-desktop — {title}")
        body = QWidget(self)
        layout = QVBoxLayout(body)
        self.heading = QLabel(title, body)
        self.heading.setAccessibleName("Profile")
        self.heading.setStyleSheet("font-size: 18pt; font-weight: 600;")
        layout.addWidget(self.heading)
        self.summary = QListWidget(body)
        self.summary.setAccessibleName("Records by category")
        if counts is not None:
            for kind, count in sorted(counts.items(), key=lambda kv: -kv[1]):
                self.summary.addItem(f"{KIND_LABELS.get(kind, kind)}: {count}")
        else:
            for name in profiles:
                self.summary.addItem(f"Profile: {name}")
        layout.addWidget(self.summary)
        note = QLabel(
            "This early build shows a summary only. Use the `phr` command for records, search, "
            "timeline and milestones.",
            body,
        )
        note.setWordWrap(True)
        note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(note)
        self.setCentralWidget(body)
        self.resize(520, 420)
