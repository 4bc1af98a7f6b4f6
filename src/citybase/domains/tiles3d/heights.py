"""The height rule of white models: how tall a building is drawn, and why."""

from __future__ import annotations

import math
from typing import Any

DEFAULT_FLOOR_HEIGHT_M = 3.0
DEFAULT_HEIGHT_M = DEFAULT_FLOOR_HEIGHT_M  # a building with neither height nor floors: one storey
MAX_HEIGHT_M = 1000.0  # taller than any building; larger values are data errors

# Where a height came from, in order of preference.
FROM_HEIGHT = "height_m"
FROM_FLOOR_HEIGHT = "floors*floor_height_m"
FROM_FLOORS = "floors*3m"
FROM_DEFAULT = "default"


def _positive(value: Any) -> float | None:
    """A usable positive finite number, or None (booleans and text are not heights)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and 0 < number <= MAX_HEIGHT_M else None


def building_height(height_m: Any, floors: Any, floor_height_m: Any) -> tuple[float, str]:
    """Height in metres and its source: ``height_m``, else floors × floor_height_m, else floors × 3 m,
    else one storey (3 m, reported as ``default``)."""
    height = _positive(height_m)
    if height is not None:
        return height, FROM_HEIGHT
    storeys = _positive(floors)
    if storeys is not None:
        per_floor = _positive(floor_height_m)
        if per_floor is not None and storeys * per_floor <= MAX_HEIGHT_M:
            return storeys * per_floor, FROM_FLOOR_HEIGHT
        if storeys * DEFAULT_FLOOR_HEIGHT_M <= MAX_HEIGHT_M:
            return storeys * DEFAULT_FLOOR_HEIGHT_M, FROM_FLOORS
    return DEFAULT_HEIGHT_M, FROM_DEFAULT
