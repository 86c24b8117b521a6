"""The emergency summary PDF: one A4 page, or a wallet card (85.6 × 54 mm, front and back).

Both layouts shrink their content to fit, so the result is always exactly one page; the QR
code carries the same facts as a compact FHIR document (see fhir_document.py).
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path
from typing import Any, Literal

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import cm, mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Frame, KeepInFrame, Paragraph, Spacer, Table, TableStyle

from phr_desktop.interop.emergency.facts import (
    NO_ALLERGY_INFORMATION,
    EmergencyFacts,
    Item,
    allergy_lines,
    emergency_facts,
)
from phr_desktop.interop.emergency.fhir_document import QrPayload, qr_payload
from phr_desktop.interop.export_data import ExportData
from phr_desktop.interop.pdf.qr import QrFlowable
from phr_desktop.interop.pdf.styles import (
    ACCENT,
    ALERT,
    FONT,
    FONT_BOLD,
    MUTED,
    RULE,
    esc,
    register_fonts,
    style,
)

CARD_W, CARD_H = 85.6 * mm, 54 * mm
NOT_RECORDED = "not recorded"

TITLE = style("EmTitle", 18, fontName=FONT_BOLD, textColor=colors.white, leading=22)
SUBTITLE = style("EmSubtitle", 10, textColor=colors.white)
HEAD = style("EmHead", 10.5, fontName=FONT_BOLD, textColor=ACCENT, spaceBefore=6, spaceAfter=2)
BODY = style("EmBody", 9.5)
SMALL = style("EmSmall", 7.5, textColor=MUTED)
ALERT_BODY = style("EmAlert", 11, fontName=FONT_BOLD, textColor=ALERT, leading=14)


def write_emergency_pdf(
    data: ExportData, path: Path, layout: Literal["page", "wallet"] = "page"
) -> None:
    path.write_bytes(emergency_pdf_bytes(data, layout))


def emergency_pdf_bytes(data: ExportData, layout: Literal["page", "wallet"] = "page") -> bytes:
    register_fonts()
    facts = emergency_facts(data)
    payload = qr_payload(facts)
    out = BytesIO()
    canv = Canvas(out, pagesize=A4, pageCompression=1)
    canv.setTitle(f"Emergency summary: {facts.name}")
    canv.setAuthor(facts.name)
    canv.setCreator(f"phr-desktop {data.app_version}")
    if layout == "wallet":
        _wallet(canv, facts, payload)
    else:
        _page(canv, facts, payload)
    canv.showPage()
    canv.save()
    return out.getvalue()


# ---- shared text -------------------------------------------------------------------------


def _diagnosis(facts: EmergencyFacts) -> str:
    if facts.aatd is None and not facts.genotype:
        return "Alpha-1 antitrypsin deficiency: " + NOT_RECORDED
    genotype = facts.genotype or "genotype not recorded"
    return f"Alpha-1 antitrypsin deficiency (AATD), {genotype}"


def _item(item: Item, with_sources: bool = True) -> str:
    text = f"<b>{esc(item.text)}</b>"
    if item.detail:
        text += f" — {esc(item.detail)}"
    if with_sources and item.sources:
        text += f' <font color="#5f6b7a" size="7.5">({esc(", ".join(item.sources))})</font>'
    return text


def _lines(items: list[str], empty: str = NOT_RECORDED, st: Any = BODY) -> list[Flowable]:
    if not items:
        return [Paragraph(f"<i>{esc(empty)}</i>", st)]
    return [Paragraph(f"• {i}", st) for i in items]


def _contacts(facts: EmergencyFacts) -> list[str]:
    out = []
    for c in facts.emergency_contacts:
        rel = f" ({esc(c.relationship)})" if c.relationship else ""
        phones = f": {esc(', '.join(c.phones))}" if c.phones else ""
        out.append(f"<b>{esc(c.name)}</b>{rel}{phones}")
    return out


def _lung(facts: EmergencyFacts) -> list[str]:
    def show(label: str, m: Any) -> str:
        return f"{label}: <b>{esc(m.text)}</b>" if m else f"{label}: <i>{NOT_RECORDED}</i>"

    return [
        show("Latest FEV1", facts.fev1_latest),
        show("Baseline FEV1", facts.fev1_baseline),
        show("Latest AAT level", facts.aat_latest),
    ]


def _qr_note(payload: QrPayload) -> str:
    note = "Scan: this summary as a FHIR document (JSON)."
    if payload.dropped:
        note += " Left out of the code for size: " + "; ".join(payload.dropped) + "."
    return note


# ---- one A4 page -------------------------------------------------------------------------


def _page(canv: Canvas, facts: EmergencyFacts, payload: QrPayload) -> None:
    width, height = A4
    margin = 1.6 * cm
    band = 2.6 * cm
    canv.setFillColor(ALERT)
    canv.rect(0, height - band, width, band, 0, 1)
    header = Frame(margin, height - band, width - 2 * margin, band, showBoundary=0)
    born = facts.birth_date or NOT_RECORDED
    sex = f" · {facts.gender}" if facts.gender else ""
    header.addFromList(
        [
            Paragraph("EMERGENCY MEDICAL SUMMARY", TITLE),
            Paragraph(f"<b>{esc(facts.name)}</b> · born {esc(born)}{esc(sex)}", SUBTITLE),
        ],
        canv,
    )
    qr_size = 6.2 * cm
    left: list[Flowable] = [
        Paragraph("Diagnosis", HEAD),
        Paragraph(esc(_diagnosis(facts)), ALERT_BODY),
        *_lines([_item(p, False) for p in facts.other_problems], "no other active problems"),
        Paragraph("Allergies", HEAD),
        *_lines([_item(a) for a in allergy_lines(facts)], NO_ALLERGY_INFORMATION, ALERT_BODY),
        Paragraph("Current medications", HEAD),
        *_lines(
            ([f"Augmentation therapy: {_item(facts.augmentation)}"] if facts.augmentation else [])
            + [_item(m) for m in facts.medications],
            "no current medications recorded",
        ),
        Paragraph("Lung function and AAT level", HEAD),
        *_lines(_lung(facts)),
    ]
    right: list[Flowable] = [
        QrFlowable(payload.qr, qr_size),
        Paragraph(esc(_qr_note(payload)), SMALL),
        Paragraph("Emergency contact", HEAD),
        *_lines(_contacts(facts)),
    ]
    body_w = width - 2 * margin
    columns = Table([[left, right]], colWidths=(body_w - qr_size - 0.6 * cm, qr_size + 0.6 * cm))
    columns.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (0, 0), 12),
            ]
        )
    )
    sources = ", ".join(facts.sources) or NOT_RECORDED
    story: list[Flowable] = [
        columns,
        Paragraph("Care team", HEAD),
        *_lines([esc(c) for c in facts.care_team]),
        Spacer(1, 8),
        Paragraph(
            esc(
                f"Prepared by the patient with phr-desktop on {facts.generated_at[:10]} from "
                f"records of: {sources}. Confirm with the care team before acting on it."
            ),
            SMALL,
        ),
    ]
    frame_h = height - band - 2 * margin + 0.6 * cm
    frame = Frame(margin, margin, body_w, frame_h, showBoundary=0)
    frame.addFromList([KeepInFrame(body_w, frame_h, story, mode="shrink")], canv)


# ---- wallet card ------------------------------------------------------------------------


def _wallet(canv: Canvas, facts: EmergencyFacts, payload: QrPayload) -> None:
    width, height = A4
    x0 = (width - 2 * CARD_W - 8 * mm) / 2
    y0 = height - 3 * cm - CARD_H
    canv.setFont(FONT_BOLD, 12)
    canv.setFillColor(ACCENT)
    canv.drawString(x0, height - 2 * cm, f"Emergency wallet card: {facts.name}")
    canv.setFont(FONT, 8)
    canv.setFillColor(MUTED)
    canv.drawString(
        x0,
        height - 2 * cm - 12,
        "Print at 100 % (no scaling). Cut out both sides along the outlines, fold back to "
        "back and laminate.",
    )
    for i, draw in enumerate((_card_front, _card_back)):
        x = x0 + i * (CARD_W + 8 * mm)
        canv.setStrokeColor(RULE)
        canv.setDash(3, 2)
        canv.roundRect(x, y0, CARD_W, CARD_H, 3 * mm, 1, 0)
        canv.setDash()
        draw(canv, x, y0, facts, payload)


def _card_front(canv: Canvas, x: float, y: float, facts: EmergencyFacts, _: QrPayload) -> None:
    band = 9 * mm
    canv.setFillColor(ALERT)
    canv.roundRect(x, y + CARD_H - band, CARD_W, band, 3 * mm, 0, 1)
    canv.rect(x, y + CARD_H - band, CARD_W, band / 2, 0, 1)  # square off the lower corners
    canv.setFillColor(colors.white)
    canv.setFont(FONT_BOLD, 8.5)
    canv.drawString(x + 3 * mm, y + CARD_H - 4.2 * mm, "EMERGENCY MEDICAL INFORMATION")
    canv.setFont(FONT, 7)
    born = facts.birth_date or NOT_RECORDED
    canv.drawString(x + 3 * mm, y + CARD_H - 7.6 * mm, f"{facts.name} · born {born}")
    tiny = style("CardBody", 6.2, leading=7.4)
    alert = style("CardAlert", 6.8, leading=8, fontName=FONT_BOLD, textColor=ALERT)
    aug = facts.augmentation.text if facts.augmentation else NOT_RECORDED
    allergies = ", ".join(a.text for a in allergy_lines(facts)) or NO_ALLERGY_INFORMATION
    meds = "; ".join(m.text for m in facts.medications) or NOT_RECORDED
    contact = "; ".join(
        f"{c.name}{f' ({c.relationship})' if c.relationship else ''} {' '.join(c.phones)}"
        for c in facts.emergency_contacts[:1]
    )
    story: list[Flowable] = [
        Paragraph(esc(_diagnosis(facts)), alert),
        Paragraph(f"<b>Allergies:</b> {esc(allergies)}", alert),
        Paragraph(f"<b>Augmentation:</b> {esc(aug)}", tiny),
        Paragraph(f"<b>Other medicines:</b> {esc(meds)}", tiny),
        Paragraph(f"<b>Emergency contact:</b> {esc(contact or NOT_RECORDED)}", tiny),
    ]
    pad = 2.5 * mm
    w, h = CARD_W - 2 * pad, CARD_H - band - 2 * pad + 1 * mm
    frame = Frame(x + pad, y + pad - 1 * mm, w, h, 0, 0, 0, 0)
    frame.addFromList([KeepInFrame(w, h, story, mode="shrink")], canv)


def _card_back(canv: Canvas, x: float, y: float, facts: EmergencyFacts, payload: QrPayload) -> None:
    pad = 2.5 * mm
    qr_size = CARD_H - 2 * pad
    QrFlowable(payload.qr, qr_size).drawOn(canv, x + pad, y + pad)
    tiny = style("CardBack", 6, leading=7.2)
    lung = [
        f"<b>Latest FEV1:</b> {esc(facts.fev1_latest.text if facts.fev1_latest else NOT_RECORDED)}",
        f"<b>Baseline FEV1:</b> "
        f"{esc(facts.fev1_baseline.text if facts.fev1_baseline else NOT_RECORDED)}",
        f"<b>Latest AAT:</b> {esc(facts.aat_latest.text if facts.aat_latest else NOT_RECORDED)}",
        "<b>Care team:</b> " + esc("; ".join(facts.care_team[:2]) or NOT_RECORDED),
    ]
    story: list[Flowable] = [Paragraph(line, tiny) for line in lung]
    story.append(
        Paragraph("QR: this card as a FHIR document.", style("CardQr", 5.5, textColor=MUTED))
    )
    left = x + pad + qr_size + 1 * mm
    w, h = x + CARD_W - pad - left, CARD_H - 2 * pad
    frame = Frame(left, y + pad, w, h, 0, 0, 0, 0)
    frame.addFromList([KeepInFrame(w, h, story, mode="shrink")], canv)
