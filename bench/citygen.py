"""A synthetic city of a given size for the load benchmark (numpy, fixed seed, streamed in chunks).

Stands in for ``citybase.demo.build_demo`` while that is not usable: the same order of magnitude and
mix of objects (buildings with units and rooms, door plates, street furniture, trees, roads, areas),
placed around Xiangyang's urban centres and county seats. Every chunk is drawn from its own seed, so
the citybase path and the raw-SQL baseline load exactly the same rows without holding the whole city
in memory.

Ids are *predicted* (1, 2, 3 … in load order, as on an empty table); ``parent`` holds predicted ids
of rows of an earlier batch of the same chunk, so a loader that gets other ids back can remap them.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

SCALES = {"tiny": 5_000, "demo": 100_000, "city": 5_600_000}
SEED = 20261122

# Urban centres (lon, lat, sigma in metres, weight). The first three are the central city
# (襄城, 樊城, 东津), where the bbox requests of the benchmark fall.
CENTRES = [
    (112.140, 32.020, 2600.0, 0.24),  # 襄城
    (112.135, 32.055, 3200.0, 0.30),  # 樊城
    (112.215, 32.045, 2400.0, 0.10),  # 襄州 / 东津
    (112.765, 32.125, 1800.0, 0.08),  # 枣阳
    (112.255, 31.720, 1500.0, 0.06),  # 宜城
    (111.675, 32.390, 1600.0, 0.07),  # 老河口
    (111.640, 32.270, 1200.0, 0.05),  # 谷城
    (111.840, 31.780, 1000.0, 0.04),  # 南漳
    (111.260, 31.880, 800.0, 0.03),  # 保康
]
URBAN = CENTRES[:3]
RURAL_FRACTION = 0.06  # villages spread over the prefecture
PREFECTURE = (110.75, 31.23, 113.10, 32.62)

ROADS = [
    "人民路", "长虹路", "檀溪路", "春园路", "胜利街", "解放路", "航空路", "丹江路", "汉江北路", "大庆路",
    "襄阳大道", "新华路", "长征路", "卧龙大道", "七里河路", "建设路", "前进路", "炮铺街", "鼓楼巷", "荆州街",
    "中原路", "民主路", "团山路", "东风路", "滨江大道", "环城路", "隆中路", "真武山路", "清河路", "邓城大道",
]  # fmt: skip

# Point objects beside buildings: (class code, name, attributes template, per building, department).
POINTS: list[tuple[str, str, dict[str, Any], float, int]] = [
    ("050201", "门牌", {"road": "", "number": ""}, 1.20, 1),
    ("010301", "路灯", {"lamp_type": "LED", "power_w": 120, "pole_height_m": 10.0, "condition": "良好"}, 2.00, 2),
    ("010101", "上水井盖", {"material": "球墨铸铁", "condition": "良好", "maintainer": "襄阳水务"}, 1.00, 3),
    ("010201", "雨水井盖", {"material": "球墨铸铁", "condition": "良好"}, 1.00, 3),
    ("010202", "污水井盖", {"material": "复合材料", "condition": "良好"}, 1.00, 3),
    ("010102", "消防栓", {"pressure_mpa": 0.35, "condition": "良好"}, 0.20, 4),
    ("040101", "行道树", {"species": "香樟", "dbh_cm": 25.0, "height_m": 9.0}, 2.20, 2),
    ("030101", "垃圾箱", {"condition": "良好"}, 0.40, 2),
    ("060101", "视频监控", {"camera_type": "枪机", "direction_deg": 90.0}, 0.40, 5),
    ("060201", "物联感知设备", {"sensor_type": "水位", "protocol": "NB-IoT"}, 0.15, 3),
    ("080101", "单位", {"org_type": "企业"}, 0.30, 1),
    ("020301", "公交站", {"routes": "1路,14路", "shelter": True}, 0.05, 2),
]
# Larger features per building: (class code, name, attributes, per building, kind, size in metres).
AREAS: list[tuple[str, str, dict[str, Any], float, str, float]] = [
    ("020101", "道路", {"road_class": "支路", "lanes": 2, "width_m": 12.0}, 0.08, "line", 900.0),
    ("020201", "桥梁", {"length_m": 120.0, "structure": "梁桥"}, 0.002, "line", 150.0),
    ("050301", "小区", {"property_manager": "物业公司", "year_built": 2008}, 0.04, "box", 250.0),
    ("040201", "绿地", {"green_type": "公园绿地"}, 0.03, "box", 150.0),
    ("070201", "网格", {"grid_code": "", "level": "三级"}, 0.02, "box", 400.0),
    ("090101", "水域", {"water_type": "河流"}, 0.005, "box", 300.0),
]
UNITS_MEAN = 1.8  # units per building
# Expected objects per building (building + units + rooms + points + areas), used to size chunks.
_FLOORS = np.array([1, 2, 3, 4, 5, 6, 7, 9, 11, 18, 26, 33])
_FLOOR_P = np.array([0.12, 0.15, 0.13, 0.10, 0.10, 0.12, 0.08, 0.06, 0.05, 0.05, 0.03, 0.01])
ROOMS_PER_FLOOR = 2


def _per_building() -> float:
    mean_floors = float((_FLOORS * _FLOOR_P).sum())
    return 1 + UNITS_MEAN * (1 + mean_floors * ROOMS_PER_FLOOR) + sum(p[3] for p in POINTS) + sum(a[3] for a in AREAS)


PER_BUILDING = _per_building()
DEPARTMENTS = [
    ("zjj", "襄阳市住房和城乡建设局", "Housing and Urban-Rural Development"),
    ("cgj", "襄阳市城市管理执法委员会", "Urban Management"),
    ("swj", "襄阳市水务集团", "Water Authority"),
    ("xfj", "襄阳市消防救援支队", "Fire and Rescue"),
    ("gaj", "襄阳市公安局", "Public Security"),
]


@dataclass(slots=True)
class Batch:
    """Rows of one insert: predicted ids, column lists and (for children) predicted parent ids."""

    ids: np.ndarray
    class_code: list[str]
    name: list[str]
    geom: np.ndarray  # object array of shapely geometries or None
    attributes: list[dict[str, Any]]
    department_id: list[int]
    parent: np.ndarray | None = None
    code: list[str | None] | None = None  # unified codes, where the source has them

    def __len__(self) -> int:
        return len(self.class_code)


def _metres_to_deg(lat: np.ndarray | float) -> tuple[Any, float]:
    return 1.0 / (111_320.0 * np.cos(np.radians(lat))), 1.0 / 110_574.0


def sample_points(rng: np.random.Generator, n: int, centres: list[tuple[float, float, float, float]]) -> np.ndarray:
    """``n`` lon/lat points from a mixture of Gaussian centres."""
    w = np.array([c[3] for c in centres])
    which = rng.choice(len(centres), size=n, p=w / w.sum())
    cx = np.array([c[0] for c in centres])[which]
    cy = np.array([c[1] for c in centres])[which]
    sigma = np.array([c[2] for c in centres])[which]
    dx, dy = _metres_to_deg(cy)
    r = rng.standard_normal((n, 2)) * sigma[:, None]
    return np.column_stack([cx + r[:, 0] * dx, cy + r[:, 1] * dy])


def _building_centres(rng: np.random.Generator, n: int) -> np.ndarray:
    xy = sample_points(rng, n, CENTRES)
    rural = rng.random(n) < RURAL_FRACTION
    k = int(rural.sum())
    minx, miny, maxx, maxy = PREFECTURE
    xy[rural] = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
    return xy


def urban_boxes(n: int, size_m: float = 300.0, seed: int = SEED + 1) -> list[tuple[float, float, float, float]]:
    """``n`` random boxes of about ``size_m`` in the central city (centres drawn like the buildings)."""
    rng = np.random.default_rng(seed)
    xy = sample_points(rng, n, URBAN)
    dx, dy = _metres_to_deg(xy[:, 1])
    hx, hy = size_m / 2 * dx, size_m / 2 * dy
    return [
        (round(x - a, 6), round(y - hy, 6), round(x + a, 6), round(y + hy, 6))
        for x, y, a in zip(xy[:, 0].tolist(), xy[:, 1].tolist(), hx.tolist(), strict=True)
    ]


class CityGenerator:
    """Streams the city as chunks; each chunk is a list of batches to insert in order."""

    def __init__(self, total: int, seed: int = SEED) -> None:
        self.total = total
        self.seed = seed
        buildings = max(1, round(total / PER_BUILDING))
        self.chunks = max(1, min(100, buildings // 20))
        self.buildings_per_chunk = math.ceil(buildings / self.chunks)

    def __iter__(self) -> Iterator[list[Batch]]:
        next_id = 1
        k = 0
        while next_id - 1 < self.total:  # whole chunks until the total is reached (overshoot < 1 chunk)
            batches = self.chunk(k, next_id)
            next_id += sum(len(b) for b in batches)
            k += 1
            yield batches

    def chunk(self, k: int, first_id: int) -> list[Batch]:
        rng = np.random.default_rng([self.seed, k])
        nb = self.buildings_per_chunk
        road_idx = rng.integers(0, len(ROADS), nb)
        numbers = rng.integers(1, 400, nb)
        xy = _building_centres(rng, nb)
        dx, dy = _metres_to_deg(xy[:, 1])
        w = rng.uniform(12, 60, nb) * dx / 2
        h = rng.uniform(10, 40, nb) * dy / 2
        floors = rng.choice(_FLOORS, size=nb, p=_FLOOR_P)
        years = rng.integers(1980, 2025, nb)
        cursor = [first_id]

        def take(n: int) -> np.ndarray:
            start = cursor[0]
            cursor[0] += n
            return np.arange(start, start + n, dtype=np.int64)

        # Buildings.
        bnames = [
            f"{ROADS[r]}{n}号{b % 9 + 1}栋"
            for r, n, b in zip(road_idx.tolist(), numbers.tolist(), range(nb), strict=True)
        ]
        bgeom = shapely.box(xy[:, 0] - w, xy[:, 1] - h, xy[:, 0] + w, xy[:, 1] + h)
        buildings = Batch(
            ids=take(nb),
            class_code=["050101"] * nb,
            name=bnames,
            geom=bgeom,
            attributes=[
                {"floors": f, "height_m": round(f * 3.0, 1), "use": "住宅", "year_built": y}
                for f, y in zip(floors.tolist(), years.tolist(), strict=True)
            ],
            department_id=[1] * nb,
        )
        # Units: points inside their building.
        per = 1 + rng.poisson(UNITS_MEAN - 1, nb)
        owner = np.repeat(np.arange(nb), per)
        nu = len(owner)
        unit_no = np.concatenate([np.arange(1, p + 1) for p in per.tolist()])
        ux = xy[owner, 0] + rng.uniform(-0.8, 0.8, nu) * w[owner]
        uy = xy[owner, 1] - 0.9 * h[owner]
        units = Batch(
            ids=take(nu),
            class_code=["050102"] * nu,
            name=[f"{bnames[o]}{u}单元" for o, u in zip(owner.tolist(), unit_no.tolist(), strict=True)],
            geom=shapely.points(ux, uy),
            attributes=[{"unit_no": u} for u in unit_no.tolist()],
            department_id=[1] * nu,
            parent=buildings.ids[owner],
        )
        # Rooms: no geometry (they are found through their unit and building).
        rooms_per_unit = floors[owner] * ROOMS_PER_FLOOR
        room_unit = np.repeat(np.arange(nu), rooms_per_unit)
        nr = len(room_unit)
        local = np.concatenate([np.arange(r) for r in rooms_per_unit.tolist()]) if nr else np.zeros(0, np.int64)
        floor_of = local // ROOMS_PER_FLOOR + 1
        room_no = [f"{f}{i % ROOMS_PER_FLOOR + 1:02d}" for f, i in zip(floor_of.tolist(), local.tolist(), strict=True)]
        areas_m2 = np.round(rng.uniform(45, 140, nr), 1).tolist()
        unames = units.name
        rooms = Batch(
            ids=take(nr),
            class_code=["050103"] * nr,
            name=[f"{unames[u]}{r}室" for u, r in zip(room_unit.tolist(), room_no, strict=True)],
            geom=np.full(nr, None, dtype=object),
            attributes=[
                {"floor": f, "room_no": r, "area_m2": a}
                for f, r, a in zip(floor_of.tolist(), room_no, areas_m2, strict=True)
            ],
            department_id=[1] * nr,
            parent=units.ids[room_unit],
        )
        # Street furniture, trees, door plates … near the buildings; roads and areas around them.
        codes: list[str] = []
        names: list[str] = []
        attrs: list[dict[str, Any]] = []
        depts: list[int] = []
        geoms: list[np.ndarray] = []
        for code, label, template, rate, dept in POINTS:
            n = int(rng.poisson(rate * nb))
            at = rng.integers(0, nb, n)
            px = xy[at, 0] + rng.normal(0, 60, n) * dx[at]
            py = xy[at, 1] + rng.normal(0, 60, n) * dy
            geoms.append(shapely.points(px, py))
            seq = rng.integers(1, 10_000, n).tolist()
            roads = [ROADS[i] for i in road_idx[at].tolist()]
            codes += [code] * n
            depts += [dept] * n
            if code == "050201":
                nums = numbers[at].tolist()
                names += [f"{r}{m}号" for r, m in zip(roads, nums, strict=True)]
                attrs += [{"road": r, "number": str(m)} for r, m in zip(roads, nums, strict=True)]
            else:
                names += [f"{r}{label}{s:04d}" for r, s in zip(roads, seq, strict=True)]
                attrs += [dict(template)] * n  # same dict object: rows are only read, never mutated
        for code, label, template, rate, kind, size in AREAS:
            n = int(rng.poisson(rate * nb))
            at = rng.integers(0, nb, n)
            cx, cy = xy[at, 0], xy[at, 1]
            s = rng.uniform(0.5, 1.5, n) * size
            if kind == "line":
                angle = rng.uniform(0, math.pi, n)
                steps = np.linspace(-0.5, 0.5, 5)
                lx = cx[:, None] + np.outer(s * np.cos(angle), steps) * dx[at][:, None]
                ly = cy[:, None] + np.outer(s * np.sin(angle), steps) * dy
                ly = ly + rng.normal(0, 8, ly.shape) * dy
                coords = np.stack([lx, ly], axis=-1).reshape(-1, 2)
                geoms.append(shapely.linestrings(coords, indices=np.repeat(np.arange(n), len(steps))))
            else:
                hx, hy = s / 2 * dx[at], s / 2 * dy
                geoms.append(shapely.box(cx - hx, cy - hy, cx + hx, cy + hy))
            roads = [ROADS[i] for i in road_idx[at].tolist()]
            codes += [code] * n
            names += [f"{r}{label}{i + 1}" for i, r in enumerate(roads)]
            attrs += [dict(template)] * n
            depts += [2] * n
        other = Batch(
            ids=take(len(codes)),
            class_code=codes,
            name=names,
            geom=np.concatenate(geoms) if geoms else np.zeros(0, dtype=object),
            attributes=attrs,
            department_id=depts,
        )
        return [buildings, units, rooms, other]
