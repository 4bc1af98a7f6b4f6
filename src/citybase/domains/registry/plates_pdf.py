"""The PDF writer of door-plate sheets (reportlab, offline).

Chinese text uses reportlab's built-in CID font ``STSong-Light`` (Adobe-GB1): the PDF names the font
and readers supply it, so no font file ships or downloads. Display codes use Helvetica. The layout is
``plates.slot`` and the plate geometry the same millimetres as the SVG writer.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from reportlab.lib.colors import HexColor, black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from citybase.domains.registry.plates import (
    PAGE_H,
    PLATE_H,
    PLATE_W,
    QR_SIZE,
    QR_X,
    QR_Y,
    TEXT_X,
    Plate,
    PlateSheet,
    qr_matrix,
    qr_runs,
    slot,
)

CJK_FONT = "STSong-Light"
PLATE_BLUE = HexColor("#1f4e9c")


def _register_font() -> None:
    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


def _draw_plate(c: Canvas, plate: Plate, x: float, y_top: float) -> None:
    """Draw one plate whose top left corner is (x, y_top) in mm from the page's top left."""

    def at(px: float, py: float) -> tuple[float, float]:  # plate mm (y down) -> PDF points (y up)
        return (x + px) * mm, (PAGE_H - y_top - py) * mm

    c.setFillColor(PLATE_BLUE)
    left, bottom = at(0.4, PLATE_H - 0.4)
    c.roundRect(left, bottom, (PLATE_W - 0.8) * mm, (PLATE_H - 0.8) * mm, 3 * mm, stroke=0, fill=1)
    c.setFillColor(white)
    qx, qy = at(QR_X, QR_Y + QR_SIZE)
    c.rect(qx, qy, QR_SIZE * mm, QR_SIZE * mm, stroke=0, fill=1)
    matrix = qr_matrix(plate.url)
    module = QR_SIZE / (len(matrix) + 8)
    c.setFillColor(black)
    for mx, my, w in qr_runs(matrix):
        rx, ry = at(QR_X + (mx + 4) * module, QR_Y + (my + 5) * module)
        c.rect(rx, ry, w * module * mm, module * mm, stroke=0, fill=1)
    c.setFillColor(white)
    c.setFont(CJK_FONT, 20)
    c.drawString(*at(TEXT_X, 14), plate.title[:12])
    c.setFont(CJK_FONT, 40 if len(plate.number) <= 5 else 26)
    c.drawString(*at(TEXT_X, 34), plate.number[:14])
    c.setFont("Helvetica", 9)
    c.drawString(*at(TEXT_X, 55), plate.display_code)
    c.setFont(CJK_FONT, 8.5)
    c.drawCentredString(*at(QR_X + QR_SIZE / 2, 55), "扫码查看地址 · 报告变更")


def sheet_pdf(sheet: PlateSheet, on_plate: Callable[[int], None] | None = None) -> bytes:
    """The sheet as an A4 PDF: one page per 8 plates (one empty page when there are none)."""
    _register_font()
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=True, pageCompression=1)
    c.setTitle(f"{sheet.parent_name} 门楼牌")
    c.setCreator("citybase")
    page = 0
    for i, plate in enumerate(sheet.plates):
        on_page, x, y = slot(i)
        if on_page != page:
            c.showPage()
            page = on_page
        _draw_plate(c, plate, x, y)
        if on_plate is not None:
            on_plate(i + 1)
    c.showPage()
    c.save()
    return buf.getvalue()
