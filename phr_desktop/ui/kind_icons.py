"""Icons and labels per record kind: small vector glyphs drawn with QPainter, crisp at any DPI."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

KIND_LABELS: dict[str, str] = {
    "problem": "Problem",
    "medication": "Medication",
    "lab_result": "Test result",
    "vital_sign": "Vital sign",
    "imaging": "Imaging",
    "clinical_note": "Clinical note",
    "document": "Document",
    "procedure": "Procedure",
    "immunization": "Immunization",
    "allergy": "Allergy",
    "encounter": "Visit",
    "patient": "Patient details",
}

# Category colours: mid-tone hues that read on light and dark backgrounds alike.
_KIND_COLOURS: dict[str, str] = {
    "problem": "#d9534f",
    "medication": "#3f7fd8",
    "lab_result": "#8a5cd0",
    "vital_sign": "#e0703a",
    "imaging": "#2f9aa0",
    "clinical_note": "#6b7a8f",
    "document": "#7d8a99",
    "procedure": "#c0568f",
    "immunization": "#3a9a5b",
    "allergy": "#d4a017",
    "encounter": "#4a6fa5",
    "patient": "#5f8f7a",
}

_SIZES = (16, 20, 24, 32, 48, 64)


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def kind_colour(kind: str) -> QColor:
    return QColor(_KIND_COLOURS.get(kind, "#7d8a99"))


@cache
def kind_icon(kind: str) -> QIcon:
    """A rounded tile in the kind's colour with a white glyph; one pixmap per common size."""
    icon = QIcon()
    for size in _SIZES:
        for ratio in (1.0, 2.0):
            pixmap = QPixmap(int(size * ratio), int(size * ratio))
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            _draw_tile(painter, float(size), kind)
            painter.end()
            icon.addPixmap(pixmap)
    return icon


def _draw_tile(p: QPainter, size: float, kind: str) -> None:
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(kind_colour(kind))
    p.drawRoundedRect(QRectF(0.5, 0.5, size - 1, size - 1), size * 0.22, size * 0.22)
    p.scale(size / 16.0, size / 16.0)  # glyphs are drawn on a 16×16 grid
    pen = QPen(QColor("white"), 1.4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    _GLYPHS.get(kind, _glyph_document)(p)


def _white(p: QPainter) -> None:
    p.setBrush(QColor("white"))


def _glyph_lab(p: QPainter) -> None:  # a flask
    path = QPainterPath(QPointF(6.5, 3.5))
    path.lineTo(6.5, 7.0)
    path.lineTo(3.8, 12.0)
    path.quadTo(3.5, 12.8, 4.5, 12.8)
    path.lineTo(11.5, 12.8)
    path.quadTo(12.5, 12.8, 12.2, 12.0)
    path.lineTo(9.5, 7.0)
    path.lineTo(9.5, 3.5)
    p.drawPath(path)
    p.drawLine(QPointF(5.5, 3.5), QPointF(10.5, 3.5))
    p.drawLine(QPointF(5.2, 10.0), QPointF(10.8, 10.0))


def _glyph_medication(p: QPainter) -> None:  # a capsule
    p.save()
    p.translate(8, 8)
    p.rotate(-45)
    p.drawRoundedRect(QRectF(-5.5, -2.4, 11, 4.8), 2.4, 2.4)
    _white(p)
    p.drawRoundedRect(QRectF(0, -2.4, 5.5, 4.8), 2.4, 2.4)
    p.drawRect(QRectF(0, -2.4, 2.4, 4.8))
    p.restore()


def _glyph_vital(p: QPainter) -> None:  # a pulse trace
    p.drawPolyline(
        QPolygonF(
            [QPointF(x, y) for x, y in ((2.5, 8.5), (5.5, 8.5), (7, 4.5), (9, 12), (10.5, 8.5))]
            + [QPointF(13.5, 8.5)]
        )
    )


def _glyph_problem(p: QPainter) -> None:  # a medical cross
    _white(p)
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRect(QRectF(6.6, 3.5, 2.8, 9))
    p.drawRect(QRectF(3.5, 6.6, 9, 2.8))


def _glyph_imaging(p: QPainter) -> None:  # a film with a round shadow
    p.drawRoundedRect(QRectF(3.5, 3.5, 9, 9), 1.5, 1.5)
    p.drawEllipse(QPointF(8, 8), 2.2, 2.2)


def _glyph_note(p: QPainter) -> None:  # lines of text
    for y, end in ((4.5, 12.5), (7, 12.5), (9.5, 12.5), (12, 9.0)):
        p.drawLine(QPointF(3.5, y), QPointF(end, y))


def _glyph_document(p: QPainter) -> None:  # a page with a folded corner
    path = QPainterPath(QPointF(4.5, 2.8))
    path.lineTo(9.2, 2.8)
    path.lineTo(11.8, 5.4)
    path.lineTo(11.8, 13.2)
    path.lineTo(4.5, 13.2)
    path.closeSubpath()
    p.drawPath(path)
    p.drawPolyline(QPolygonF([QPointF(9.2, 2.8), QPointF(9.2, 5.4), QPointF(11.8, 5.4)]))


def _glyph_procedure(p: QPainter) -> None:  # a scalpel
    p.drawLine(QPointF(3.5, 12.5), QPointF(8, 8))
    path = QPainterPath(QPointF(8, 8))
    path.lineTo(12.5, 3.5)
    path.quadTo(13, 7, 9.3, 9.3)
    path.closeSubpath()
    _white(p)
    p.drawPath(path)


def _glyph_immunization(p: QPainter) -> None:  # a syringe
    p.save()
    p.translate(8, 8)
    p.rotate(-45)
    p.drawRect(QRectF(-3.5, -1.8, 7, 3.6))
    p.drawLine(QPointF(3.5, 0), QPointF(6.5, 0))
    p.drawLine(QPointF(-3.5, 0), QPointF(-6, 0))
    p.drawLine(QPointF(-6, -2), QPointF(-6, 2))
    p.restore()


def _glyph_allergy(p: QPainter) -> None:  # an exclamation mark
    p.drawLine(QPointF(8, 3.5), QPointF(8, 9.5))
    _white(p)
    p.drawEllipse(QPointF(8, 12.3), 0.8, 0.8)


def _glyph_encounter(p: QPainter) -> None:  # a calendar page
    p.drawRoundedRect(QRectF(3.2, 4.2, 9.6, 8.8), 1.2, 1.2)
    p.drawLine(QPointF(3.2, 7), QPointF(12.8, 7))
    p.drawLine(QPointF(5.8, 2.8), QPointF(5.8, 5))
    p.drawLine(QPointF(10.2, 2.8), QPointF(10.2, 5))


def _glyph_patient(p: QPainter) -> None:  # a person
    p.drawEllipse(QPointF(8, 5.5), 2.3, 2.3)
    path = QPainterPath(QPointF(3.8, 13))
    path.quadTo(4.2, 9, 8, 9)
    path.quadTo(11.8, 9, 12.2, 13)
    p.drawPath(path)


_GLYPHS: dict[str, Callable[[QPainter], None]] = {
    "lab_result": _glyph_lab,
    "medication": _glyph_medication,
    "vital_sign": _glyph_vital,
    "problem": _glyph_problem,
    "imaging": _glyph_imaging,
    "clinical_note": _glyph_note,
    "document": _glyph_document,
    "procedure": _glyph_procedure,
    "immunization": _glyph_immunization,
    "allergy": _glyph_allergy,
    "encounter": _glyph_encounter,
    "patient": _glyph_patient,
}
