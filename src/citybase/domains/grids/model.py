"""What a grid (网格) is: its levels, its record, its members, and the checks on new grids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from citybase.kernel.errors import InvalidInputError, Issue
from citybase.kernel.geo import CHINA_BOUNDS

# The hierarchy, top down: a grid's level is always the one right below its parent's.
LEVELS = ("district", "street", "community", "grid", "micro")
LEVEL_NAMES = {"district": "区", "street": "街道", "community": "社区", "grid": "网格", "micro": "微网格"}
DUTIES = ("worker", "reviewer")  # 网格员 | 审核员
STATES = ("active", "retired")
# Digits of the division code a division-level grid is named by; its code is that code padded to 12.
DIVISION_DIGITS = {"district": 6, "street": 9, "community": 12}
SERIAL_DIGITS = {"grid": 3, "micro": 2}  # a grid's code: its parent's code + this many serial digits
# A child may stick out of its parent by this share of its own area (float noise of clipped polygons).
OUTSIDE_TOLERANCE = 0.001


@dataclass(frozen=True, slots=True)
class Grid:
    id: int
    parent_id: int | None
    level: str
    code: str
    name: str
    division_code: str
    state: str
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    geom: BaseGeometry | None = None  # loaded by ``GridService.grid``; lists leave it out


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    grid_id: int
    user_id: int
    duty: str
    since: datetime
    until: datetime | None
    assigned_by: str
    username: str = ""
    display_name: str = ""


@dataclass(slots=True)
class GridTree:
    grid: Grid
    children: list[GridTree] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class NewGrid:
    level: str
    name: str
    geom: BaseGeometry | dict[str, Any]  # shapely or a GeoJSON geometry
    parent_id: int | None = None
    code: str | None = None  # default: the division code (division levels) or parent code + serial
    division_code: str | None = None  # required for district/street/community


def level_below(level: str) -> str | None:
    i = LEVELS.index(level)
    return LEVELS[i + 1] if i + 1 < len(LEVELS) else None


def polygonal(geom: BaseGeometry | dict[str, Any], record: str | int | None = None) -> BaseGeometry:
    """The grid's polygon, or InvalidInputError naming what is wrong with it."""
    if isinstance(geom, dict):
        try:
            geom = shapely.geometry.shape(geom)
        except Exception as exc:  # any parse failure is bad input
            raise InvalidInputError(
                "bad grid polygon", issues=[Issue("geom", f"not a GeoJSON geometry: {exc}", record)]
            ) from None
    if not isinstance(geom, Polygon | MultiPolygon):
        raise InvalidInputError(
            "bad grid polygon",
            issues=[Issue("geom", f"must be a Polygon or MultiPolygon, not {geom.geom_type}", record)],
        )
    if geom.is_empty:
        raise InvalidInputError("bad grid polygon", issues=[Issue("geom", "is empty", record)])
    if not geom.is_valid:
        reason = shapely.is_valid_reason(geom)
        raise InvalidInputError("bad grid polygon", issues=[Issue("geom", f"is not valid: {reason}", record)])
    minx, miny, maxx, maxy = CHINA_BOUNDS
    bx0, by0, bx1, by1 = geom.bounds
    if bx0 < minx or by0 < miny or bx1 > maxx or by1 > maxy:
        raise InvalidInputError(
            "bad grid polygon",
            issues=[Issue("geom", "lies outside China (expects CGCS2000 longitude/latitude)", record)],
        )
    return geom


def outside_share(child: BaseGeometry, parent: BaseGeometry) -> float:
    """The share of the child's area that lies outside its parent."""
    area = child.area
    return 0.0 if area == 0 else float(child.difference(parent).area / area)


def check_division_code(level: str, code: str | None, parent_code: str | None, record: str | int | None) -> str:
    """A division-level grid's division code, padded to 12 digits, checked against its parent's."""
    digits = DIVISION_DIGITS[level]
    raw = (code or "").strip()
    if not raw.isdigit() or len(raw) not in (digits, 12) or (len(raw) == 12 and set(raw[digits:]) - {"0"}):
        raise InvalidInputError(
            "bad grid",
            issues=[
                Issue(
                    "division_code",
                    f"a {level} grid needs its {digits}-digit division code (or it padded to 12)",
                    record,
                )
            ],
        )
    padded = raw[:digits].ljust(12, "0")
    if parent_code is not None:
        keep = DIVISION_DIGITS[LEVELS[LEVELS.index(level) - 1]]
        if padded[:keep] != parent_code[:keep]:
            raise InvalidInputError(
                "bad grid",
                issues=[
                    Issue(
                        "division_code", f"{padded} does not lie in the parent's division {parent_code[:keep]}", record
                    )
                ],
            )
    return padded
