"""QR door plates (二维码门楼牌): the public URL of an address, the public view of it, printable sheets.

Every door plate and building node's QR code encodes ``{public_base_url}/a/{display_code}``: display
codes are unique and never reused, so a plate on a wall stays valid when the address is renamed.
A sheet puts the plates of one road (its door plates) or one compound (its buildings) on A4 pages,
2 x 4 plates a page; the SVG writer is here, the PDF writer in ``plates_pdf``. Both draw the QR
modules themselves from segno's matrix (the same QR settings as the object labels, ``codes.labels``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote
from xml.sax.saxutils import escape

import segno
from sqlalchemy import select

from citybase.domains.addresses import AddressService
from citybase.kernel.errors import InvalidInputError, Issue, NotFoundError
from citybase.store.address_tables import address_node
from citybase.store.schema import city_object

# What a sheet holds under each kind of parent: a road's door plates (门牌), a compound's buildings (楼牌).
SHEET_LEVELS: dict[str, tuple[str, ...]] = {
    "road": ("door_number", "building"),
    "compound": ("building",),
    "community": ("compound", "building"),
}
PLATE_LEVELS = ("door_number", "compound", "building")  # the nodes that carry a QR plate
SHEET_LIMIT = 1000
ERROR_LEVEL = "m"
PAGE_W, PAGE_H = 210.0, 297.0  # A4, mm
PLATE_W, PLATE_H = 95.0, 62.0
COLUMNS, ROWS = 2, 4
GAP = 4.0
LEVEL_NAMES = {
    "province": ("省", "province"),
    "city": ("市", "city"),
    "district": ("区县", "district"),
    "town": ("街道/乡镇", "town"),
    "community": ("社区/村", "community"),
    "road": ("街路巷", "road"),
    "door_number": ("门牌", "door plate"),
    "compound": ("小区/院落", "compound"),
    "building": ("楼栋", "building"),
    "unit": ("单元", "unit"),
    "floor": ("楼层", "floor"),
    "room": ("户室", "room"),
}


def plate_url(base_url: str, display_code: str) -> str:
    return f"{base_url.rstrip('/')}/a/{quote(display_code, safe='')}"


def qr_matrix(url: str) -> list[list[bool]]:
    qr = segno.make(url, error=ERROR_LEVEL, micro=False, boost_error=False)
    return [[bool(v) for v in row] for row in qr.matrix]


def qr_runs(matrix: list[list[bool]]) -> list[tuple[int, int, int]]:
    """(x, y, width) of every horizontal run of dark modules: what both writers draw."""
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < len(row):
            if row[x]:
                start = x
                while x < len(row) and row[x]:
                    x += 1
                runs.append((start, y, x - start))
            else:
                x += 1
    return runs


# --- the public view of one address ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PublicChild:
    name: str
    level: str
    display_code: str
    lon: float | None
    lat: float | None


@dataclass(frozen=True, slots=True)
class PublicAddress:
    """What a citizen may see of an address: no people, no organisations, no workers."""

    node_id: int
    display_code: str
    name: str
    level: str
    full_address: str
    state: str  # active | retired
    object_code: str | None  # the building's unified code (统一识别代码), when it has one
    lon: float | None
    lat: float | None
    approximate: bool  # the node has no point of its own: lon/lat are the nearest ancestor's
    community: str | None
    children: tuple[PublicChild, ...]
    children_total: int


def node_by_display_code(addresses: AddressService, display_code: str) -> int:
    code = (display_code or "").strip()
    if not code or len(code) > 40:
        raise NotFoundError(f"no address with display code {display_code[:40]!r}")
    with addresses.store.read() as conn:
        found = conn.execute(select(address_node.c.id).where(address_node.c.display_code == code)).scalar()
    if found is None:
        raise NotFoundError(f"no address with display code {code!r}")
    return int(found)


def public_address(addresses: AddressService, display_code: str, *, max_children: int = 60) -> PublicAddress:
    node_id = node_by_display_code(addresses, display_code)
    node = addresses.node(node_id)
    record = addresses.record(node_id)
    code = None
    if node.object_id is not None:
        with addresses.store.read() as conn:
            code = conn.execute(select(city_object.c.code).where(city_object.c.id == node.object_id)).scalar()
    kids = addresses.children(node_id, limit=max_children + 1) if node.state == "active" else []
    lon, lat = node.lon, node.lat
    if lon is None or lat is None:
        located = [n for n in addresses.path(node_id) if n.lon is not None and n.lat is not None]
        lon, lat = (located[-1].lon, located[-1].lat) if located else (None, None)
    children = tuple(
        PublicChild(k.node.name, k.node.level, k.node.display_code, k.node.lon, k.node.lat)
        for k in sorted(kids, key=lambda k: natural_key(k.node.name))[:max_children]
    )
    return PublicAddress(
        node_id=node.id,
        display_code=node.display_code,
        name=node.name,
        level=node.level,
        full_address=record.full_address,
        state=node.state,
        object_code=code,
        lon=lon,
        lat=lat,
        approximate=lon is not None and node.lon is None,
        community=record.community,
        children=children,
        children_total=len(kids),
    )


# --- sheets ------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Plate:
    node_id: int
    title: str  # the road or compound name printed at the top
    number: str  # the door number or building name, printed large
    display_code: str
    url: str


@dataclass(frozen=True, slots=True)
class PlateSheet:
    parent_id: int
    parent_name: str
    parent_level: str
    plates: tuple[Plate, ...]

    @property
    def pages(self) -> int:
        return max(1, -(-len(self.plates) // (COLUMNS * ROWS)))


def natural_key(name: str) -> tuple[object, ...]:
    """Order 2号 before 10号: digit runs compare as numbers."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name) if p)


def plate_sheet(addresses: AddressService, base_url: str, parent_id: int, *, limit: int = SHEET_LIMIT) -> PlateSheet:
    """The active plates under a road (door plates) or compound / community (buildings), in number order."""
    parent = addresses.node(parent_id)
    levels = SHEET_LEVELS.get(parent.level)
    if levels is None:
        raise InvalidInputError(
            "not a road or compound",
            issues=[
                Issue("parent", f"node is a {parent.level}; sheets are made per road, compound or community", parent_id)
            ],
        )
    if parent.state != "active":
        raise InvalidInputError("retired parent", issues=[Issue("parent", "the node is retired", parent_id)])
    kids = [k.node for k in addresses.children(parent_id, limit=limit + 1) if k.node.level in levels]
    if len(kids) > limit:
        raise InvalidInputError(
            "too many plates",
            issues=[Issue("parent", f"more than {limit} plates; make sheets per compound", parent_id)],
        )
    kids.sort(key=lambda n: (levels.index(n.level), natural_key(n.name)))
    plates = tuple(Plate(n.id, parent.name, n.name, n.display_code, plate_url(base_url, n.display_code)) for n in kids)
    return PlateSheet(parent.id, parent.name, parent.level, plates)


def single_plate(addresses: AddressService, base_url: str, node_id: int) -> Plate:
    """The plate of one door plate, compound or building node (to reprint a lost or damaged one)."""
    node = addresses.node(node_id)
    if node.level not in PLATE_LEVELS:
        raise InvalidInputError(
            "no plate",
            issues=[Issue("node", f"a {node.level} has no plate; one of {', '.join(PLATE_LEVELS)}", node_id)],
        )
    title = addresses.node(node.parent_id).name if node.parent_id is not None else ""
    return Plate(node.id, title, node.name, node.display_code, plate_url(base_url, node.display_code))


def one_plate_svg(plate: Plate) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PLATE_W}mm" height="{PLATE_H}mm" '
        f'viewBox="0 0 {PLATE_W} {PLATE_H}"><title>{escape(plate.display_code)}</title>'
        f'<g data-display-code="{escape(plate.display_code)}">{plate_svg(plate)}</g></svg>\n'
    )


def slot(index: int) -> tuple[int, float, float]:
    """(page, x, y) in mm from the page's top left corner of plate ``index``."""
    page, at = divmod(index, COLUMNS * ROWS)
    row, col = divmod(at, COLUMNS)
    margin_x = (PAGE_W - COLUMNS * PLATE_W - (COLUMNS - 1) * GAP) / 2
    margin_y = (PAGE_H - ROWS * PLATE_H - (ROWS - 1) * GAP) / 2
    return page, margin_x + col * (PLATE_W + GAP), margin_y + row * (PLATE_H + GAP)


# Plate geometry in mm, shared by the SVG and PDF writers (origin: the plate's top left corner).
QR_X, QR_Y, QR_SIZE = 51.0, 6.0, 40.0  # the QR square including its 4-module quiet zone
TEXT_X = 5.0


def plate_svg(plate: Plate) -> str:
    matrix = qr_matrix(plate.url)
    scale = QR_SIZE / (len(matrix) + 8)
    path = "".join(f"M{x} {y}h{w}v1h-{w}z" for x, y, w in qr_runs(matrix))
    number_size = 14.0 if len(plate.number) <= 5 else 9.0
    return (
        f'<rect x="0.4" y="0.4" width="{PLATE_W - 0.8}" height="{PLATE_H - 0.8}" rx="3" fill="#1f4e9c"/>'
        f'<rect x="{QR_X}" y="{QR_Y}" width="{QR_SIZE}" height="{QR_SIZE}" fill="#fff"/>'
        f'<g transform="translate({QR_X} {QR_Y}) scale({scale:.6f})"><path transform="translate(4 4)" fill="#000" '
        f'data-qr-modules="{len(matrix)}" data-url="{escape(plate.url)}" d="{path}"/></g>'
        f'<text x="{TEXT_X}" y="14" font-size="7" font-weight="bold" fill="#fff" font-family="sans-serif">'
        f"{escape(plate.title[:12])}</text>"
        f'<text x="{TEXT_X}" y="34" font-size="{number_size}" font-weight="bold" fill="#fff" '
        f'font-family="sans-serif">{escape(plate.number[:14])}</text>'
        f'<text x="{TEXT_X}" y="55" font-size="3.2" fill="#fff" font-family="monospace">'
        f"{escape(plate.display_code)}</text>"
        f'<text x="{QR_X + QR_SIZE / 2}" y="55" font-size="3" fill="#fff" text-anchor="middle" '
        'font-family="sans-serif">扫码查看地址 · 报告变更</text>'
    )


def sheet_svg(sheet: PlateSheet, on_plate: Callable[[int], None] | None = None) -> str:
    """One SVG of A4 pages stacked top to bottom (each page a ``<g class="page">``)."""
    body = [f"<title>{escape(sheet.parent_name)} 门楼牌 {len(sheet.plates)}</title>"]
    pages: list[list[str]] = [[] for _ in range(sheet.pages)]
    for i, plate in enumerate(sheet.plates):
        page, x, y = slot(i)
        pages[page].append(
            f'<g transform="translate({x:.2f} {y:.2f})" data-display-code="{escape(plate.display_code)}">'
            f"{plate_svg(plate)}</g>"
        )
        if on_plate is not None:
            on_plate(i + 1)
    for n, items in enumerate(pages):
        body.append(f'<g class="page" transform="translate(0 {n * PAGE_H})">{"".join(items)}</g>')
    height = sheet.pages * PAGE_H
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{PAGE_W}mm" height="{height}mm" '
        f'viewBox="0 0 {PAGE_W} {height}">{"".join(body)}</svg>\n'
    )
