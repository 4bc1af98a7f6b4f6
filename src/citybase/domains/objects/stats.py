"""Statistics of the objects inside a drawn area: counts per class (the portal's "draw a polygon" tool)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import shapely
from pyproj import Geod
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select

from citybase.domains.objects.classes import ClassRegistry
from citybase.domains.objects.model import LifecycleState
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.kernel.geo import check_geometry
from citybase.store import Store, intersects
from citybase.store.schema import city_object

# A drawn area, not a district boundary: more vertices than this is a mistake or an abuse of the endpoint.
MAX_VERTICES = 10_000
# CGCS2000 uses the GRS 80 ellipsoid; the same one the store measures areas on.
_GEOD = Geod(ellps="GRS80")


@dataclass(frozen=True, slots=True)
class ClassCount:
    class_code: str
    name: str
    name_en: str
    count: int


@dataclass(frozen=True, slots=True)
class AreaStats:
    area_m2: float
    total: int
    classes: list[ClassCount]


def check_area(geometry: BaseGeometry, *, field: str = "geometry") -> None:
    """A statistics area must be a valid (multi)polygon in China of reasonable size."""
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise InvalidInputError(
            "invalid area", issues=[Issue(field, f"expected a Polygon or MultiPolygon, got {geometry.geom_type}")]
        )
    vertices = int(shapely.get_num_coordinates(geometry))
    if vertices > MAX_VERTICES:
        raise InvalidInputError(
            "invalid area", issues=[Issue(field, f"{vertices} vertices; at most {MAX_VERTICES} are allowed")]
        )
    check_geometry(geometry, field=field)


def stats_in_area(
    store: Store, classes: ClassRegistry, geometry: BaseGeometry, class_codes: Sequence[str] = ()
) -> AreaStats:
    """Count the current (not retired) objects that intersect `geometry`, per class, largest count first.

    `class_codes` limits the count to those classes; an unknown code is an error naming it.
    """
    check_area(geometry)
    wanted = [classes.get(code, field=f"classes[{i}]") for i, code in enumerate(class_codes)]
    t = city_object
    n = func.count().label("n")
    stmt = (
        select(t.c.class_code, n)
        .where(intersects(t.c.geom, geometry), t.c.state != LifecycleState.RETIRED.value)
        .group_by(t.c.class_code)
    )
    if wanted:
        stmt = stmt.where(t.c.class_code.in_([c.code for c in wanted]))
    with store.read() as conn:
        rows = conn.execute(stmt).all()
    known = {c.code: c for c in classes.all()}
    counts = [
        ClassCount(
            code,
            known[code].name if code in known else code,
            known[code].name_en if code in known else code,
            int(count),
        )
        for code, count in rows
    ]
    counts.sort(key=lambda c: (-c.count, c.class_code))
    area, _ = _GEOD.geometry_area_perimeter(geometry)
    return AreaStats(area_m2=abs(float(area)), total=sum(c.count for c in counts), classes=counts)
