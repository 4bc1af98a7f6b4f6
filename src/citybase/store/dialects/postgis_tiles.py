"""PostGIS vector tiles: one SQL statement per tile, one ``ST_AsMVT`` per layer, layers joined by ``||``.

The bbox filter is on the native geometry (``geom && ST_Transform(ST_TileEnvelope(…, margin), 4490)``)
so the GiST index answers it; only the rows found are transformed to Web Mercator and clipped by
``ST_AsMVTGeom``. Attribute properties come as one ``jsonb`` column (``ST_AsMVT`` expands its keys).

In the geographic ``CGCS2000Quad`` the geometry stays in EPSG:4490: the tile envelope is
``ST_MakeEnvelope`` of the tile's lon/lat bounds (computed in Python, bound as parameters), and
``ST_AsMVTGeom`` maps it onto the 4096 grid directly (no transform).
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
GEOGRAPHIC = "CGCS2000Quad"


_WORLD = f"ST_MakeEnvelope({-HALF!r}, {-HALF!r}, {HALF!r}, {HALF!r}, 3857)"


def _tile_param(name: str) -> Any:
    """A per-tile parameter (bound at each run by ``render_mvt``); the None placeholder lets the statement
    compile with IN lists expanded (``_statement``)."""
    return bindparam(name, None)


def _geo_envelope(margin: bool) -> Any:
    """The bound lon/lat bounds of a CGCS2000Quad tile (``tile_x0`` … or, with the buffer, ``tile_bx0`` …)."""
    p = "tile_b" if margin else "tile_"
    corners = (cast(_tile_param(f"{p}{k}"), Float) for k in ("x0", "y0", "x1", "y1"))
    return func.ST_MakeEnvelope(*corners, literal_column(str(SRID)))


def _envelope(margin: bool = False, tms: str = "WebMercatorQuad") -> Any:
    """``ST_TileEnvelope`` of the bound tile (z, x, y as parameters, so the compiled SQL is cached)."""
    if tms == GEOGRAPHIC:
        return _geo_envelope(margin)
    z, x, y = (cast(_tile_param(f"tile_{k}"), Integer) for k in "zxy")
    if not margin:
        return func.ST_TileEnvelope(z, x, y)
    return func.ST_TileEnvelope(z, x, y, literal_column(_WORLD), cast(_tile_param("tile_margin"), Float))


def _bbox(table: Table, tms: str) -> Any:
    """The index-friendly filter: native geometry && the buffered tile, transformed to lon/lat."""
    t = table.name
    if tms == GEOGRAPHIC:
        return literal_column(f"{t}.geom").op("&&")(_envelope(margin=True, tms=tms))
    return literal_column(f"{t}.geom").op("&&")(func.ST_Transform(_envelope(margin=True), literal_column(str(SRID))))


def _layer(src: Any, z: int, spec: Any, extent: int, buffer: int, geom: str, where: Any, tms: str) -> Any:
    """One layer's ``ST_AsMVT`` over ``src`` (the table, or the tile's rows) as a scalar subquery."""
    if spec.simplify_px > 0:
        size = 180.0 / (1 << z) if tms == GEOGRAPHIC else 2 * HALF / (1 << z)  # tile width in map units
        tolerance = spec.simplify_px * size / extent
        geom = f"ST_SimplifyPreserveTopology({geom}, {tolerance!r})"
    mvt_geom = func.ST_AsMVTGeom(
        literal_column(geom),
        _envelope(tms=tms),
        literal_column(str(int(extent))),
        literal_column(str(int(buffer))),
        true(),
    )
    cols: list[Any] = [src.c.id.label(FID), mvt_geom.label("geom")]
    cols += [src.c[c] for c in spec.columns]
    if spec.attributes:  # keys are checked identifiers (TileLayerSpec), safe to inline
        doc = f"{src.name}.attributes"
        pairs = ", ".join(f"'{k}', {doc} -> '{k}'" for k in spec.attributes)
        picked = f"jsonb_strip_nulls(jsonb_build_object({pairs}))"
        if spec.all_attributes:
            # A document with no key outside the selection goes as it is: building a new jsonb per row was
            # a third of a buildings tile (ST_AsMVT leaves out null values by itself).
            keys = ", ".join(f"'{k}'" for k in spec.attributes)
            picked = f"CASE WHEN ({doc} - ARRAY[{keys}]::text[]) = '{{}}'::jsonb THEN {doc} ELSE {picked} END"
        cols.append(literal_column(picked).label("__attrs"))
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


def _parts(table: Table, z: int, layers: Sequence[Any], extent: int, buffer: int, tms: str) -> list[Any]:
    t = table.name
    projected = f"{t}.geom" if tms == GEOGRAPHIC else f"ST_Transform({t}.geom, 3857)"
    if len(layers) == 1:
        spec = layers[0]
        where = _bbox(table, tms) if spec.where is None else and_(_bbox(table, tms), spec.where)
        return [_layer(table, z, spec, extent, buffer, projected, where, tms)]
    # Several layers (the basemap): one index scan for the tile's rows of every layer, materialised
    # once, then one ST_AsMVT per layer over those rows — not one GiST scan per layer.
    wheres = [spec.where for spec in layers]
    needed = {"id", "attributes", *(c for spec in layers for c in spec.columns)}
    for w in wheres:
        if w is not None:
            needed |= {c.name for c in iterate(w) if isinstance(c, Column) and c.table is table}
    cols = [c for c in table.c if c.name in needed and c.name != "geom"]
    rows_q = select(*cols, literal_column(projected).label("g")).where(_bbox(table, tms))
    if all(w is not None for w in wheres):
        rows_q = rows_q.where(or_(*wheres))
    rows = rows_q.cte("tile_rows")
    adapt = ClauseAdapter(rows)
    return [
        _layer(rows, z, spec, extent, buffer, "tile_rows.g", None if w is None else adapt.traverse(w), tms)
        for spec, w in zip(layers, wheres, strict=True)
    ]


# Statements per (layers, zoom): the same spec objects come back for every tile of a tileset and zoom, so
# the statement is built once and SQLAlchemy's compiled cache and psycopg's prepared statements apply.
_STATEMENTS: dict[tuple[Any, ...], tuple[Any, Sequence[Any]]] = {}
_MAX_STATEMENTS = 2048


def _statement(
    dialect: Any, table: Table, z: int, layers: Sequence[Any], extent: int, buffer: int, tms: str
) -> tuple[str, dict[str, Any]]:
    """The SQL text (driver paramstyle) and fixed parameters of a tile's statement, compiled once."""
    key = (table.name, tms, z, extent, buffer, *(id(s) for s in layers))
    hit = _STATEMENTS.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[1], layers, strict=True)):
        return hit[0]
    parts = _parts(table, z, layers, extent, buffer, tms)
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.op("||")(part)
    # render_postcompile: an IN list (an "expanding" parameter) becomes one parameter per value, since
    # the statement runs through exec_driver_sql, which would not expand it.
    compiled = select(type_coerce(joined, LargeBinary)).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True}
    )
    stmt = (str(compiled), dict(compiled.params))
    if len(_STATEMENTS) >= _MAX_STATEMENTS:
        _STATEMENTS.clear()
    _STATEMENTS[key] = (stmt, tuple(layers))  # keeps the specs alive, so their ids stay theirs
    return stmt


def geographic_bounds(z: int, x: int, y: int, margin: float = 0.0) -> tuple[float, float, float, float]:
    """(lon0, lat0, lon1, lat1) of CGCS2000Quad tile z/x/y, widened by ``margin`` (a fraction of a tile)."""
    size = 180.0 / (1 << z)
    return (
        -180.0 + (x - margin) * size,
        90.0 - (y + 1 + margin) * size,
        -180.0 + (x + 1 + margin) * size,
        90.0 - (y - margin) * size,
    )


def render_mvt(
    conn: Connection,
    table: Any,
    tile: tuple[int, int, int],
    layers: Sequence[Any],
    extent: int,
    buffer: int,
    tms: str = "WebMercatorQuad",
    source_params: dict[str, Any] | None = None,
) -> bytes:
    """``table``: ``city_object``, or a subquery of the same columns (a past layer version, whose own
    parameters are ``source_params``; it is small and unindexed, its rows are filtered by ``geom &&``)."""
    z, x, y = tile
    if tms == GEOGRAPHIC:
        params: dict[str, Any] = {}
        for prefix, margin in (("tile_", 0.0), ("tile_b", buffer / extent)):
            corners = geographic_bounds(z, x, y, margin)
            params |= {f"{prefix}{k}": v for k, v in zip(("x0", "y0", "x1", "y1"), corners, strict=True)}
    else:
        params = {"tile_z": z, "tile_x": x, "tile_y": y, "tile_margin": buffer / extent}
    if source_params:
        params |= source_params
    sql, fixed = _statement(conn.dialect, table, z, layers, extent, buffer, tms)
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
