"""QR labels (一物一牌一码): a QR code of the URL that resolves the code in the portal.

The SVG label draws the QR modules itself (one path of unit squares, so what is drawn is exactly the
segno matrix) next to the code, the object's name, class and department; the PNG is segno's own
image of the bare QR code. A label sheet puts many labels on A4-wide pages (3 x 3 labels per page).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote
from xml.sax.saxutils import escape

import segno
from sqlalchemy import func, select

from citybase.domains.objects import LifecycleState
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.kernel.geo import BBox
from citybase.store import bbox_intersects
from citybase.store.schema import city_object, department

if TYPE_CHECKING:
    from citybase.domains.codes.model import CodeCard
    from citybase.domains.codes.service import CodeService

SHEET_LIMIT = 450
ERROR_LEVEL = "m"  # 15 % of the modules may be lost (a plate on a lamp post gets scratched)
LABEL_W, LABEL_H = 70, 90  # mm
PAGE_H = 297
COLUMNS, ROWS = 3, 3


def code_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/portal/code.html?code={quote(code)}"


def qr_code(url: str) -> segno.QRCode:
    return segno.make(url, error=ERROR_LEVEL, micro=False, boost_error=False)


def qr_matrix(url: str) -> list[list[bool]]:
    return [[bool(v) for v in row] for row in qr_code(url).matrix]


def qr_png(url: str, *, scale: int = 8) -> bytes:
    buf = io.BytesIO()
    qr_code(url).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def qr_path(matrix: list[list[bool]]) -> str:
    """SVG path data: one ``M x y h w v 1 h -w z`` rectangle per horizontal run of dark modules."""
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                parts.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class LabelText:
    code: str
    name: str
    class_name: str
    department: str


def _spaced(code: str) -> str:
    return f"{code[:6]} {code[6:12]} {code[12:20]} {code[20:]}"


def label_group(text: LabelText, url: str) -> str:
    """The SVG elements of one 70 x 90 mm label, origin top left, in millimetres."""
    matrix = qr_matrix(url)
    size = len(matrix) + 8  # with the 4-module quiet zone on each side
    qr_mm = 52.0
    sans, mono = "sans-serif", "monospace"
    lines = [
        (11, 4.2, "bold", sans, "城市数字公共基础设施 · 一物一码"),
        (69, 4.4, "bold", mono, _spaced(text.code)),
        (75, 3.6, "normal", sans, text.name[:24]),
        (80, 3.0, "normal", sans, text.class_name[:30]),
        (85, 3.0, "normal", sans, text.department[:30]),
    ]
    out = [
        f'<rect x="0.5" y="0.5" width="{LABEL_W - 1}" height="{LABEL_H - 1}" rx="3" fill="#fff" '
        'stroke="#1f3b73" stroke-width="0.6"/>',
        f'<g transform="translate({(LABEL_W - qr_mm) / 2} 14) scale({qr_mm / size})">'
        f'<path transform="translate(4 4)" fill="#000" data-qr-modules="{len(matrix)}" d="{qr_path(matrix)}"/></g>',
    ]
    for y, size_mm, weight, family, content in lines:
        out.append(
            f'<text x="{LABEL_W / 2}" y="{y}" font-size="{size_mm}" font-weight="{weight}" font-family="{family}" '
            f'text-anchor="middle">{escape(content)}</text>'
        )
    return "".join(out)


def _svg(width: float, height: float, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}mm" height="{height}mm" '
        f'viewBox="0 0 {width} {height}">{body}</svg>\n'
    )


def label_svg(card: CodeCard, url: str) -> str:
    text = LabelText(card.code, card.name, card.class_name or card.class_code, card.department_name or "")
    return _svg(LABEL_W, LABEL_H, f"<title>{escape(card.code)}</title>{label_group(text, url)}")


def sheet(svc: CodeService, class_code: str, bbox: BBox, limit: int = SHEET_LIMIT) -> str:
    """Labels of every coded, non-retired object of a class in a box, in code order."""
    cls = svc.classes.get(class_code, field="class")
    t, d = city_object, department
    conds = [
        t.c.class_code == cls.code,
        t.c.code.is_not(None),
        t.c.state != LifecycleState.RETIRED.value,
        bbox_intersects(t.c.geom, bbox),
    ]
    with svc.store.read() as conn:
        n = conn.execute(select(func.count()).select_from(t).where(*conds)).scalar_one()
        if n > limit:
            raise InvalidInputError(
                "too many labels",
                issues=[
                    Issue(
                        "bbox",
                        f"{n} coded objects of class "
                        f"{cls.code} in the box; at most {limit} "
                        "per sheet: give a smaller box",
                    )
                ],
            )
        rows = conn.execute(
            select(t.c.code, t.c.name, d.c.name.label("dept"))
            .outerjoin(d, d.c.id == t.c.department_id)
            .where(*conds)
            .order_by(t.c.code)
        ).all()
    per_page = COLUMNS * ROWS
    pages = max(1, -(-len(rows) // per_page))
    margin_x = (210 - COLUMNS * LABEL_W) / 2
    margin_y = (PAGE_H - ROWS * LABEL_H) / 2
    body = [f"<title>{escape(cls.name)} {len(rows)}</title>"]
    for i, r in enumerate(rows):
        page, slot = divmod(i, per_page)
        row, col = divmod(slot, COLUMNS)
        x, y = margin_x + col * LABEL_W, page * PAGE_H + margin_y + row * LABEL_H
        text = LabelText(r.code, r.name, cls.name, r.dept or "")
        body.append(
            f'<g transform="translate({x} {y})" data-code="{r.code}">'
            f"{label_group(text, code_url(svc.public_base_url, r.code))}</g>"
        )
    return _svg(210, pages * PAGE_H, "".join(body))
