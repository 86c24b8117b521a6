"""The record detail's rows about a record's context: the people it names (ordered by,
performed by…) and, for imaging, modality, body site, size and the linked report or study."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QLabel, QWidget

from phr_desktop.domain.participants import ROLES
from phr_desktop.services.record_context import RecordContext
from phr_desktop.ui.timeline.model import format_date

IMAGING_ROWS = ("Modality", "Body site", "Series and images")
LINK_ROW = "Linked"
CONTEXT_ROWS = (*IMAGING_ROWS, LINK_ROW, *ROLES)


class RecordContextRows:
    """Rows added to the Summary form; each shown only when the source says something."""

    def __init__(
        self, form: QFormLayout, parent: QWidget, open_record: Callable[[int], None]
    ) -> None:
        self._form = form
        self.fields: dict[str, QLabel] = {}
        for name in CONTEXT_ROWS:
            label = QLabel(parent)
            label.setAccessibleName(name)
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
            form.addRow(f"{name}:", label)
            self.fields[name] = label
        # "record:12" links open the linked report (or study) in the detail.
        self.fields[LINK_ROW].linkActivated.connect(
            lambda link: open_record(int(link.split(":", 1)[1]))
        )
        self.clear()

    def clear(self) -> None:
        for label in self.fields.values():
            label.clear()
            self._form.setRowVisible(label, False)

    def show(self, context: RecordContext, is_study: bool) -> None:
        texts: dict[str, str] = {}
        if context.imaging is not None:
            summary = context.imaging
            texts["Modality"] = ", ".join(summary.modalities)
            texts["Body site"] = ", ".join(summary.body_sites)
            texts["Series and images"] = summary.size_text
        for person in context.people:
            texts[person.role] = ", ".join(filter(None, (texts.get(person.role), person.name)))
        for name, label in self.fields.items():
            if name == LINK_ROW:
                continue
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setText(texts.get(name, ""))
            self._form.setRowVisible(label, bool(texts.get(name)))
        links = [
            f'<a href="record:{s.id}">{escape(s.record.title)}</a> '
            f"({escape(format_date(s.record.effective))})"
            for s in context.linked
        ]
        link_label = self.fields[LINK_ROW]
        link_label.setTextFormat(Qt.TextFormat.RichText)
        link_label.setText("<br>".join(links))
        self._form.setRowVisible(link_label, bool(links))
        # The row's caption says what the link is: a study's report, a report's images.
        caption = self._form.labelForField(link_label)
        if isinstance(caption, QLabel):
            caption.setText("Report:" if is_study else "Imaging study:")
