"""A QR code as a reportlab flowable, shared by the emergency summary and the share hand-out."""

from __future__ import annotations

import segno
from reportlab.lib import colors
from reportlab.platypus import Flowable


class QrFlowable(Flowable):
    """A QR code drawn as vector squares (sharp at any print size)."""

    def __init__(self, qr: segno.QRCode, size: float) -> None:
        super().__init__()
        self.qr, self.size = qr, size
        self.width = self.height = size

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        rows = list(self.qr.matrix_iter(scale=1, border=4))
        module = self.size / len(rows)
        canv = self.canv
        canv.setFillColor(colors.black)
        for y, row in enumerate(rows):
            x = 0
            cells = list(row)
            while x < len(cells):
                if cells[x]:
                    start = x
                    while x < len(cells) and cells[x]:
                        x += 1
                    top = self.size - (y + 1) * module
                    canv.rect(start * module, top, (x - start) * module, module, 0, 1)
                else:
                    x += 1
