"""The printable one-page hand-out that goes with a share: the key as QR and text, how to
open the file, and the fingerprint of the signing key so the clinician can check who made it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm
from reportlab.platypus import KeepInFrame, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from phr_desktop.interop.pdf.qr import QrFlowable
from phr_desktop.interop.pdf.styles import ACCENT, ALERT, FONT_BOLD, MUTED, RULE, esc, style

TITLE = style("HoTitle", 20, fontName=FONT_BOLD, textColor=ACCENT, leading=24)
HEAD = style("HoHead", 11, fontName=FONT_BOLD, textColor=ACCENT, spaceBefore=8, spaceAfter=3)
BODY = style("HoBody", 10, leading=13.5)
SMALL = style("HoSmall", 8, textColor=MUTED)
KEY = style("HoKey", 15, fontName="Courier-Bold", leading=20)
FINGERPRINT = style("HoFingerprint", 12, fontName="Courier-Bold", leading=16)
WARN = style("HoWarn", 9.5, textColor=ALERT, leading=12.5)


@dataclass(frozen=True)
class HandoutFacts:
    patient_name: str
    recipient: str
    file_name: str
    key: str  # what the QR carries: the key as typed (10 groups of 5, joined by '-')
    key_display: str  # the same, for reading aloud or typing
    fingerprint_display: str
    created_at: datetime
    expires_at: datetime
    record_count: int
    attachment_count: int
    passcode: bool
    html_file_name: str | None = None  # the same share as a page for any browser, if made


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _key_lines(key_display: str, groups_per_line: int = 5) -> str:
    """Break the grouped key between groups, never inside one."""
    groups = key_display.replace("-", " ").split()
    lines = [
        "-".join(groups[i : i + groups_per_line]) for i in range(0, len(groups), groups_per_line)
    ]
    return "<br/>".join(esc(line) for line in lines)


def _facts_table(facts: HandoutFacts) -> Table:
    rows = [
        ("From", facts.patient_name or "(no name)"),
        ("For", facts.recipient or "(no label)"),
        ("File", facts.file_name),
        *([("Browser file", facts.html_file_name)] if facts.html_file_name else []),
        ("Made", _when(facts.created_at)),
        ("Opens until", _when(facts.expires_at)),
        (
            "Contents",
            f"{facts.record_count} records"
            + (f" and {facts.attachment_count} attached files" if facts.attachment_count else ""),
        ),
    ]
    table = Table(
        [[Paragraph(esc(k), SMALL), Paragraph(esc(v), BODY)] for k, v in rows],
        colWidths=(2.6 * cm, 14.4 * cm),
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -2), 0.4, RULE),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def _steps(facts: HandoutFacts) -> list[Paragraph]:
    passcode = (
        " Then type the <b>passcode</b>, which the patient tells you separately (it is not on "
        "this sheet)."
        if facts.passcode
        else ""
    )
    app = (
        "phr-desktop (free, runs on Windows, macOS and Linux): open "
        f"<b>{esc(facts.file_name)}</b> by double-clicking it, with File → Open share…, or with "
        "<font face='Courier'>phr share open FILE</font> (it asks for the key)."
    )
    if facts.html_file_name:
        ways = [
            "Nothing to install: double-click <b>"
            f"{esc(facts.html_file_name)}</b> to open it in any current browser (Chrome, Edge, "
            "Firefox, Safari), even offline. The page sends nothing anywhere and forgets "
            "everything when you close the tab.",
            "Or with the app, " + app,
        ]
        checker = "The page and phr-desktop both check"
    else:
        ways = ["Install " + app]
        checker = "phr-desktop checks"
    steps = [
        *ways,
        "Scan the QR code or type the key shown here." + passcode,
        f"{checker} that the file was signed by this patient's key (the key names it) and "
        "refuse a file anyone else re-signed; the fingerprint is printed below.",
    ]
    return [Paragraph(f"{n}. {text}", BODY) for n, text in enumerate(steps, 1)]


def handout_pdf_bytes(facts: HandoutFacts) -> bytes:
    """One A4 page; the content shrinks to fit rather than spill onto a second page."""
    qr = segno.make(facts.key, error="m")
    key_block = Table(
        [
            [
                QrFlowable(qr, 5.2 * cm),
                [
                    Paragraph("Key", HEAD),
                    Paragraph(_key_lines(facts.key_display), KEY),
                    Spacer(1, 4),
                    Paragraph(
                        "Capitals or small letters, dashes and spaces do not matter. There "
                        "is no O, I or L: those are 0 and 1. A typo is caught and its group "
                        "named.",
                        SMALL,
                    ),
                ],
            ]
        ],
        colWidths=(5.8 * cm, 11.2 * cm),
    )
    key_block.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BOX", (0, 0), (-1, -1), 0.8, ACCENT),
                ("BACKGROUND", (1, 0), (1, 0), colors.HexColor("#f3f6f9")),
            ]
        )
    )
    story = [
        Paragraph("Health records shared with you", TITLE),
        Paragraph(
            f"{esc(facts.patient_name or 'A patient')} has shared part of their health record "
            "with you as an encrypted, signed file made by phr-desktop.",
            BODY,
        ),
        Spacer(1, 6),
        _facts_table(facts),
        Spacer(1, 10),
        key_block,
        Paragraph("How to open it", HEAD),
        *_steps(facts),
        Paragraph("Who signed it", HEAD),
        Paragraph(
            "The file is signed by a key that belongs to the patient's phr-desktop profile. "
            "Its fingerprint:",
            BODY,
        ),
        Paragraph(esc(facts.fingerprint_display), FINGERPRINT),
        Paragraph(
            "The key above carries the start of this fingerprint, so phr-desktop itself "
            "refuses a file signed by any other key.",
            BODY,
        ),
        Spacer(1, 8),
        Paragraph(
            "Keep this sheet private. Anyone who has both the file and this key can read the "
            f"records until {_when(facts.expires_at)}; after that phr-desktop refuses to open "
            "it. Once the key has been handed out, the file cannot be recalled.",
            WARN,
        ),
    ]
    buffer = BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=2 * cm,
        rightMargin=2 * cm,
        topMargin=1.8 * cm,
        bottomMargin=1.8 * cm,
        title=f"Share hand-out for {facts.recipient}",
        author="phr-desktop",
    )
    doc.build([KeepInFrame(doc.width, doc.height, story, mode="shrink")])
    return buffer.getvalue()
