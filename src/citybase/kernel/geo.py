"""Geometry value types and input checks shared by every layer (CGCS2000 lon/lat, EPSG:4490)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from citybase.kernel.errors import InvalidInputError, Issue

SRID = 4490
# Generous envelope of China's territory incl. islands; coordinates outside are rejected.
CHINA_BOUNDS = (73.0, 3.0, 136.0, 54.0)


@dataclass(frozen=True, slots=True)
class BBox:
    minx: float
    miny: float
    maxx: float
    maxy: float

    @classmethod
    def parse(cls, text: str, *, field: str = "bbox") -> BBox:
        parts = text.split(",")
        if len(parts) != 4:
            raise InvalidInputError("bad bbox", issues=[Issue(field, "expected minx,miny,maxx,maxy")])
        try:
            minx, miny, maxx, maxy = (float(p) for p in parts)
        except ValueError:
            raise InvalidInputError("bad bbox", issues=[Issue(field, "values must be numbers")]) from None
        box = cls(minx, miny, maxx, maxy)
        if not all(math.isfinite(v) for v in box.as_tuple()) or minx > maxx or miny > maxy:
            raise InvalidInputError("bad bbox", issues=[Issue(field, "need minx<=maxx and miny<=maxy")])
        return box

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.minx, self.miny, self.maxx, self.maxy)

    def to_geometry(self) -> BaseGeometry:
        return shapely.box(*self.as_tuple())


def _in_china(x: float, y: float) -> bool:
    minx, miny, maxx, maxy = CHINA_BOUNDS
    return minx <= x <= maxx and miny <= y <= maxy


def _outside_china(coords: np.ndarray) -> np.ndarray:
    """Mask of the (n, 2+) coordinates outside :data:`CHINA_BOUNDS` (NaN counts as outside)."""
    minx, miny, maxx, maxy = CHINA_BOUNDS
    xs, ys = coords[:, 0], coords[:, 1]
    return ~((xs >= minx) & (xs <= maxx) & (ys >= miny) & (ys <= maxy))


def check_geometry(geom: BaseGeometry, *, record: str | int | None = None, field: str = "geometry") -> None:
    """Reject empty, invalid, non-finite or out-of-China geometry with a message naming why."""
    if geom.is_empty:
        raise InvalidInputError("invalid geometry", issues=[Issue(field, "geometry is empty", record)])
    coords = shapely.get_coordinates(geom)
    if not (coords == coords).all() or not shapely.is_valid_input(geom):  # NaN check
        raise InvalidInputError("invalid geometry", issues=[Issue(field, "coordinates are not finite", record)])
    outside = np.flatnonzero(_outside_china(coords))
    if outside.size:
        x, y = coords[outside[0], :2].tolist()
        if _in_china(y, x):
            reason = f"coordinate ({x}, {y}) looks like (lat, lon); give longitude first"
        else:
            reason = f"coordinate ({x}, {y}) is outside China (CGCS2000 lon/lat expected)"
        raise InvalidInputError("invalid geometry", issues=[Issue(field, reason, record)])
    if not geom.is_valid:
        raise InvalidInputError("invalid geometry", issues=[Issue(field, f"invalid: {explain_validity(geom)}", record)])


def check_geometries(
    geoms: Sequence[BaseGeometry], records: Sequence[str | int | None], *, field: str = "geometry"
) -> dict[int, Issue]:
    """:func:`check_geometry` of many geometries: {position: the issue} for those it would reject.

    The checks run over arrays (emptiness, finite and in-China coordinates, validity), so clean
    geometries cost no Python per vertex; a geometry any of them flags goes through
    :func:`check_geometry` itself, so its issue is worded exactly as for a single geometry.
    """
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    flagged = shapely.is_empty(arr) | ~shapely.is_valid_input(arr)
    coords, owner = shapely.get_coordinates(arr, return_index=True)
    flagged[owner[_outside_china(coords)]] = True  # NaN and out-of-China coordinates
    rest = np.flatnonzero(~flagged)
    flagged[rest[~shapely.is_valid(arr[rest])]] = True
    issues: dict[int, Issue] = {}
    for i in np.flatnonzero(flagged).tolist():
        try:
            check_geometry(geoms[i], record=records[i], field=field)
        except InvalidInputError as exc:
            issues[i] = exc.issues[0]
    return issues


def geometry_from_geojson(obj: Any, *, record: str | int | None = None, field: str = "geometry") -> BaseGeometry:
    """Parse a GeoJSON geometry object and check it; raise InvalidInputError naming the record."""
    if not isinstance(obj, dict) or "type" not in obj:
        raise InvalidInputError("invalid geometry", issues=[Issue(field, "expected a GeoJSON geometry object", record)])
    try:
        geom = shape(obj)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError, shapely.errors.GEOSException) as exc:
        raise InvalidInputError(
            "invalid geometry", issues=[Issue(field, f"not valid GeoJSON: {exc}", record)]
        ) from None
    check_geometry(geom, record=record, field=field)
    return geom
