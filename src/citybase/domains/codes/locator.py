"""Which division a new code gets: the county-level division whose polygon holds the object.

A locator (``writing.DivisionLocator``: a callable plus a ``problems`` check) is passed to the code
service by the platform; it gets many points at once (bulk coding locates a whole chunk per call).
The default, :func:`district_locator`, reads the live district objects (class 070101, attribute
``division_code``) and tests the points against their polygons in memory (bounds, then prepared
polygons, vectorised). An object without geometry of its own (a room, a unit) is placed where its
nearest located ancestor is (:func:`ancestor_wkbs`); points outside every district, and objects with no
located ancestor either, get the platform's own division (``settings.division_code``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from sqlalchemy import Connection, func, select

from citybase.domains.objects import LifecycleState
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.standards import divisions
from citybase.store.counters import wkb
from citybase.store.schema import city_object

DISTRICT_CLASS = "070101"
ANCESTOR_DEPTH = 3  # room -> unit -> building -> compound: far enough for the house tree
_ID_CHUNK = 5_000  # ids per IN list (bound parameters)


def _current_division(code: object, object_id: int) -> str:
    """A district's division code, which must be a current GB/T 2260 code (new codes use current ones)."""
    if isinstance(code, str) and divisions.is_valid_2260(code):
        return code
    reason = f"district object {object_id} has division_code {code!r}, which is not a current GB/T 2260 code"
    if isinstance(code, str) and len(code) == 6 and code.isdigit():
        res = divisions.resolve(code)
        if res.note:
            reason += f" ({res.note})"
    raise InvalidInputError("cannot locate the division", issues=[Issue("attributes.division_code", reason, object_id)])


class DistrictLocator:
    """Locate points in the live district objects of ``class_code``; fall back to ``default_division``."""

    def __init__(self, default_division: str, class_code: str = DISTRICT_CLASS) -> None:
        self.default_division = default_division
        self.class_code = class_code

    def _districts(self, conn: Connection) -> list[Any]:
        t = city_object
        q = select(t.c.id, t.c.geom, t.c.attributes).where(
            t.c.class_code == self.class_code, t.c.state != LifecycleState.RETIRED.value
        )
        return list(conn.execute(q.order_by(t.c.id)).all())

    def problems(self, conn: Connection) -> list[Issue]:
        """Bad division codes of the default and of every district (checked before a bulk run)."""
        issues = []
        if not divisions.is_valid_2260(self.default_division):
            issues.append(
                Issue(
                    "division_code",
                    f"the platform's division {self.default_division!r} is not a "
                    "current GB/T 2260 code (setting CITYBASE_DIVISION_CODE)",
                )
            )
        for r in self._districts(conn):
            try:
                _current_division((r.attributes or {}).get("division_code"), r.id)
            except InvalidInputError as exc:
                issues += exc.issues
        return issues

    def __call__(self, conn: Connection, xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]) -> Any:
        out = np.full(xs.size, self.default_division, dtype="U6")
        have = np.isfinite(xs) & np.isfinite(ys)
        if not have.any():
            return out
        # All districts by class (a city has a handful, a country a few thousand), not a spatial query
        # over the chunk's extent: on SQLite that extent spans the city, and the R*Tree would hand back
        # every object in it for each chunk (33 minutes of a 5.6 M run). The bounds test below filters.
        rows = self._districts(conn)
        if not rows:
            return out
        # Lowest division code first, so a point on a shared border always gets the same division.
        found = sorted((_current_division((r.attributes or {}).get("division_code"), r.id), r.geom) for r in rows)
        free = have.copy()
        for code, geom in found:
            minx, miny, maxx, maxy = geom.bounds
            idx = np.flatnonzero(free & (xs >= minx) & (xs <= maxx) & (ys >= miny) & (ys <= maxy))
            if idx.size:
                shapely.prepare(geom)
                hit = idx[shapely.intersects_xy(geom, xs[idx], ys[idx])]
                out[hit] = code
                free[hit] = False
        return out


def district_locator(default_division: str, class_code: str = DISTRICT_CLASS) -> DistrictLocator:
    """The default locator: district objects of class 070101, else the platform's division."""
    return DistrictLocator(default_division, class_code)


def ancestor_wkbs(conn: Connection, object_ids: list[int]) -> dict[int, bytes]:
    """WKB of the nearest ancestor with geometry (up to ``ANCESTOR_DEPTH`` levels up), per object id."""
    t = city_object
    ups = [city_object.alias(f"up{level}") for level in range(ANCESTOR_DEPTH)]
    joined: Any = t
    below: Any = t
    for up in ups:
        joined = joined.outerjoin(up, up.c.id == below.c.parent_id)
        below = up
    located = wkb(func.coalesce(*(up.c.geom for up in ups)))
    found: dict[int, bytes] = {}
    for start in range(0, len(object_ids), _ID_CHUNK):
        ids = object_ids[start : start + _ID_CHUNK]
        query = select(t.c.id, located).select_from(joined).where(t.c.id.in_(ids))
        found.update({int(i): bytes(g) for i, g in conn.execute(query) if g is not None})
    return found
