"""SQLite vector tiles: one R*Tree bbox query per tile, then shapely + the numpy MVT encoder.

One statement fetches the rows of every layer of the tile (id, geometry as raw WKB, the union of the
layers' columns, ``json_extract`` of the union of their attribute keys and, with several layers, one
0/1 membership column per layer), so a basemap tile is one R*Tree walk, not one per layer. The SQL
text is built and compiled once per (layers, zoom band) and run on the driver's cursor (no
SQLAlchemy compile or result wrapping per tile). All geometries are parsed by one vectorised
``shapely.from_wkb``; each layer is then a numpy selection of the rows, and
:func:`citybase.standards.mvt.encode_layer` clips, simplifies and encodes it with the properties
handed over column by column.

When every layer of the tile is restricted to classes (``class_code = …`` in its where clause, as the
tilesets' layers are), the rows come from the class R*Tree (``sqlite_classes``, migration 0011): one
range per run of class ranks, so a buildings tile walks buildings only, not every object in the box.
The where clause still applies to the rows, so the features are the same as by the 2-D R*Tree.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import (
    Connection,
    LargeBinary,
    bindparam,
    column,
    false,
    func,
    literal_column,
    or_,
    select,
    union_all,
)
from sqlalchemy import table as lightweight_table
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList, Grouping

from citybase.standards.mvt import LayerData, encode_layer, tile_bounds
from citybase.store.dialects.sqlite import rtree_table
from citybase.store.dialects.sqlite_classes import CLASS_EXTENT, CLASS_TABLES, class_rtree_name, rank_ranges

RTREE_FIRST_ZOOM = 13  # from here the tile box is more selective than a class (measured on the bench city)
USE_CLASS_RTREE = True  # False: the 2-D R*Tree only (the path before migration 0011; bench variant "2d")
_HAVE_CLASS_RTREE: set[str] = set()  # databases (engine urls) known to have the class R*Tree


def _box(rt: Any) -> tuple[Any, ...]:
    """An R*Tree's rows whose boxes meet the tile's (the bounds are bound per tile; the None placeholder
    lets the statement compile with its IN lists expanded, see ``_statement``)."""
    return (
        rt.c.minx <= bindparam("tile_maxx", None),
        rt.c.maxx >= bindparam("tile_minx", None),
        rt.c.miny <= bindparam("tile_maxy", None),
        rt.c.maxy >= bindparam("tile_miny", None),
    )


@dataclass(frozen=True, slots=True)
class _Layer:
    spec: Any
    keys: tuple[str, ...]  # property names, in the layer's order (columns, then attributes)
    fields: tuple[int, ...]  # the result column of each key
    attribute_fields: frozenset[int]  # those that come from the attributes document
    member: int | None  # result column of the 0/1 membership flag (None: every row)


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str
    params: tuple[Any, ...]  # the positional parameters; the tile's bounds are filled in per tile
    bounds_at: tuple[tuple[int, int], ...]  # (parameter position, index in (minx, miny, maxx, maxy))
    layers: tuple[_Layer, ...]
    names: tuple[str, ...]  # the name of each positional parameter


_STATEMENTS: dict[tuple[Any, ...], tuple[_Statement, tuple[Any, ...]]] = {}
_MAX_STATEMENTS = 2048
_LOCK = threading.Lock()
_FETCH_LOCK = threading.Lock()


def _class_codes(where: Any, table: Any) -> frozenset[str] | None:
    """The class codes a row must have to satisfy ``where`` (``class_code = 'x'`` or ``class_code IN (…)``,
    in a conjunction or in every branch of a disjunction), or None when the clause does not restrict
    the class."""
    if isinstance(where, Grouping):  # an OR inside an AND comes in parentheses
        where = where.element
    if isinstance(where, BooleanClauseList) and where.operator in (operators.and_, operators.or_):
        found = [_class_codes(w, table) for w in where.clauses]
        if where.operator is operators.or_:
            return None if not found or None in found else frozenset().union(*found)  # type: ignore[arg-type]
        known = [c for c in found if c is not None]
        return frozenset.intersection(*known) if known else None
    if not isinstance(where, BinaryExpression) or where.left is not table.c.get(CLASS_TABLES.get(table.name, "")):
        return None
    right = where.right
    if not isinstance(right, BindParameter) or right.callable is not None:
        return None
    if where.operator is operators.eq:
        return frozenset([right.value]) if isinstance(right.value, str) else None
    if where.operator is operators.in_op and right.expanding:  # class_code IN (…)
        values = right.value
        return frozenset(values) if values and all(isinstance(v, str) for v in values) else None
    return None


def _class_ids(table: Any, codes: frozenset[str]) -> Any:
    """The ids in the tile box of the objects of ``codes``: one class R*Tree range per run of ranks."""
    crt = lightweight_table(
        class_rtree_name(table.name), column("id"), column("minx"), column("maxx"), column("miny"),
        column("maxy"), column("minc"), column("maxc"),
    )  # fmt: skip
    parts = []
    for first, last in rank_ranges(codes):
        # An object of rank r spans [r, r + 0.5]: the run's objects are those that reach into
        # [first + 0.25, last + 0.25], and no other rank does.
        parts.append(
            select(crt.c.id).where(
                *_box(crt),
                crt.c.minc <= literal_column(repr(last + CLASS_EXTENT / 2)),
                crt.c.maxc >= literal_column(repr(first + CLASS_EXTENT / 2)),
            )
        )
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("class_ids")


def _build(
    table: Any, layers: Sequence[Any], rtree_first: bool, indexed: bool = True, codes: frozenset[str] | None = None
) -> _Statement:
    rt = rtree_table(table.name) if codes is None else _class_ids(table, codes)
    columns = list(dict.fromkeys(c for spec in layers for c in spec.columns if c != "id"))  # id: field 0
    attributes = list(dict.fromkeys(a for spec in layers for a in spec.attributes))
    cols: list[Any] = [table.c.id, literal_column(f"{table.name}.geom", LargeBinary)]
    cols += [table.c[c] for c in columns]
    cols += [func.json_extract(table.c.attributes, f'$."{k}"') for k in attributes]
    wheres = [spec.where for spec in layers]
    several = len(layers) > 1
    if several:  # which layers each row belongs to (a row may be in several)
        cols += [func.coalesce(w, false()) if w is not None else literal_column("1") for w in wheres]
    box = _box(rt) if codes is None else ()  # the class R*Tree's subquery holds the box already
    if indexed:
        q = select(*cols).select_from(table.join(rt, rt.c.id == table.c.id)).where(*box)
    else:  # a past layer version (no R*Tree): every member row, the box is applied after parsing
        q = select(*cols).select_from(table)
    if all(w is not None for w in wheres):
        where = or_(*wheres) if several else wheres[0]
        # A small box: walk the R*Tree and look rows up by id, rather than walking an index of the where
        # clause (all objects of a class) and probing the R*Tree for each; wrapping the clause in a
        # function keeps SQLite's planner from using an index for it.
        q = q.where(func.coalesce(where, false()) if rtree_first else where)
    # render_postcompile: an IN list (an "expanding" parameter) becomes one ? per value here, since the
    # statement runs on the driver's cursor, not through SQLAlchemy's execute that would expand it.
    compiled = q.compile(dialect=sqlite_dialect.dialect(), compile_kwargs={"render_postcompile": True})
    first_attr = 2 + len(columns)
    out = []
    for i, spec in enumerate(layers):
        keys = (*spec.columns, *spec.attributes)
        fields = (
            *(0 if c == "id" else 2 + columns.index(c) for c in spec.columns),
            *(first_attr + attributes.index(a) for a in spec.attributes),
        )
        member = first_attr + len(attributes) + i if several else None
        out.append(_Layer(spec, keys, fields, frozenset(fields[len(spec.columns) :]), member))
    names = list(compiled.positiontup or ())
    corners = ("tile_minx", "tile_miny", "tile_maxx", "tile_maxy")
    params = tuple(None if n in corners else compiled.params.get(n) for n in names)
    bounds_at = tuple((i, corners.index(n)) for i, n in enumerate(names) if n in corners)
    return _Statement(str(compiled), params, bounds_at, tuple(out), tuple(names))


def _layer_classes(table: Any, layers: Sequence[Any]) -> frozenset[str] | None:
    """The classes of the tile's objects when every layer is restricted to classes, else None."""
    found = [_class_codes(spec.where, table) for spec in layers]
    if not layers or any(c is None for c in found):
        return None
    return frozenset().union(*found)  # type: ignore[arg-type]


def _statement(table: Any, z: int, layers: Sequence[Any], indexed: bool = True, by_class: bool = False) -> _Statement:
    """``by_class``: use the class R*Tree if every layer is restricted to classes."""
    key = (table.name, z >= RTREE_FIRST_ZOOM, indexed, by_class, *(id(s) for s in layers))
    hit = _STATEMENTS.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[1], layers, strict=True)):
        return hit[0]
    codes = (_layer_classes(table, layers) or None) if by_class else None  # no class at all: the 2-D tree
    # With the class R*Tree the box and the class are both in the index: it drives at every zoom.
    stmt = _build(table, layers, z >= RTREE_FIRST_ZOOM or codes is not None, indexed, codes)
    with _LOCK:
        if len(_STATEMENTS) >= _MAX_STATEMENTS:
            _STATEMENTS.clear()
        _STATEMENTS[key] = (stmt, tuple(layers))  # keeps the specs alive, so their ids stay theirs
    return stmt


def _has_class_rtree(conn: Connection, table: Any) -> bool:
    """Whether the database has the class R*Tree of ``table`` (migration 0011); remembered once seen."""
    if table.name not in CLASS_TABLES:
        return False
    key = f"{conn.engine.url}#{table.name}"
    if key in _HAVE_CLASS_RTREE:
        return True
    name = class_rtree_name(table.name)
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    if conn.connection.driver_connection.execute(sql, (name,)).fetchone() is None:  # type: ignore[union-attr]
        return False
    _HAVE_CLASS_RTREE.add(key)
    return True


def _fetch(conn: Connection, sql: str, params: Sequence[Any]) -> list[Any]:
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        # The driver releases and retakes the GIL around every row step; with several threads fetching
        # at once each retake waits for the others' Python (a GIL convoy: 2.6 ms tiles took 7 ms with
        # 8 threads). One fetch at a time keeps the steps back to back; encoding still overlaps.
        with _FETCH_LOCK:
            return cursor.execute(sql, params).fetchall()
    finally:
        cursor.close()


# The rows of past layer versions, parsed, by (database, statement, parameters). A layer version never
# changes once made (docs/import.md §5), so they are read once and each tile picks its rows by bounds
# (no R*Tree over object versions): 20,000 members cost ~200 ms per tile when read every time.
_VERSIONS: OrderedDict[tuple[Any, ...], tuple[list[Any], Any, Any]] = OrderedDict()
_VERSIONS_KEPT = 8
_VERSION_ROWS_KEPT = 200_000  # larger versions are read per tile rather than held in memory
_VERSIONS_LOCK = threading.Lock()


def _version_rows(conn: Connection, sql: str, params: Sequence[Any]) -> tuple[list[Any], Any, Any]:
    """All rows of a layer version with their parsed geometries and bounds (n × 4)."""
    key = (str(conn.engine.url), sql, tuple(params))
    with _VERSIONS_LOCK:
        hit = _VERSIONS.get(key)
        if hit is not None:
            _VERSIONS.move_to_end(key)
            return hit
    rows = _fetch(conn, sql, params)
    geoms = shapely.from_wkb(np.array([r[1] for r in rows], dtype=object)) if rows else np.empty(0, dtype=object)
    entry = (rows, geoms, shapely.bounds(geoms).reshape(-1, 4))
    if len(rows) <= _VERSION_ROWS_KEPT:
        with _VERSIONS_LOCK:
            _VERSIONS[key] = entry
            while len(_VERSIONS) > _VERSIONS_KEPT:
                _VERSIONS.popitem(last=False)
    return entry


def _integral(values: Sequence[Any]) -> Sequence[Any]:
    # PostGIS writes a jsonb number with no fraction as an integer; do the same so both databases agree.
    if float not in set(map(type, values)):
        return values
    return [int(v) if type(v) is float and v.is_integer() else v for v in values]


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
    """``table``: ``city_object`` (R*Tree), or a subquery of the same columns with its own parameters
    ``source_params`` (a past layer version: all its rows are read, and the tile box applied to their
    parsed bounds)."""
    z, x, y = tile
    minx, miny, maxx, maxy = tile_bounds(z, x, y, crs="EPSG:4490", buffer=buffer, extent=extent, tms=tms)
    indexed = source_params is None
    by_class = indexed and USE_CLASS_RTREE and _has_class_rtree(conn, table)
    stmt = _statement(table, z, layers, indexed, by_class)
    params = list(stmt.params)
    corners = (minx, miny, maxx, maxy)
    for i, c in stmt.bounds_at:
        params[i] = corners[c]
    if source_params:
        for i, name in enumerate(stmt.names):
            if name in source_params:
                params[i] = source_params[name]
    if indexed:
        rows = _fetch(conn, stmt.sql, params)
        if not rows:
            return b""
        fields = list(zip(*rows, strict=True))
        geoms = shapely.from_wkb(np.array(fields[1], dtype=object))
    else:  # the R*Tree's job, on the parsed bounds of the version's rows (read once, see _version_rows)
        every, parsed, b = _version_rows(conn, stmt.sql, params)
        keep = np.flatnonzero((b[:, 0] <= maxx) & (b[:, 2] >= minx) & (b[:, 1] <= maxy) & (b[:, 3] >= miny))
        if not keep.size:
            return b""
        rows = [every[i] for i in keep]
        fields = list(zip(*rows, strict=True))
        geoms = parsed[keep]
    ids = np.array(fields[0], dtype=np.uint64)
    arrays: dict[int, Any] = {}  # a column as an object array, made once for all layers that select from it
    parts = []
    for layer in stmt.layers:
        if layer.member is None:
            sel = None
            n = len(rows)
        else:
            sel = np.flatnonzero(np.array(fields[layer.member], dtype=np.bool_))
            n = sel.size
            if not n:
                continue
        columns: dict[str, Sequence[Any]] = {}
        for key, f in zip(layer.keys, layer.fields, strict=True):
            values: Sequence[Any] = fields[f]
            if sel is not None and n != len(rows):
                whole = arrays.get(f)
                if whole is None:
                    whole = arrays[f] = np.array(values, dtype=object)
                values = whole[sel].tolist()
            columns[key] = _integral(values) if f in layer.attribute_fields else values
        data = LayerData(
            layer.spec.name,
            geoms if sel is None or n == len(rows) else geoms[sel],
            ids=ids if sel is None or n == len(rows) else ids[sel],
            crs="EPSG:4490",
            columns=columns,
        )
        simplify = layer.spec.simplify_px or None
        parts.append(encode_layer(data, extent, tile=tile, buffer=buffer, simplify_px=simplify, tms=tms))
    return b"".join(parts)
