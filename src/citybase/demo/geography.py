"""Xiangyang's real divisions and district boundaries, plus generated street and community polygons.

Districts (区县) are the real polygons. Streets/towns (乡镇街道) and communities/villages (社区/村) have
real names and NBS codes but no published boundaries, so their polygons are a seeded Voronoi
partition: urban streets cluster round the district seat, towns spread over the rest; inside a
street, communities (社区) cluster near the street's seed and villages (村) fill the remainder.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, shape

from citybase.demo.frame import Frame, clean_multipolygon, clean_polygon, spread_points, voronoi_cells

# Approximate seats (政府驻地) of the nine county-level units, lon/lat; each lies inside its polygon.
SEATS: dict[str, tuple[float, float]] = {
    "420602": (112.150, 32.010),
    "420606": (112.135, 32.045),
    "420607": (112.211, 32.090),
    "420624": (111.839, 31.776),
    "420625": (111.653, 32.263),
    "420626": (111.262, 31.879),
    "420682": (111.675, 32.385),
    "420683": (112.772, 32.129),
    "420684": (112.258, 31.720),
}
_RURAL_ZONE_WORDS = ("农场", "林场", "原种场", "风景", "监狱", "劳教", "管理区")
# The Han below Xiangyang's district borders (through 宜城), approximate, lon/lat.
_HAN_SOUTH = (
    (112.228, 31.896),
    (112.245, 31.80),
    (112.275, 31.72),
    (112.300, 31.62),
    (112.335, 31.50),
    (112.36, 31.38),
)
_HAN_NORTH = ((111.45, 32.56), (111.527, 32.493))
# 唐白河, approximate course from the north of 襄州区 to the Han.
_TANGBAI = (
    (112.300, 32.460),
    (112.285, 32.350),
    (112.262, 32.250),
    (112.240, 32.160),
    (112.218, 32.100),
    (112.205, 32.075),
)
# Pairs of districts whose shared border is the Han (老河口|谷城, 樊城|谷城, 襄城|樊城, 襄城|襄州).
_HAN_BORDERS = (("420625", "420682"), ("420606", "420625"), ("420602", "420606"), ("420602", "420607"))


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    name: str
    level: int
    parent_code: str


@dataclass(frozen=True, slots=True)
class District:
    code: str
    name: str
    geometry: MultiPolygon
    seat: tuple[float, float]

    @property
    def frame(self) -> Frame:
        return Frame(*self.seat)


@dataclass(frozen=True, slots=True)
class Street:
    code: str
    name: str
    district_code: str
    geometry: Polygon  # lon/lat
    seed: tuple[float, float]  # lon/lat
    kind: str  # "urban" (街道, 城关镇), "town" (镇/乡), "zone" (开发区/园区), "rural" (农场/林场/...)


@dataclass(frozen=True, slots=True)
class Community:
    code: str
    name: str
    street_code: str
    geometry: Polygon  # lon/lat
    seed: tuple[float, float]  # lon/lat
    urban: bool  # 社区/居委会 (True) or 村/生活区 (False)


@dataclass(frozen=True, slots=True)
class Water:
    name: str
    district_code: str
    geometry: MultiPolygon
    water_type: str


@dataclass(frozen=True, slots=True)
class Geography:
    districts: tuple[District, ...]
    streets: tuple[Street, ...]
    communities: tuple[Community, ...]
    water: tuple[Water, ...]


def _data(name: str) -> str:
    return resources.files("citybase.demo").joinpath("data", name).read_text(encoding="utf-8")


@cache
def divisions() -> tuple[Division, ...]:
    """The NBS 2023 rows of 襄阳市 (districts, streets/towns, communities/villages), in code order."""
    rows = csv.DictReader(io.StringIO(_data("xiangyang_divisions.csv")))
    return tuple(Division(r["code"], r["name"], int(r["level"]), r["parent_code"]) for r in rows)


@cache
def district_polygons() -> dict[str, tuple[str, MultiPolygon]]:
    doc = json.loads(_data("xiangyang_districts.geojson"))
    out = {}
    for f in doc["features"]:
        geom = shape(f["geometry"])
        out[f["properties"]["code"]] = (f["properties"]["name"], geom)
    return out


def xiangyang_boundary() -> MultiPolygon:
    """The union of the nine district polygons (the city boundary)."""
    return shapely.union_all([g for _, g in district_polygons().values()])


def is_urban_community(name: str) -> bool:
    if "村委会" in name or "村民委员会" in name or name.endswith("生活区"):
        return False
    return "社区" in name or "居委会" in name or "居民委员会" in name or "居民委会" in name


def street_kind(code: str, name: str) -> str:
    digits = code[6:9]
    if digits.startswith("0") or name == "城关镇":
        return "urban"
    if digits[0] in "12":
        return "town"
    if any(w in name for w in _RURAL_ZONE_WORDS):
        return "rural"
    return "zone"


def load_districts() -> tuple[District, ...]:
    polys = district_polygons()
    return tuple(District(code, name, geom, SEATS[code]) for code, (name, geom) in sorted(polys.items()))


def _local_polygon(frame: Frame, geom: Polygon | MultiPolygon) -> Polygon | MultiPolygon:
    return frame.geoms_to_local(geom)


def _street_seeds(
    district: District, streets: list[Division], rng: np.random.Generator, region: Polygon | MultiPolygon
) -> np.ndarray:
    """Seeds in the district's local frame: urban streets round the seat, towns across the rest."""
    kinds = [street_kind(s.code, s.name) for s in streets]
    n_urban = sum(k == "urban" for k in kinds)
    r_urban = 1600.0 * math.sqrt(max(n_urban, 1))
    core = region.intersection(Point(0, 0).buffer(r_urban))
    ring = region.intersection(Point(0, 0).buffer(2.2 * r_urban)).difference(Point(0, 0).buffer(r_urban))
    outer = region.difference(Point(0, 0).buffer(1.3 * r_urban))
    if outer.area < 0.2 * region.area:
        outer = region
    seeds = np.zeros((len(streets), 2))
    taken = np.zeros((0, 2))
    order = sorted(range(len(streets)), key=lambda i: ("urban", "zone", "town", "rural").index(kinds[i]))
    first_urban = True
    for i in order:
        kind = kinds[i]
        if kind == "urban" and first_urban:
            pt = np.array([[0.0, 0.0]])  # the first urban street holds the seat
            first_urban = False
        else:
            area = core if kind == "urban" else ring if kind == "zone" else outer
            if area.is_empty or area.area < 1e4:
                area = region
            pt = spread_points(area, rng, 1, taken)
        seeds[i] = pt[0]
        taken = np.vstack([taken, pt])
    return seeds


def _community_seeds(
    street_poly: Polygon, seed: np.ndarray, members: list[Division], rng: np.random.Generator
) -> np.ndarray:
    urban = [is_urban_community(m.name) for m in members]
    n_urban = sum(urban)
    r = 320.0 * math.sqrt(max(n_urban, 1))
    disc = Point(seed).buffer(r)
    near = street_poly.intersection(disc)
    far = street_poly.difference(Point(seed).buffer(1.15 * r))
    if near.is_empty or near.area < 0.05 * disc.area:
        near = street_poly
    if far.is_empty or far.area < 0.15 * street_poly.area:
        far = street_poly
    seeds = np.zeros((len(members), 2))
    taken = np.zeros((0, 2))
    for i in sorted(range(len(members)), key=lambda i: not urban[i]):
        pt = spread_points(near if urban[i] else far, rng, 1, taken)
        seeds[i] = pt[0]
        taken = np.vstack([taken, pt])
    return seeds


def partition(district: District, rows: Iterable[Division], seed: int) -> tuple[list[Street], list[Community]]:
    """Street and community polygons of one district, deterministic for ``seed``."""
    frame = district.frame
    region = _local_polygon(frame, district.geometry)
    shapely.prepare(region)
    rows = list(rows)
    streets_rows = [r for r in rows if r.level == 4]
    rng = np.random.default_rng([seed, int(district.code)])
    seeds = _street_seeds(district, streets_rows, rng, region)
    cells = voronoi_cells(seeds, region)
    streets: list[Street] = []
    communities: list[Community] = []
    for row, cell, s in zip(streets_rows, cells, seeds, strict=True):
        if cell is None:
            continue
        lonlat = frame.geoms_to_lonlat(cell)
        lon, lat = frame.to_lonlat(np.array([s[0]]), np.array([s[1]]))
        street = Street(
            row.code,
            row.name,
            district.code,
            _valid(lonlat),
            (float(lon[0]), float(lat[0])),
            street_kind(row.code, row.name),
        )
        streets.append(street)
        members = [r for r in rows if r.level == 5 and r.parent_code == row.code]
        if not members:
            continue
        crng = np.random.default_rng([seed, int(row.code)])
        cseeds = _community_seeds(cell, s, members, crng)
        for m, ccell, cs in zip(members, voronoi_cells(cseeds, cell), cseeds, strict=True):
            if ccell is None:
                continue
            clon, clat = frame.to_lonlat(np.array([cs[0]]), np.array([cs[1]]))
            communities.append(
                Community(
                    m.code,
                    m.name,
                    row.code,
                    _valid(frame.geoms_to_lonlat(ccell)),
                    (float(clon[0]), float(clat[0])),
                    is_urban_community(m.name),
                )
            )
    return streets, communities


def _valid(poly: Polygon) -> Polygon:
    cleaned = clean_polygon(poly)
    if cleaned is None:  # pragma: no cover - cells come from non-empty Voronoi clips
        raise ValueError("empty cell")
    return cleaned


def han_river_line() -> LineString:
    """The Han's centreline: the district borders it forms, extended upstream and through 宜城."""
    polys = district_polygons()
    parts = [polys[a][1].boundary.intersection(polys[b][1].boundary) for a, b in _HAN_BORDERS]
    merged = shapely.line_merge(shapely.union_all(parts))
    lines = sorted(shapely.get_parts(merged), key=lambda g: -g.length)
    coords = np.asarray(lines[0].coords)
    if coords[0, 1] < coords[-1, 1]:  # run downstream: north-west first
        coords = coords[::-1]
    return LineString([*_HAN_NORTH, *map(tuple, coords), *_HAN_SOUTH[1:]])


def water_bodies(districts: Iterable[District]) -> list[Water]:
    """River bands clipped to each district: 汉江 (about 500 m wide) and 唐白河 (about 200 m)."""
    rivers = [("汉江", han_river_line(), 250.0), ("唐白河", LineString(_TANGBAI), 100.0)]
    out = []
    for name, line, half_width in rivers:
        frame = Frame(line.centroid.x, line.centroid.y)
        band = frame.geoms_to_lonlat(frame.geoms_to_local(line).buffer(half_width, quad_segs=4))
        for d in districts:
            piece = clean_multipolygon(band.intersection(d.geometry))
            if piece is not None and piece.area > 1e-7:
                out.append(Water(name, d.code, piece, "河流"))
    return out


def build_geography(seed: int, district_codes: Iterable[str] | None = None) -> Geography:
    """All nine districts; streets, communities and water of ``district_codes`` (default: all)."""
    districts = load_districts()
    wanted = {d.code for d in districts} if district_codes is None else set(district_codes)
    rows = divisions()
    streets: list[Street] = []
    communities: list[Community] = []
    for d in districts:
        if d.code not in wanted:
            continue
        s, c = partition(d, (r for r in rows if r.code.startswith(d.code) and r.level > 3), seed)
        streets += s
        communities += c
    water = water_bodies([d for d in districts if d.code in wanted])
    return Geography(districts, tuple(streets), tuple(communities), tuple(water))
