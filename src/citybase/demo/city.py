"""One built urban community: roads, blocks, compounds, buildings, units, rooms and door plates.

Street furniture along the roads comes from :mod:`citybase.demo.furniture`. Everything is laid out
in the street's local metres and converted to lon/lat in vectorised steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, Polygon
from shapely.ops import nearest_points

from citybase.demo import layout
from citybase.demo.frame import Frame, clean_polygon
from citybase.demo.furniture import street_furniture
from citybase.demo.geography import Community
from citybase.demo.layout import Block, Road, StreetPlan
from citybase.demo.names import compound_name, property_manager, short_name, tower_name
from citybase.demo.records import Bundle, Record

_USES = ("residential", "commercial", "public", "green", "vacant")
_USE_P = (0.70, 0.11, 0.07, 0.08, 0.04)
_PUBLIC = ("小学", "中学", "幼儿园", "社区卫生服务中心", "社区党群服务中心", "文化活动中心", "养老服务中心")


@dataclass(frozen=True, slots=True)
class Era:
    years: tuple[int, int]
    floors: tuple[int, ...]
    structure: str
    depth: float
    unit_width: float
    units: tuple[int, ...]
    floor_height: float


_ERAS = (
    Era((1982, 1999), (5, 6, 6, 7), "砖混", 11.0, 13.0, (2, 3, 3, 4), 2.9),
    Era((2000, 2011), (6, 7, 11, 11, 18), "钢混", 13.0, 15.0, (2, 2, 3), 2.9),
    Era((2012, 2023), (18, 24, 26, 30, 32, 33), "钢混", 17.0, 17.0, (1, 2, 2), 3.0),
)
_ERA_P = (0.3, 0.35, 0.35)


@dataclass(slots=True)
class Site:
    """What the community's generator needs besides the random stream."""

    plan: StreetPlan
    community: Community
    community_id: int
    area: Polygon  # built-up area, local metres
    rooms_within: float | None  # units and rooms for buildings this close to the plan's centre (None: all)

    def with_rooms(self, fp: layout.Footprints, n: int) -> bool:
        if self.rooms_within is None:
            return True
        u, v = (fp.u0[n] + fp.u1[n]) / 2, (fp.v0[n] + fp.v1[n]) / 2
        return bool(np.hypot(u, v) <= self.rooms_within)


def _ll(frame: Frame, geom: Any) -> Any:
    return frame.geoms_to_lonlat(geom)


def urban_community(site: Site, rng: np.random.Generator) -> Bundle:
    plan, area = site.plan, site.area
    bundle = Bundle()
    rs = layout.roads(plan, area)
    for r in rs:
        bundle.add(
            0,
            Record(
                "020101",
                r.name,
                _ll(plan.frame, r.line),
                {"road_class": r.road_class, "lanes": r.lanes, "width_m": r.width},
            ),
        )
    place = short_name(site.community.name)
    names: set[str] = set()
    blocks = layout.blocks(plan, area)
    for block, use in zip(blocks, _block_uses(blocks, rng), strict=True):
        if use == "residential":
            _compound(site, bundle, block, rs, rng, place, names)
        elif use == "commercial":
            _commercial(site, bundle, block, rs, rng)
        elif use == "public":
            _public(site, bundle, block, rs, rng, place)
        elif use == "green":
            kind = "公园" if block.polygon.area > 20_000 else "街头绿地"
            road = _nearest_road(block.polygon, rs)
            name = f"{place}公园" if kind == "公园" else f"{road.name if road else place}街头绿地"
            bundle.add(0, Record("040201", name, _polygon_ll(plan.frame, block.polygon), {"green_type": kind}))
    bundle.extend(0, street_furniture(plan, rs, area, rng))
    return bundle


def _block_uses(blocks: list[Block], rng: np.random.Generator) -> list[str]:
    """What each block becomes; a community of three or more blocks keeps its smallest one green."""
    uses = [_USES[int(i)] for i in rng.choice(len(_USES), size=len(blocks), p=_USE_P)]
    for k, block in enumerate(blocks):
        if block.polygon.area < 6000 and uses[k] == "residential":
            uses[k] = "green" if rng.random() < 0.5 else "commercial"
    if len(blocks) >= 3 and "green" not in uses:
        uses[min(range(len(blocks)), key=lambda k: (blocks[k].polygon.area, k))] = "green"
    return uses


def _polygon_ll(frame: Frame, poly: Polygon) -> Polygon:
    out = clean_polygon(_ll(frame, poly))
    assert out is not None
    return out


def _nearest_road(poly: Polygon, rs: list[Road]) -> Road | None:
    if not rs:
        return None
    c = poly.centroid
    return min(rs, key=lambda r: (r.line.distance(c), r.name))


def _door_plate(site: Site, bundle: Bundle, poly: Polygon, rs: list[Road]) -> None:
    """A door plate at the gate: the point of ``poly`` nearest to its nearest road, just outside."""
    road = _nearest_road(poly, rs)
    if road is None:
        return
    on_road = nearest_points(road.line, poly.centroid)[0]
    gate = nearest_points(poly.exterior, on_road)[0]
    d = np.array([on_road.x - gate.x, on_road.y - gate.y])
    norm = float(np.hypot(*d)) or 1.0
    pt = Point(gate.x + d[0] / norm * 1.5, gate.y + d[1] / norm * 1.5)
    if not site.area.contains(pt):
        return
    along, left = (pt.y, pt.x > road.offset) if road.axis == "u" else (pt.x, pt.y > road.offset)
    number = site.plan.door_number(road, along, left)
    bundle.add(
        0, Record("050201", f"{road.name}{number}号", _ll(site.plan.frame, pt), {"road": road.name, "number": number})
    )


def _compound(
    site: Site, bundle: Bundle, block: Block, rs: list[Road], rng: np.random.Generator, place: str, names: set[str]
) -> None:
    poly = clean_polygon(block.polygon.buffer(-6.0, join_style="mitre"))
    if poly is None or poly.area < 3000:
        return
    era = _ERAS[int(rng.choice(len(_ERAS), p=_ERA_P))]
    year = int(rng.integers(era.years[0], era.years[1] + 1))
    name = compound_name(rng, place, year, names)
    attrs: dict[str, Any] = {"year_built": year}
    if year >= 1998 or rng.random() < 0.3:  # many old compounds have no property manager
        attrs["property_manager"] = property_manager(rng)
    compound = bundle.add(0, Record("050301", name, _polygon_ll(site.plan.frame, poly), attrs, site.community_id))
    _door_plate(site, bundle, poly, rs)
    floors = int(rng.choice(era.floors))
    units = int(rng.choice(era.units))
    height = floors * era.floor_height
    fp = layout.footprints(
        poly, units * era.unit_width, era.depth, row_gap=max(15.0, 0.45 * height), col_gap=float(rng.uniform(10, 16))
    )
    if len(fp) == 0:
        return
    geoms = _ll(site.plan.frame, fp.polygons())
    for n in range(len(fp)):
        attrs = {
            "floors": floors,
            "height_m": round(height, 1),
            "floor_height_m": era.floor_height,
            "use": "住宅",
            "structure": era.structure,
            "year_built": year,
            "units": units,
        }
        b = bundle.add(1, Record("050101", f"{name}{n + 1}栋", geoms[n], attrs, compound))
        if site.with_rooms(fp, n):
            _units(site, bundle, 2, b, f"{name}{n + 1}栋", fp, n, units, floors, rng, "住宅")


def _units(
    site: Site,
    bundle: Bundle,
    level: int,
    building: int,
    bname: str,
    fp: layout.Footprints,
    n: int,
    units: int,
    floors: int,
    rng: np.random.Generator,
    use: str,
) -> None:
    """Unit entrances on the south side of footprint ``n``, and their rooms on every floor."""
    u0, v0, u1 = fp.u0[n], fp.v0[n], fp.u1[n]
    width = (u1 - u0) / units
    us = u0 + width * (np.arange(units) + 0.5)
    pts = site.plan.frame.points(us, np.full(units, v0 + 1.0))
    per_floor = 4 if units == 1 and floors > 11 else 2
    if use in ("商业", "办公"):
        per_floor = 8
    base = float(rng.uniform(72, 128)) if use == "住宅" else float(rng.uniform(40, 200))
    areas = [round(base * (0.9 + 0.05 * k), 2) for k in range(5)]
    uses = [use] * (floors + 1) if use != "商住混合" else ["商业"] * 3 + ["住宅"] * (floors - 2)
    cells = [
        (floor, f"{floor}{m:02d}", areas[(m * 7 + floor) % 5])
        for floor in range(1, floors + 1)
        for m in range(1, per_floor + 1)
    ]
    for k in range(units):
        prefix = f"{bname}{k + 1}单元"
        unit = bundle.add(level, Record("050102", prefix, pts[k], {"unit_no": k + 1}, building))
        bundle.extend(
            level + 1,
            [
                Record(
                    "050103",
                    f"{prefix}{no}室",
                    None,
                    {"floor": floor, "room_no": f"{k + 1}-{no}", "area_m2": area, "use": uses[floor]},
                    unit,
                )
                for floor, no, area in cells
            ],
        )


def _commercial(site: Site, bundle: Bundle, block: Block, rs: list[Road], rng: np.random.Generator) -> None:
    use = str(rng.choice(["商业", "办公", "商住混合"]))
    floors = int(rng.choice([3, 4, 5, 12, 18, 24, 28]))
    fh = {"商业": 4.5, "办公": 3.8, "商住混合": 3.3}[use]
    length, depth = float(rng.uniform(36, 60)), float(rng.uniform(18, 30))
    fp = layout.footprints(
        block.polygon, length, depth, row_gap=max(18.0, 0.4 * floors * fh), col_gap=16.0, setback=10.0
    )
    geoms = _ll(site.plan.frame, fp.polygons())
    units = 2 if use == "商住混合" else 1
    for n in range(len(fp)):
        road = _nearest_road(shapely.box(fp.u0[n], fp.v0[n], fp.u1[n], fp.v1[n]), rs)
        bname = tower_name(rng, road.name[:-1] if road and len(road.name) > 2 else "汉江")
        attrs = {
            "floors": floors,
            "height_m": round(floors * fh, 1),
            "floor_height_m": fh,
            "use": use,
            "structure": "钢混" if floors > 6 else str(rng.choice(["钢混", "钢结构"])),
            "year_built": int(rng.integers(1995, 2024)),
            "units": units,
        }
        b = bundle.add(0, Record("050101", bname, geoms[n], attrs, site.community_id))
        _door_plate(site, bundle, shapely.box(fp.u0[n], fp.v0[n], fp.u1[n], fp.v1[n]), rs)
        if site.with_rooms(fp, n):
            _units(site, bundle, 1, b, bname, fp, n, units, floors, rng, use)


def _public(site: Site, bundle: Bundle, block: Block, rs: list[Road], rng: np.random.Generator, place: str) -> None:
    kind = _PUBLIC[int(rng.integers(len(_PUBLIC)))]
    floors = int(rng.integers(3, 7))
    fp = layout.footprints(block.polygon, float(rng.uniform(40, 70)), 16.0, row_gap=24.0, col_gap=20.0, setback=14.0)
    geoms = _ll(site.plan.frame, fp.polygons())
    for n in range(min(len(fp), 4)):
        name = f"{place}{kind}" + ("" if n == 0 else f"{n + 1}号楼")
        attrs = {
            "floors": floors,
            "height_m": round(floors * 3.9, 1),
            "floor_height_m": 3.9,
            "use": "公共服务",
            "structure": "钢混",
            "year_built": int(rng.integers(1990, 2024)),
            "units": 0,
        }
        bundle.add(0, Record("050101", name, geoms[n], attrs, site.community_id))
        if n == 0:
            _door_plate(site, bundle, shapely.box(fp.u0[n], fp.v0[n], fp.u1[n], fp.v1[n]), rs)
