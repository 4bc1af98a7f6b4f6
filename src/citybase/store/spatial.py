"""Named spatial operations that need more than one SQL clause (nearest-k, bulk load, index sync).

Predicates that are one clause (bbox, intersects, within, contains, distance, area, text) live in
``store.elements``; this module dispatches the rest to the dialect of the connection.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection, Select, Table, func, select
from sqlalchemy.dialects import postgresql as pg_dml
from sqlalchemy.dialects import sqlite as sqlite_dml

from citybase.kernel.geo import BBox
from citybase.store.dialects import postgis, sqlite
from citybase.store.elements import bbox_intersects, distance_m
from citybase.store.schema import SPATIAL_TABLES

# Shortest length of one degree of latitude / of longitude at the equator on GRS 80, in metres.
_M_PER_DEG_LAT_MIN = 110_574.0
_M_PER_DEG_LON_EQ = 111_320.0


def _dialect(conn: Connection) -> Any:
    return postgis if conn.dialect.name == "postgresql" else sqlite


@dataclass(frozen=True, slots=True)
class Neighbour:
    id: int
    distance_m: float


def _box_for_metres(point: Point, metres: float) -> BBox:
    dlat = metres / _M_PER_DEG_LAT_MIN
    lat_far = min(89.9, abs(point.y) + dlat)
    dlon = metres / (_M_PER_DEG_LON_EQ * math.cos(math.radians(lat_far)))
    return BBox(point.x - dlon, point.y - dlat, point.x + dlon, point.y + dlat)


def nearest(conn: Connection, table: Table, point: Point, k: int = 1, where: Any = None) -> list[Neighbour]:
    """The ``k`` rows nearest to ``point`` by geodesic distance, nearest first.

    Two phases, the same on both databases: the dialect finds a box that holds at least ``k`` rows;
    the k-th exact distance inside it bounds the search, and a second box of that size is ranked by
    exact distance. So the answer is exact, not only index-order.
    """
    col = table.c[SPATIAL_TABLES[table.name]]
    radius = _dialect(conn).nearest_candidates(conn, table, point, k, where)
    first = BBox(point.x - radius, point.y - radius, point.x + radius, point.y + radius)
    ranked = _ranked(conn, table, col, point, first, k, where)
    if len(ranked) < k and radius <= 60:
        return ranked
    if not ranked:
        return []
    bound = _box_for_metres(point, ranked[-1].distance_m * 1.000001 + 0.01)
    return _ranked(conn, table, col, point, bound, k, where)


def _ranked(conn: Connection, table: Table, col: Any, point: Point, box: BBox, k: int, where: Any) -> list[Neighbour]:
    dist = distance_m(col, point).label("distance_m")
    q = select(table.c.id, dist).where(bbox_intersects(col, box)).order_by(dist, table.c.id).limit(k)
    if where is not None:
        q = q.where(where)
    return [Neighbour(int(r.id), float(r.distance_m)) for r in conn.execute(q)]


def bulk_load(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Load many rows fast (COPY on PostGIS, batched inserts + bulk R*Tree on SQLite). Rows carry ids."""
    _dialect(conn).bulk_load(conn, table, rows)


IN_CHUNK = 5_000  # values per IN (…) list: below SQLite's and PostgreSQL's bound-parameter limits


def rows_in(conn: Connection, query: Select[Any], column: Any, values: Sequence[Any]) -> list[Any]:
    """The rows of ``query`` whose ``column`` is one of ``values``, asked in chunks of ``IN_CHUNK`` values."""
    out: list[Any] = []
    for i in range(0, len(values), IN_CHUNK):
        out += conn.execute(query.where(column.in_(list(values[i : i + IN_CHUNK])))).all()
    return out


def index_geometries(conn: Connection, table: Table, rows: Iterable[tuple[int, BaseGeometry | None]]) -> None:
    """Tell the spatial index about new or changed geometry (a no-op where the database does it)."""
    _dialect(conn).index_geometries(conn, table, rows)


def reserve_ids(conn: Connection, table: Table, count: int) -> list[int]:
    """Take ``count`` unused ids for rows a bulk load will insert."""
    return list(_dialect(conn).reserve_ids(conn, table, count))


def upsert_add(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], add: Sequence[str], maximum: Sequence[str] = ()
) -> None:
    """Insert rows or, where the primary key exists, add to the ``add`` columns and keep the max of ``maximum``."""
    if not rows:
        return
    dml = pg_dml if conn.dialect.name == "postgresql" else sqlite_dml
    stmt = dml.insert(table)
    ex = stmt.excluded
    values = {c: table.c[c] + ex[c] for c in add}
    values |= {
        c: func.greatest(table.c[c], ex[c]) if conn.dialect.name == "postgresql" else func.max(table.c[c], ex[c])
        for c in maximum
    }
    stmt = stmt.on_conflict_do_update(index_elements=[c.name for c in table.primary_key.columns], set_=values)
    conn.execute(stmt, list(rows))
