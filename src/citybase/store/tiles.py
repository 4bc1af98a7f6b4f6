"""Vector tiles of city objects: the named operation ``render_mvt`` (one MVT tile, several layers).

PostGIS builds the tile with ``ST_AsMVT`` in one SQL statement (``store/dialects/postgis_tiles.py``);
SQLite queries the R*Tree and encodes with the numpy encoder of ``citybase.standards.mvt``
(``store/dialects/sqlite_tiles.py``). Both return the same features, ids and properties.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Integer, and_, bindparam, create_engine, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import Subquery

from citybase.kernel.errors import InvalidInputError, UnavailableError
from citybase.store.dialects import postgis_tiles, sqlite_tiles
from citybase.store.engine import Store, session_options
from citybase.store.import_tables import layer_item
from citybase.store.schema import city_object, city_object_version

MAX_ZOOM = 22
WEB_MERCATOR_QUAD = "WebMercatorQuad"
CGCS2000_QUAD = "CGCS2000Quad"  # geographic, like WorldCRS84Quad: 2^(z+1) × 2^z tiles over lon/lat
TILE_MATRIX_SETS = (WEB_MERCATOR_QUAD, CGCS2000_QUAD)
COLUMNS = ("id", "name", "class_code", "code", "state")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class TileLayerSpec:
    """One MVT layer of a tile: which city objects, which properties, how much simplification.

    ``where``: a SQLAlchemy boolean expression over ``city_object`` columns (e.g.
    ``city_object.c.class_code == "050101"``), or None for all objects. ``columns``: plain columns
    written as properties (from :data:`COLUMNS`). ``attributes``: keys of the ``attributes`` document
    written as properties (missing or null values are left out). ``simplify_px``: Douglas–Peucker
    tolerance in tile pixels (0 = none). The feature id is always the object id. ``all_attributes``:
    ``attributes`` are all the keys the objects' class allows, so a document with no other key (every
    validated one) may be written as it is (PostGIS: no per-row ``jsonb_build_object``).
    """

    name: str
    where: Any = None
    columns: tuple[str, ...] = ("id", "name", "class_code", "code")
    attributes: tuple[str, ...] = field(default_factory=tuple)
    simplify_px: float = 0.0
    all_attributes: bool = False

    def __post_init__(self) -> None:
        bad = [c for c in self.columns if c not in COLUMNS] + [a for a in self.attributes if not _KEY.match(a)]
        if bad or not self.name:
            raise InvalidInputError(f"bad tile layer {self.name!r}: unknown columns or attribute keys {bad}")


@dataclass(frozen=True, slots=True)
class LayerVersionRows:
    """Tile rows of a dataset layer as it was in ``version``: the members of that layer version, each at
    the object version recorded for it (``layer_item.object_version``), from ``city_object_version``."""

    layer_id: int
    version: int

    def params(self) -> dict[str, int]:
        return {"src_layer": self.layer_id, "src_version": self.version}


@functools.cache
def version_rows() -> Subquery:
    """``layer_rows``: the columns of ``city_object`` a tile needs, for the members of one layer version
    (``src_layer``, ``src_version`` are bound per tile, so the statement is compiled once)."""
    li, v = layer_item, city_object_version
    at = bindparam("src_version", None, type_=Integer)  # None: a placeholder, every tile binds its own
    join = li.join(v, and_(v.c.object_id == li.c.object_id, v.c.version == li.c.object_version))
    q = (
        select(v.c.object_id.label("id"), v.c.code, v.c.class_code, v.c.name, v.c.state, v.c.geom, v.c.attributes)
        .select_from(join)
        .where(
            li.c.layer_id == bindparam("src_layer", None, type_=Integer),
            li.c.from_version <= at,
            or_(li.c.to_version.is_(None), li.c.to_version > at),
        )
    )
    return q.subquery("layer_rows")


def tile_matrix_size(z: int, tms: str = WEB_MERCATOR_QUAD) -> tuple[int, int]:
    """(columns, rows) of the tile matrix ``z`` of a tile matrix set."""
    if tms == CGCS2000_QUAD:
        return 2 << z, 1 << z
    if tms == WEB_MERCATOR_QUAD:
        return 1 << z, 1 << z
    raise InvalidInputError(f"unknown tile matrix set {tms!r}: use one of {', '.join(TILE_MATRIX_SETS)}")


def check_tile(z: int, x: int, y: int, tms: str = WEB_MERCATOR_QUAD) -> None:
    """Refuse tiles outside the tile matrix set (zoom 0..22; WebMercatorQuad: column and row 0..2^z − 1;
    CGCS2000Quad: column 0..2^(z+1) − 1, row 0..2^z − 1)."""
    if not (0 <= z <= MAX_ZOOM):
        raise InvalidInputError(f"zoom {z} is outside 0..{MAX_ZOOM}")
    cols, rows = tile_matrix_size(z, tms)
    if not (0 <= x < cols and 0 <= y < rows):
        raise InvalidInputError(
            f"tile {z}/{x}/{y} is outside the {tms} tile matrix (columns 0..{cols - 1}, rows 0..{rows - 1})"
        )


def render_tile(
    store: Store,
    tile: tuple[int, int, int],
    layers: Sequence[TileLayerSpec],
    *,
    extent: int = 4096,
    buffer: int = 64,
    tms: str = WEB_MERCATOR_QUAD,
    source: LayerVersionRows | None = None,
) -> bytes:
    """:func:`render_mvt` in a read of its own. The tile is one statement on both databases (a
    statement sees one snapshot), so it runs without BEGIN and ROLLBACK; on PostGIS in autocommit on a
    pool of its own without the per-checkout ping."""
    if store.name != "postgis":
        try:
            with store.engine.connect() as conn:  # no conn.begin(): the one SELECT is its own transaction
                return render_mvt(conn, tile, layers, extent=extent, buffer=buffer, tms=tms, source=source)
        except OperationalError as exc:  # opening the connection (the query runs on the driver's cursor)
            raise UnavailableError(f"database unavailable: {exc.orig}") from exc
        except sqlite3.OperationalError as exc:
            if any(w in str(exc).lower() for w in ("unable to open", "database is locked", "disk i/o")):
                raise UnavailableError(f"database unavailable: {exc}") from exc
            raise
    for attempt in (1, 2):
        try:
            with _tile_engine(store).connect() as conn:
                return render_mvt(conn, tile, layers, extent=extent, buffer=buffer, tms=tms, source=source)
        except OperationalError as exc:
            if exc.connection_invalidated and attempt == 1:
                continue  # a pooled connection had died (no pre-ping here): once more on a fresh one
            if exc.connection_invalidated or "connect" in str(exc.orig).lower():
                raise UnavailableError(f"database unavailable: {exc.orig}") from exc
            raise
    raise AssertionError("unreachable")


TILE_SESSION_OPTIONS = "-c plan_cache_mode=force_custom_plan -c max_parallel_workers_per_gather=0 -c jit=off"
_TILE_ENGINES: weakref.WeakKeyDictionary[Store, Engine] = weakref.WeakKeyDictionary()
_ENGINE_LOCK = threading.Lock()


def _tile_engine(store: Store) -> Engine:
    """A small pool of autocommit connections for tiles, without the per-checkout ping of the main pool
    (a tile is one statement; a dead connection is retried once instead): two round trips fewer than a
    read transaction with a pinged connection (ping, BEGIN, ROLLBACK)."""
    engine = _TILE_ENGINES.get(store)
    if engine is None:
        with _ENGINE_LOCK:
            engine = _TILE_ENGINES.get(store)
            if engine is None:
                engine = create_engine(
                    store.url,
                    pool_size=8,
                    max_overflow=8,
                    pool_recycle=600,
                    isolation_level="AUTOCOMMIT",
                    # psycopg prepares the tile statement after five runs; PostgreSQL would then switch to a
                    # generic plan, blind to the tile's box: a GiST scan of every object in the box filtered
                    # by class, 2.8 s for a z12 tile of the city instead of 0.5 s with the class index
                    # ANDed in. Keep the prepared parse, plan each tile for its own box.
                    # No parallel workers: a tile server's parallelism is its concurrent requests; with
                    # workers, 8 requests for large tiles ran as 24 backends fighting for 2 cores.
                    # No JIT: a large tile's cost estimate passes jit_above_cost, and compiling the plan's
                    # expressions (~240 ms for a z12 tile of the city) buys nothing, as the time is in
                    # ST_AsMVTGeom and ST_AsMVT (C functions): z12 tiles 25 % faster without it.
                    connect_args={"options": session_options(store.url, TILE_SESSION_OPTIONS)},
                )
                _TILE_ENGINES[store] = engine
                weakref.finalize(store, engine.dispose)
    return engine


def render_mvt(
    conn: Connection,
    tile: tuple[int, int, int],
    layers: Sequence[TileLayerSpec],
    *,
    extent: int = 4096,
    buffer: int = 64,
    tms: str = WEB_MERCATOR_QUAD,
    source: LayerVersionRows | None = None,
) -> bytes:
    """One Mapbox Vector Tile ``(z, x, y)`` of ``tms`` (``WebMercatorQuad`` or ``CGCS2000Quad``) of city
    objects; ``b""`` when empty. ``source``: draw a past layer version (its members at their object
    versions then) instead of the current objects; the specs' ``where`` then applies to those rows."""
    z, x, y = tile
    check_tile(z, x, y, tms)
    names = [spec.name for spec in layers]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"layer names repeat in {names}")
    if not layers:
        return b""
    dialect = postgis_tiles if conn.dialect.name == "postgresql" else sqlite_tiles
    if source is None:
        return dialect.render_mvt(conn, city_object, (z, x, y), layers, extent, buffer, tms)
    return dialect.render_mvt(conn, version_rows(), (z, x, y), layers, extent, buffer, tms, source.params())
