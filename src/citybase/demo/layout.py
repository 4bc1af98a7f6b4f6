"""The urban grid of a district's core or of a town, cut into roads, blocks and building footprints.

All built communities of a district's 街道 (or of one town) share one rotated grid
(:class:`StreetPlan`) in local metres, so roads run on across community borders. Each community
clips the grid to its built-up area (see :func:`built_area`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from citybase.demo.frame import Frame, clean_polygon, largest_polygon
from citybase.demo.names import NameBook

# road class -> (lanes, width in metres)
ROAD_SPECS: dict[str, tuple[int, float]] = {"主干路": (6, 40.0), "次干路": (4, 24.0), "支路": (2, 14.0)}


def road_class(index: int) -> str:
    return "主干路" if index % 4 == 0 else "次干路" if index % 2 == 0 else "支路"


@dataclass(slots=True)
class Road:
    axis: str  # "u": a line u = const (runs along v); "v": a line v = const (runs along u)
    index: int
    name: str
    road_class: str
    lanes: int
    width: float
    line: LineString  # local metres, one straight piece
    start: float  # position of the piece's start along the road
    end: float

    @property
    def offset(self) -> float:
        """The road's constant coordinate (u for axis "u", v for axis "v")."""
        c = self.line.coords[0]
        return c[0] if self.axis == "u" else c[1]


@dataclass(slots=True)
class Block:
    i: int
    j: int
    polygon: Polygon  # local metres
    full: bool  # the whole grid cell lies in the built-up area


@dataclass(slots=True)
class StreetPlan:
    """One street's grid: frame, spacing, road names and the door numbers taken on each road."""

    frame: Frame
    su: float
    sv: float
    book: NameBook
    origin_u: float
    origin_v: float
    names: dict[tuple[str, int], str] = field(default_factory=dict)
    numbers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    serials: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))

    def road_name(self, axis: str, index: int) -> str:
        key = (axis, index)
        if key not in self.names:
            self.names[key] = self.book.road(road_class(index))
        return self.names[key]

    def width(self, axis: str, index: int) -> float:
        return ROAD_SPECS[road_class(index)][1]

    def door_number(self, road: Road, along: float, left: bool) -> str:
        """Odd numbers on one side, even on the other, counted every 20 m from the street's origin."""
        origin = self.origin_v if road.axis == "u" else self.origin_u
        base = 2 * max(0, int((along - origin) // 20)) + (1 if left else 2)
        number = str(base)
        taken = self.numbers[road.name]
        extra = 0
        while number in taken:
            extra += 1
            number = f"{base}附{extra}"
        taken.add(number)
        return number

    def serial(self, road: str, kind: str, count: int = 1) -> int:
        """Take ``count`` serial numbers of a kind of facility on a road (路灯 0001, 0002, ...); the first."""
        first = self.serials[(road, kind)] + 1
        self.serials[(road, kind)] += count
        return first


def make_plan(origin: tuple[float, float], rng: np.random.Generator, book: NameBook, reach_m: float) -> StreetPlan:
    """A grid centred on ``origin`` (a district seat or a town), turned up to 25° from north."""
    theta = math.radians(float(np.clip(rng.normal(0.0, 9.0), -25.0, 25.0)))
    frame = Frame(origin[0], origin[1], theta)
    su, sv = float(rng.uniform(175, 245)), float(rng.uniform(160, 225))
    return StreetPlan(frame, su, sv, book, origin_u=-reach_m, origin_v=-reach_m)


def built_area(
    plan: StreetPlan,
    community: Polygon,
    seed_lonlat: tuple[float, float],
    reach: float,
    water: BaseGeometry | None,
    core: float | None,
) -> Polygon | None:
    """The built-up part of a community in the plan's local metres: within ``reach`` of its seed and
    ``core`` of the plan's centre, away from water."""
    local = plan.frame.geoms_to_local(community)
    su, sv = plan.frame.to_local(np.array([seed_lonlat[0]]), np.array([seed_lonlat[1]]))
    area = local.intersection(Point(float(su[0]), float(sv[0])).buffer(reach, quad_segs=16))
    if core is not None:
        area = area.intersection(Point(0.0, 0.0).buffer(core, quad_segs=32))
    if water is not None and not water.is_empty:
        area = area.difference(plan.frame.geoms_to_local(water).buffer(30.0))
    poly = clean_polygon(area)
    return poly if poly is not None and poly.area > 20_000 else None


def _lines(plan: StreetPlan, area: Polygon, axis: str) -> range:
    minx, miny, maxx, maxy = area.bounds
    lo, hi, step = (minx, maxx, plan.su) if axis == "u" else (miny, maxy, plan.sv)
    return range(math.ceil(lo / step), math.floor(hi / step) + 1)


def roads(plan: StreetPlan, area: Polygon) -> list[Road]:
    minx, miny, maxx, maxy = area.bounds
    out = []
    for axis in ("u", "v"):
        for i in _lines(plan, area, axis):
            c = i * (plan.su if axis == "u" else plan.sv)
            full = LineString([(c, miny - 1), (c, maxy + 1)] if axis == "u" else [(minx - 1, c), (maxx + 1, c)])
            cls = road_class(i)
            lanes, width = ROAD_SPECS[cls]
            for piece in shapely.get_parts(full.intersection(area)):
                if not isinstance(piece, LineString) or piece.length < 40:
                    continue
                coords = np.asarray(piece.coords)
                k = 1 if axis == "u" else 0
                lo, hi = float(coords[:, k].min()), float(coords[:, k].max())
                line = LineString([(c, lo), (c, hi)] if axis == "u" else [(lo, c), (hi, c)])
                out.append(Road(axis, i, plan.road_name(axis, i), cls, lanes, width, line, lo, hi))
    return out


def road_surface(rs: list[Road]) -> BaseGeometry:
    """The paved area of the roads (for keeping trees and lamps off the carriageway)."""
    if not rs:
        return Polygon()
    return shapely.union_all([r.line.buffer(r.width / 2, cap_style="flat") for r in rs])


def blocks(plan: StreetPlan, area: Polygon) -> list[Block]:
    """Grid cells between the roads, set back from the kerb, clipped to the built-up area."""
    us, vs = _lines(plan, area, "u"), _lines(plan, area, "v")
    out = []
    for i in range(us.start - 1, us.stop):
        u0 = i * plan.su + plan.width("u", i) / 2 + 4
        u1 = (i + 1) * plan.su - plan.width("u", i + 1) / 2 - 4
        for j in range(vs.start - 1, vs.stop):
            v0 = j * plan.sv + plan.width("v", j) / 2 + 4
            v1 = (j + 1) * plan.sv - plan.width("v", j + 1) / 2 - 4
            rect = shapely.box(u0, v0, u1, v1)
            poly = largest_polygon(rect.intersection(area))
            if poly is None or poly.area < max(2500.0, 0.3 * rect.area):
                continue
            full = abs(poly.area - rect.area) < 1.0
            out.append(Block(i, j, rect if full else poly, full))
    return out


@dataclass(frozen=True, slots=True)
class Footprints:
    """Axis-aligned building rectangles in local metres, row by row from the south."""

    u0: np.ndarray
    v0: np.ndarray
    u1: np.ndarray
    v1: np.ndarray

    def __len__(self) -> int:
        return len(self.u0)

    def polygons(self) -> np.ndarray:
        return shapely.box(self.u0, self.v0, self.u1, self.v1)


def footprints(
    site: Polygon, length: float, depth: float, row_gap: float, col_gap: float, setback: float = 8.0
) -> Footprints:
    """Rows of equal buildings filling ``site``; keeps only footprints wholly inside it."""
    minx, miny, maxx, maxy = site.bounds
    us = np.arange(minx + setback, maxx - setback - length + 1e-9, length + col_gap)
    vs = np.arange(miny + setback, maxy - setback - depth + 1e-9, depth + row_gap)
    if len(us) == 0 or len(vs) == 0:
        return Footprints(*(np.empty(0) for _ in range(4)))
    gu, gv = np.meshgrid(us, vs)
    u0, v0 = gu.ravel(), gv.ravel()
    boxes = shapely.box(u0, v0, u0 + length, v0 + depth)
    inner = site.buffer(-2.0)
    keep = shapely.contains(inner, boxes) if not inner.is_empty else np.zeros(len(boxes), dtype=bool)
    return Footprints(u0[keep], v0[keep], u0[keep] + length, v0[keep] + depth)


def crossings(rs: list[Road]) -> list[tuple[float, float, Road, Road]]:
    """Where a u-road meets a v-road inside the built-up area."""
    ur = [r for r in rs if r.axis == "u"]
    vr = [r for r in rs if r.axis == "v"]
    out = []
    for a in ur:
        for b in vr:
            u, v = a.offset, b.offset
            if a.start <= v <= a.end and b.start <= u <= b.end:
                out.append((u, v, a, b))
    return out
