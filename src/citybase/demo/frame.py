"""Local metric frames and small geometry helpers for the generator.

The generator lays a city out in metres on a local, rotated plane and converts to CGCS2000
longitude/latitude once, with one vectorised affine map per frame. Over a few kilometres the
equirectangular approximation is far below the accuracy a demo needs, and it is exactly invertible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry


def metres_per_degree(lat: float) -> tuple[float, float]:
    """Length of one degree of longitude and of latitude at ``lat`` (GRS 80 series, metres)."""
    phi = math.radians(lat)
    per_lat = 111132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    per_lon = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
    return per_lon, per_lat


@dataclass(frozen=True, slots=True)
class Frame:
    """A plane in metres centred on (lon0, lat0), its u axis turned ``theta`` radians from east."""

    lon0: float
    lat0: float
    theta: float = 0.0

    @property
    def _k(self) -> tuple[float, float]:
        return metres_per_degree(self.lat0)

    def to_lonlat(self, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kx, ky = self._k
        c, s = math.cos(self.theta), math.sin(self.theta)
        return self.lon0 + (u * c - v * s) / kx, self.lat0 + (u * s + v * c) / ky

    def to_local(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kx, ky = self._k
        x, y = (lon - self.lon0) * kx, (lat - self.lat0) * ky
        c, s = math.cos(self.theta), math.sin(self.theta)
        return x * c + y * s, -x * s + y * c

    def geoms_to_lonlat(self, geoms: Any) -> Any:
        """Map local geometries (one or an array) to lon/lat."""

        def fn(xy: np.ndarray) -> np.ndarray:
            lon, lat = self.to_lonlat(xy[:, 0], xy[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(geoms, fn)

    def geoms_to_local(self, geoms: Any) -> Any:
        def fn(xy: np.ndarray) -> np.ndarray:
            u, v = self.to_local(xy[:, 0], xy[:, 1])
            return np.column_stack([u, v])

        return shapely.transform(geoms, fn)

    def points(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """Point geometries in lon/lat for local coordinates."""
        lon, lat = self.to_lonlat(np.asarray(u, dtype=float), np.asarray(v, dtype=float))
        return shapely.points(lon, lat)


def largest_polygon(geom: BaseGeometry | None) -> Polygon | None:
    """The largest polygon part of ``geom`` after repair, or None when it has no area."""
    if geom is None or geom.is_empty:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if isinstance(geom, Polygon):
        return geom if geom.area > 0 else None
    parts = [p for p in shapely.get_parts(geom) if isinstance(p, Polygon | MultiPolygon)]
    polys = [q for p in parts for q in (p.geoms if isinstance(p, MultiPolygon) else [p])]
    if not polys:
        return None
    best = max(polys, key=lambda p: p.area)
    return best if best.area > 0 else None


def ccw(poly: Polygon) -> Polygon:
    """Exterior counter-clockwise, holes clockwise (RFC 7946)."""
    return shapely.geometry.polygon.orient(poly, 1.0)


def clean_polygon(geom: BaseGeometry | None) -> Polygon | None:
    """A valid, counter-clockwise single polygon from ``geom`` (largest part), or None."""
    poly = largest_polygon(geom)
    if poly is None:
        return None
    if not poly.is_valid:
        poly = largest_polygon(poly.buffer(0))
        if poly is None:
            return None
    return ccw(poly)


def clean_multipolygon(geom: BaseGeometry) -> MultiPolygon | None:
    """A valid MultiPolygon of all polygon parts of ``geom``, counter-clockwise, or None when empty."""
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    polys = [
        ccw(p)
        for part in shapely.get_parts(geom)
        for p in (part.geoms if isinstance(part, MultiPolygon) else [part])
        if isinstance(p, Polygon) and p.area > 0
    ]
    if not polys:
        return None
    multi = MultiPolygon(polys)
    return multi if multi.is_valid else None


def sample_in(region: BaseGeometry, rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` points drawn uniformly in ``region`` by rejection in its bounding box; shape (n, 2)."""
    minx, miny, maxx, maxy = region.bounds
    shapely.prepare(region)
    out: list[np.ndarray] = []
    have = 0
    for _ in range(200):
        xs = rng.uniform(minx, maxx, 4 * n + 16)
        ys = rng.uniform(miny, maxy, 4 * n + 16)
        keep = shapely.contains_xy(region, xs, ys)
        pts = np.column_stack([xs[keep], ys[keep]])
        out.append(pts)
        have += len(pts)
        if have >= n:
            break
    pts = np.concatenate(out) if out else np.empty((0, 2))
    if len(pts) < n:  # a sliver: fall back to points on it
        extra = np.array([region.representative_point().coords[0]] * (n - len(pts)))
        pts = np.concatenate([pts, extra]) if len(pts) else extra
    return pts[:n]


def spread_points(
    region: BaseGeometry, rng: np.random.Generator, n: int, taken: np.ndarray, candidates: int = 12
) -> np.ndarray:
    """``n`` well-spread points in ``region`` (best-candidate sampling), keeping away from ``taken``."""
    chosen = [p for p in np.asarray(taken, dtype=float).reshape(-1, 2)]
    result = []
    for _ in range(n):
        cand = sample_in(region, rng, candidates)
        if chosen:
            ref = np.array(chosen)
            d = np.min(np.hypot(cand[:, None, 0] - ref[None, :, 0], cand[:, None, 1] - ref[None, :, 1]), axis=1)
            best = cand[int(np.argmax(d))]
        else:
            best = cand[0]
        chosen.append(best)
        result.append(best)
    return np.array(result).reshape(-1, 2)


def voronoi_cells(seeds: np.ndarray, region: BaseGeometry) -> list[Polygon | None]:
    """One cell per seed (in seed order), clipped to ``region``; a cell is its largest polygon part."""
    if len(seeds) == 1:
        return [clean_polygon(region)]
    minx, miny, maxx, maxy = region.bounds
    pad = max(maxx - minx, maxy - miny)
    frame = shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad)
    diagram = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=frame, ordered=True)
    cells = list(shapely.get_parts(diagram))
    if len(cells) != len(seeds):  # duplicate seeds collapse; never expected with continuous sampling
        raise ValueError("voronoi: seeds must be distinct")
    clipped = shapely.intersection(np.array(cells, dtype=object), region)
    return [clean_polygon(c) for c in clipped]
