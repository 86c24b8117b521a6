"""Help → User guide: the offline guide (resources/guide/user-guide.md) rendered by Qt.

Markdown rather than HTML: it reads as plain text in the source tree and Qt renders headings,
lists and emphasis in the palette's colours, dark mode included.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from phr_desktop.resources import resource_path
from phr_desktop.ui.screen_fit import fit_to_screen

GUIDE_FILE = ("guide", "user-guide.md")


def guide_text() -> str:
    return resource_path(*GUIDE_FILE).read_text(encoding="utf-8")


class UserGuide(QDialog):
    """A non-modal window: the guide stays open beside the app while the patient follows it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("User guide")
        self.browser = QTextBrowser(self)
        self.browser.setAccessibleName("User guide")
        self.browser.setOpenExternalLinks(False)  # offline: the guide links nowhere
        self.browser.setMarkdown(guide_text())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        char = self.fontMetrics().averageCharWidth()
        self.resize(char * 90, self.fontMetrics().height() * 45)
        fit_to_screen(self)
