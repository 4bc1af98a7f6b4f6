"""Geometry of imported rows: parse WKB, and repair only what can be repaired without changing the shape.

Safe repairs, each recorded in the report: closing an unclosed ring, dropping repeated (duplicate)
consecutive vertices, and ``make_valid`` of a polygon whose repair keeps its area (a self-touching ring,
an inverted hole). Anything else (a bow-tie, a spike) is rejected with GEOS's explanation: guessing
the intended shape is the department's call, not ours.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

AREA_TOLERANCE = 1e-9  # relative area change accepted from make_valid (floating-point noise only)


class GeometryRejected(ValueError):
    pass


def parse_wkb(wkb: bytes | None) -> tuple[BaseGeometry | None, list[str]]:
    """The geometry of a row (None when it has none) and the repairs parsing needed."""
    if wkb is None:
        return None, []
    try:
        return shapely.from_wkb(wkb), []
    except shapely.errors.GEOSException as exc:
        reason = str(exc)
    try:
        fixed = shapely.from_wkb(wkb, on_invalid="fix")
    except shapely.errors.GEOSException:
        fixed = None
    if fixed is None or fixed.is_empty:
        raise GeometryRejected(f"unreadable geometry: {reason}")
    return fixed, ["closed an unclosed ring"]


def repair(geom: BaseGeometry) -> tuple[BaseGeometry, list[str]]:
    """``geom`` with safe repairs applied and what they were; GeometryRejected if it needs an unsafe one."""
    repairs: list[str] = []
    before = shapely.get_num_coordinates(geom)
    geom = shapely.remove_repeated_points(geom, 0.0)
    dropped = before - shapely.get_num_coordinates(geom)
    if dropped:
        repairs.append(f"dropped {dropped} duplicate vertices")
    if geom.is_empty or geom.is_valid:
        return geom, repairs
    why = explain_validity(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        fixed = shapely.make_valid(geom)
        if fixed.geom_type in ("Polygon", "MultiPolygon") and fixed.is_valid:
            area = geom.area
            if area > 0 and abs(fixed.area - area) <= AREA_TOLERANCE * area:
                return fixed, [*repairs, f"make_valid ({why}); area kept"]
    raise GeometryRejected(f"invalid geometry ({why}); not repaired because a repair would change its shape")


def _objects(items: Sequence[object]) -> np.ndarray:
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


def parse_many(wkbs: Sequence[bytes | None]) -> list[tuple[BaseGeometry | None, list[str]] | GeometryRejected]:
    """:func:`parse_wkb` of every row: one shapely call for a clean file, row by row only when it fails."""
    try:
        return [(g, []) for g in shapely.from_wkb(_objects(wkbs)).tolist()]
    except shapely.errors.GEOSException:
        pass  # some row is broken: find it and its repair row by row
    out: list[tuple[BaseGeometry | None, list[str]] | GeometryRejected] = []
    for wkb in wkbs:
        try:
            out.append(parse_wkb(wkb))
        except GeometryRejected as exc:
            out.append(exc)
    return out


def repair_many(geoms: Sequence[BaseGeometry | None]) -> list[tuple[BaseGeometry, list[str]] | GeometryRejected | None]:
    """:func:`repair` of every geometry (None for None): the usual case, nothing to repair, by shapely's
    array functions; only geometries with duplicate vertices or invalid ones go through :func:`repair`."""
    arr = _objects(geoms)
    cleaned = shapely.remove_repeated_points(arr, 0.0)
    same = shapely.get_num_coordinates(arr) == shapely.get_num_coordinates(cleaned)
    fine = same & (shapely.is_empty(cleaned) | shapely.is_valid(cleaned))
    out: list[tuple[BaseGeometry, list[str]] | GeometryRejected | None] = []
    for g, ok, c in zip(geoms, fine.tolist(), cleaned.tolist(), strict=True):
        if g is None:
            out.append(None)
        elif ok:
            out.append((c, []))
        else:
            try:
                out.append(repair(g))
            except GeometryRejected as exc:
                out.append(exc)
    return out
