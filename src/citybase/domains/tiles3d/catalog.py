"""The buildings of a layer as plain arrays (id, bbox, height), read once in chunks, with a report of
footprints that cannot be drawn and heights that had to be defaulted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray
from sqlalchemy import Connection, func, select

from citybase.domains.objects import LifecycleState
from citybase.domains.tiles3d.heights import FROM_DEFAULT, building_height
from citybase.kernel.errors import Issue
from citybase.store.schema import city_object

CHUNK = 5000
MAX_ISSUES = 1000  # kept in a report; the counts stay exact
_POLYGONAL = ("Polygon", "MultiPolygon")


def layer_conditions(class_code: str) -> list[Any]:
    """Current (non-retired) objects of the class: what the layer shows."""
    t = city_object
    return [t.c.class_code == class_code, t.c.state != LifecycleState.RETIRED.value]


def building_columns() -> list[Any]:
    t = city_object
    a = t.c.attributes
    return [t.c.id, t.c.code, t.c.name, t.c.geom, a["height_m"], a["floors"], a["floor_height_m"]]


def data_stamp(conn: Connection, class_code: str) -> str:
    """Changes when any object of the class is added, changed, retired or removed."""
    t = city_object
    q = select(func.count(), func.max(t.c.updated_at), func.max(t.c.id)).where(t.c.class_code == class_code)
    count, last, top = conn.execute(q).one()
    return f"{count}|{last}|{top}"


@dataclass(slots=True)
class Catalog:
    ids: NDArray[np.int64]
    bounds: NDArray[np.float64]  # (n, 4) lon/lat bbox of each footprint
    heights: NDArray[np.float64]
    sources: list[str]
    skipped: int = 0
    defaulted: int = 0
    issues: list[Issue] = field(default_factory=list)

    def report(self, issue: Issue) -> None:
        if len(self.issues) < MAX_ISSUES:
            self.issues.append(issue)


def footprint_problem(geom: Any) -> str | None:
    """Why a geometry cannot be extruded, or None."""
    if geom is None or geom.is_empty:
        return "no footprint (empty geometry)"
    if geom.geom_type not in _POLYGONAL:
        return f"a {geom.geom_type} is not a footprint; a Polygon or MultiPolygon is needed"
    if not geom.is_valid:
        return f"invalid polygon ({shapely.is_valid_reason(geom)}); fix the footprint and import it again"
    if geom.area <= 0:
        return "the footprint has no area"
    return None


def read_catalog(conn: Connection, class_code: str) -> Catalog:
    """Every drawable building of the class; undrawable ones are counted and reported, never half-drawn."""
    ids: list[int] = []
    bounds: list[Any] = []
    heights: list[float] = []
    sources: list[str] = []
    cat = Catalog(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0), [])
    stmt = select(*building_columns()).where(*layer_conditions(class_code)).order_by(city_object.c.id)
    for row in conn.execution_options(yield_per=CHUNK).execute(stmt):
        object_id, code, _name, geom, height_m, floors, floor_height_m = row
        record = code or object_id
        problem = footprint_problem(geom)
        if problem is not None:
            cat.skipped += 1
            cat.report(Issue("geometry", f"skipped: {problem}", record))
            continue
        height, source = building_height(height_m, floors, floor_height_m)
        if source == FROM_DEFAULT:
            cat.defaulted += 1
            cat.report(
                Issue(
                    "height_m",
                    f"no usable height_m or floors (height_m={height_m!r}, floors={floors!r}); drawn {height:g} m high",
                    record,
                )
            )
        ids.append(int(object_id))
        bounds.append(geom.bounds)
        heights.append(height)
        sources.append(source)
    cat.ids = np.array(ids, dtype=np.int64)
    cat.bounds = np.array(bounds, dtype=np.float64).reshape(-1, 4)
    cat.heights = np.array(heights, dtype=np.float64)
    cat.sources = sources
    return cat
