"""Render the app icon (resources/icons/phr-desktop.svg) to the PNG sizes, .ico and .icns.

    .venv/bin/python packaging/make_icons.py             # refresh resources/icons/*.png
    .venv/bin/python packaging/make_icons.py --out DIR   # also write DIR/phr-desktop.ico, .icns

The PNGs are committed (the running app and the Linux hicolor theme use them); build.py
writes the .ico (Windows) and .icns (macOS) into the build folder. Qt renders the SVG and
Pillow (a dependency of matplotlib) packs the .ico and .icns, on any OS.
"""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
SOURCE = ICONS / "phr-desktop.svg"
# The hicolor theme's usual sizes; 1024 only feeds the .icns (its 512@2x slot).
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZE = 1024


def render_png(size: int) -> bytes:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"{SOURCE} is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data().data())


def png_path(size: int) -> Path:
    return ICONS / f"phr-desktop-{size}.png"


def write_pngs() -> None:
    for size in PNG_SIZES:
        png_path(size).write_bytes(render_png(size))


def write_ico_and_icns(out: Path) -> tuple[Path, Path]:
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    largest = Image.open(io.BytesIO(render_png(256)))
    ico = out / "phr-desktop.ico"
    # Pillow scales the 256 px image down for the smaller entries of the .ico.
    largest.save(ico, format="ICO", sizes=[(s, s) for s in ICO_SIZES])
    icns = out / "phr-desktop.icns"
    Image.open(io.BytesIO(render_png(ICNS_SIZE))).save(icns, format="ICNS")
    return ico, icns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="also write phr-desktop.ico and .icns here")
    args = parser.parse_args()
    write_pngs()
    if args.out:
        for path in write_ico_and_icns(args.out):
            print(path)


if __name__ == "__main__":
    main()
