"""Street furniture along the roads of a built community, placed with numpy per road.

Spacings follow common Chinese practice: lamps every 35 m on both sides (staggered), trees every
10-12 m, rain inlets every 40 m, hydrants at most 120 m apart, bus stops about every 500 m on
arterials, a camera at every crossing of larger roads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon

from citybase.demo import layout
from citybase.demo.layout import Road, StreetPlan
from citybase.demo.names import SPECIES, bus_routes
from citybase.demo.records import Record

_CONDITIONS = ("完好", "破损", "丢失", "占用")
_CONDITION_P = (0.955, 0.03, 0.005, 0.01)
_MATERIALS = ("铸铁", "复合材料", "混凝土", "其他")
_SENSORS = (
    ("空气质量", "MQTT"),
    ("噪声", "MQTT"),
    ("积水水位", "LoRa"),
    ("井盖位移", "NB-IoT"),
    ("路灯单灯控制", "NB-IoT"),
    ("交通流量", "HTTP"),
)
Attrs = Callable[[int], list[dict[str, Any]]]  # attributes for n facilities


def _pick(rng: np.random.Generator, values: tuple[str, ...], p: tuple[float, ...]) -> str:
    return values[int(np.searchsorted(np.cumsum(p), rng.random() * sum(p)))]


def _picks(rng: np.random.Generator, values: tuple[str, ...], p: tuple[float, ...], n: int) -> list[str]:
    idx = np.searchsorted(np.cumsum(p), rng.random(n) * sum(p))
    return [values[i] for i in np.minimum(idx, len(values) - 1).tolist()]


def _uniform(rng: np.random.Generator, lo: float, hi: float, n: int, digits: int) -> list[float]:
    return np.round(rng.uniform(lo, hi, n), digits).tolist()


def _along(road: Road, spacing: float, first: float, lateral: float) -> tuple[np.ndarray, np.ndarray]:
    """Local coordinates every ``spacing`` metres along ``road`` at ``lateral`` metres from its axis."""
    s = np.arange(road.start + first, road.end, spacing)
    c = np.full(len(s), road.offset + lateral)
    return (c, s) if road.axis == "u" else (s, c)


class _Placer:
    """Collects facility records for one community, dropping points off the site or on a carriageway."""

    def __init__(self, plan: StreetPlan, area: Polygon, surface: Any) -> None:
        self.plan, self.area, self.surface = plan, area, surface
        self.records: list[Record] = []
        shapely.prepare(area)
        if not surface.is_empty:
            shapely.prepare(surface)

    def place(
        self, cls: str, label: str, road: Road, u: np.ndarray, v: np.ndarray, attrs: Attrs, on_road: bool = False
    ) -> int:
        keep = shapely.contains_xy(self.area, u, v)
        if not on_road and not self.surface.is_empty:
            keep &= ~shapely.contains_xy(self.surface, u, v)
        u, v = u[keep], v[keep]
        if len(u) == 0:
            return 0
        pts = self.plan.frame.points(u, v)
        first = self.plan.serial(road.name, label, len(pts))
        prefix = f"{road.name}{label}"
        self.records += [
            Record(cls, f"{prefix}{first + k:04d}", pt, a)
            for k, (pt, a) in enumerate(zip(pts.tolist(), attrs(len(pts)), strict=True))
        ]
        return len(pts)


def street_furniture(plan: StreetPlan, rs: list[Road], area: Polygon, rng: np.random.Generator) -> list[Record]:
    placer = _Placer(plan, area, layout.road_surface(rs))
    for road in rs:
        _road_facilities(placer, road, rng)
    _crossing_facilities(placer, rs, rng)
    return placer.records


def _road_facilities(p: _Placer, road: Road, rng: np.random.Generator) -> None:
    half = road.width / 2
    major = road.road_class != "支路"
    lamp_type = _pick(rng, ("LED", "高压钠灯", "太阳能"), (0.7, 0.25, 0.05))
    power = (
        {"LED": 150, "高压钠灯": 250, "太阳能": 40}[lamp_type]
        if major
        else {"LED": 90, "高压钠灯": 150, "太阳能": 30}[lamp_type]
    )
    pole = {"主干路": 12.0, "次干路": 10.0, "支路": 8.0}[road.road_class]

    def lamps(n: int) -> list[dict[str, Any]]:
        return [
            {"lamp_type": lamp_type, "power_w": power, "pole_height_m": pole, "condition": c}
            for c in _picks(rng, ("完好", "破损"), (0.97, 0.03), n)
        ]

    for side, first in ((1, 10.0), (-1, 27.5)):
        p.place("010301", "路灯", road, *_along(road, 35.0, first, side * (half + 1.0)), lamps)
    species = SPECIES[int(rng.integers(len(SPECIES)))]

    def trees(n: int) -> list[dict[str, Any]]:
        return [
            {"species": species, "dbh_cm": d, "height_m": h}
            for d, h in zip(_uniform(rng, 10, 45, n, 1), _uniform(rng, 5, 16, n, 1), strict=True)
        ]

    for side in (1, -1):
        p.place("040101", "行道树", road, *_along(road, 10.0 if major else 12.0, 5.0, side * (half + 2.5)), trees)

    def covers(n: int) -> list[dict[str, Any]]:
        return [
            {"material": m, "condition": c}
            for m, c in zip(
                _picks(rng, _MATERIALS, (0.6, 0.25, 0.12, 0.03), n),
                _picks(rng, _CONDITIONS, _CONDITION_P, n),
                strict=True,
            )
        ]

    def water_covers(n: int) -> list[dict[str, Any]]:
        return [{**a, "maintainer": "襄阳市水务集团有限公司"} for a in covers(n)]

    for side in (1, -1):
        p.place("010201", "雨水井", road, *_along(road, 40.0, 20.0, side * (half - 1.0)), covers, on_road=True)
    p.place("010202", "污水井", road, *_along(road, 50.0, 25.0, half / 3), covers, on_road=True)
    p.place("010101", "给水井", road, *_along(road, 80.0, 40.0, -half / 3), water_covers, on_road=True)

    def hydrants(n: int) -> list[dict[str, Any]]:
        return [
            {"pressure_mpa": mpa, "condition": c}
            for mpa, c in zip(
                _uniform(rng, 0.15, 0.45, n, 2),
                _picks(rng, ("完好", "破损", "占用"), (0.95, 0.03, 0.02), n),
                strict=True,
            )
        ]

    p.place("010102", "消防栓", road, *_along(road, 110.0, 55.0, half + 1.5), hydrants)

    def bins(n: int) -> list[dict[str, Any]]:
        return [{"condition": c} for c in _picks(rng, _CONDITIONS, _CONDITION_P, n)]

    p.place("030101", "垃圾箱", road, *_along(road, 80.0, 30.0, -(half + 2.0)), bins)
    if major:

        def stops(n: int) -> list[dict[str, Any]]:
            return [{"routes": bus_routes(rng), "shelter": bool(rng.random() < 0.6)} for _ in range(n)]

        for side in (1, -1):
            p.place(
                "020301", "公交站", road, *_along(road, 500.0, 120.0 + (side > 0) * 40.0, side * (half + 2.0)), stops
            )


def _crossing_facilities(p: _Placer, rs: list[Road], rng: np.random.Generator) -> None:
    heading = math.degrees(p.plan.frame.theta)

    def cameras(n: int) -> list[dict[str, Any]]:
        return [
            {
                "camera_type": _pick(rng, ("枪机", "球机", "半球"), (0.55, 0.4, 0.05)),
                "direction_deg": round((heading + 90.0 * int(rng.integers(4)) + 45.0) % 360.0, 1),
            }
            for _ in range(n)
        ]

    for u, v, a, b in layout.crossings(rs):
        if a.road_class == "支路" and b.road_class == "支路":
            continue
        du, dv = a.width / 2 + 2.0, b.width / 2 + 2.0
        n = 2 if a.road_class == "主干路" and b.road_class == "主干路" else 1
        p.place(
            "060101", f"与{b.name}路口监控", a, np.array([u + du, u - du][:n]), np.array([v + dv, v - dv][:n]), cameras
        )
        if rng.random() < 0.35:
            kind, protocol = _SENSORS[int(rng.integers(len(_SENSORS)))]

            def sensors(n: int, kind: str = kind, protocol: str = protocol) -> list[dict[str, Any]]:
                return [{"sensor_type": kind, "protocol": protocol}] * n

            p.place("060201", f"{kind}监测点", a, np.array([u - du]), np.array([v + dv]), sensors)
