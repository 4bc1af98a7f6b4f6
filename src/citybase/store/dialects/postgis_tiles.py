"""PostGIS vector tiles: one SQL statement per tile, one ``ST_AsMVT`` per layer, layers joined by ``||``.

The bbox filter is on the native geometry (``geom && ST_Transform(ST_TileEnvelope(…, margin), 4490)``)
so the GiST index answers it; only the rows found are transformed to Web Mercator and clipped by
``ST_AsMVTGeom``. Attribute properties come as one ``jsonb`` column (``ST_AsMVT`` expands its keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    LargeBinary,
    Table,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import iterate

from citybase.kernel.geo import SRID

# Half the circumference of the Web Mercator sphere: tile size at zoom z is 2 * HALF / 2^z metres.
HALF = 20037508.342789244
FID = "__fid"


_WORLD = f"ST_MakeEnvelope({-HALF!r}, {-HALF!r}, {HALF!r}, {HALF!r}, 3857)"


def _envelope(margin: bool = False) -> Any:
    """``ST_TileEnvelope`` of the bound tile (z, x, y as parameters, so the compiled SQL is cached)."""
    z, x, y = (cast(bindparam(f"tile_{k}"), Integer) for k in "zxy")
    if not margin:
        return func.ST_TileEnvelope(z, x, y)
    return func.ST_TileEnvelope(z, x, y, literal_column(_WORLD), cast(bindparam("tile_margin"), Float))


def _bbox(table: Table) -> Any:
    """The index-friendly filter: native geometry && the buffered tile, transformed to lon/lat."""
    t = table.name
    return literal_column(f"{t}.geom").op("&&")(func.ST_Transform(_envelope(margin=True), literal_column(str(SRID))))


def _layer(src: Any, z: int, spec: Any, extent: int, buffer: int, geom: str, where: Any) -> Any:
    """One layer's ``ST_AsMVT`` over ``src`` (the table, or the tile's rows) as a scalar subquery."""
    if spec.simplify_px > 0:
        tolerance = spec.simplify_px * (2 * HALF / (1 << z)) / extent
        geom = f"ST_SimplifyPreserveTopology({geom}, {tolerance!r})"
    mvt_geom = func.ST_AsMVTGeom(
        literal_column(geom), _envelope(), literal_column(str(int(extent))), literal_column(str(int(buffer))), true()
    )
    cols: list[Any] = [src.c.id.label(FID), mvt_geom.label("geom")]
    cols += [src.c[c] for c in spec.columns]
    if spec.attributes:  # keys are checked identifiers (TileLayerSpec), safe to inline
        pairs = ", ".join(f"'{k}', {src.name}.attributes -> '{k}'" for k in spec.attributes)
        cols.append(literal_column(f"jsonb_strip_nulls(jsonb_build_object({pairs}))").label("__attrs"))
    q = select(*cols).select_from(src)
    if where is not None:
        q = q.where(where)
    sub = q.subquery("q")
    mvt = func.ST_AsMVT(
        literal_column("q"),
        cast(literal(spec.name), Text),
        literal_column(str(int(extent))),
        literal_column("'geom'"),
        literal_column(f"'{FID}'"),
    )
    # No "geom IS NOT NULL" filter: the planner would push it down and run ST_AsMVTGeom twice per row;
    # ST_AsMVT skips rows whose geometry clipped away (NULL) by itself.
    return select(func.coalesce(mvt, literal_column("''::bytea"))).select_from(sub).scalar_subquery()


def _parts(table: Table, z: int, layers: Sequence[Any], extent: int, buffer: int) -> list[Any]:
    t = table.name
    if len(layers) == 1:
        spec = layers[0]
        where = _bbox(table) if spec.where is None else and_(_bbox(table), spec.where)
        return [_layer(table, z, spec, extent, buffer, f"ST_Transform({t}.geom, 3857)", where)]
    # Several layers (the basemap): one index scan for the tile's rows of every layer, materialised
    # once, then one ST_AsMVT per layer over those rows — not one GiST scan per layer.
    wheres = [spec.where for spec in layers]
    needed = {"id", "attributes", *(c for spec in layers for c in spec.columns)}
    for w in wheres:
        if w is not None:
            needed |= {c.name for c in iterate(w) if isinstance(c, Column) and c.table is table}
    cols = [c for c in table.c if c.name in needed and c.name != "geom"]
    rows_q = select(*cols, literal_column(f"ST_Transform({t}.geom, 3857)").label("g")).where(_bbox(table))
    if all(w is not None for w in wheres):
        rows_q = rows_q.where(or_(*wheres))
    rows = rows_q.cte("tile_rows")
    adapt = ClauseAdapter(rows)
    return [
        _layer(rows, z, spec, extent, buffer, "tile_rows.g", None if w is None else adapt.traverse(w))
        for spec, w in zip(layers, wheres, strict=True)
    ]


# Statements per (layers, zoom): the same spec objects come back for every tile of a tileset and zoom, so
# the statement is built once and SQLAlchemy's compiled cache and psycopg's prepared statements apply.
_STATEMENTS: dict[tuple[Any, ...], tuple[Any, Sequence[Any]]] = {}
_MAX_STATEMENTS = 2048


def _statement(
    dialect: Any, table: Table, z: int, layers: Sequence[Any], extent: int, buffer: int
) -> tuple[str, dict[str, Any]]:
    """The SQL text (driver paramstyle) and fixed parameters of a tile's statement, compiled once."""
    key = (table.name, z, extent, buffer, *(id(s) for s in layers))
    hit = _STATEMENTS.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[1], layers, strict=True)):
        return hit[0]
    parts = _parts(table, z, layers, extent, buffer)
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.op("||")(part)
    compiled = select(type_coerce(joined, LargeBinary)).compile(dialect=dialect)
    stmt = (str(compiled), dict(compiled.params))
    if len(_STATEMENTS) >= _MAX_STATEMENTS:
        _STATEMENTS.clear()
    _STATEMENTS[key] = (stmt, tuple(layers))  # keeps the specs alive, so their ids stay theirs
    return stmt


def render_mvt(
    conn: Connection, table: Table, tile: tuple[int, int, int], layers: Sequence[Any], extent: int, buffer: int
) -> bytes:
    z, x, y = tile
    params = {"tile_z": z, "tile_x": x, "tile_y": y, "tile_margin": buffer / extent}
    sql, fixed = _statement(conn.dialect, table, z, layers, extent, buffer)
    data = conn.exec_driver_sql(sql, fixed | params).scalar_one()
    return bytes(data) if data else b""


def raw_tile_sql(where: str, columns: str = "id, name, class_code, code") -> str:
    """The plain one-layer ``ST_AsMVT`` query with ``%(z)s``, ``%(x)s``, ``%(y)s`` parameters (benchmarks:
    the physical limit of the database through the driver)."""
    env = "ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int)"
    margin = "ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int, margin => 0.015625)"
    return (
        f"SELECT ST_AsMVT(q, 'layer', 4096, 'geom', '{FID}') FROM ("
        f"SELECT id AS {FID}, {columns}, ST_AsMVTGeom(ST_Transform(geom, 3857), {env}, 4096, 64, true) AS geom "
        f"FROM city_object WHERE geom && ST_Transform({margin}, {SRID}) AND {where}) q"
    )


__all__ = ["HALF", "raw_tile_sql", "render_mvt"]
