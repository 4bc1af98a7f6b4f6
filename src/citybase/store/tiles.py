"""Vector tiles of city objects: the named operation ``render_mvt`` (one MVT tile, several layers).

PostGIS builds the tile with ``ST_AsMVT`` in one SQL statement (``store/dialects/postgis_tiles.py``);
SQLite queries the R*Tree and encodes with the numpy encoder of ``citybase.standards.mvt``
(``store/dialects/sqlite_tiles.py``). Both return the same features, ids and properties.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import OperationalError

from citybase.kernel.errors import InvalidInputError, UnavailableError
from citybase.store.dialects import postgis_tiles, sqlite_tiles
from citybase.store.engine import Store
from citybase.store.schema import city_object

MAX_ZOOM = 22
COLUMNS = ("id", "name", "class_code", "code", "state")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class TileLayerSpec:
    """One MVT layer of a tile: which city objects, which properties, how much simplification.

    ``where``: a SQLAlchemy boolean expression over ``city_object`` columns (e.g.
    ``city_object.c.class_code == "050101"``), or None for all objects. ``columns``: plain columns
    written as properties (from :data:`COLUMNS`). ``attributes``: keys of the ``attributes`` document
    written as properties (missing or null values are left out). ``simplify_px``: Douglas–Peucker
    tolerance in tile pixels (0 = none). The feature id is always the object id.
    """

    name: str
    where: Any = None
    columns: tuple[str, ...] = ("id", "name", "class_code", "code")
    attributes: tuple[str, ...] = field(default_factory=tuple)
    simplify_px: float = 0.0

    def __post_init__(self) -> None:
        bad = [c for c in self.columns if c not in COLUMNS] + [a for a in self.attributes if not _KEY.match(a)]
        if bad or not self.name:
            raise InvalidInputError(f"bad tile layer {self.name!r}: unknown columns or attribute keys {bad}")


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse tiles outside WebMercatorQuad (zoom 0..22, column and row 0..2^z − 1)."""
    if not (0 <= z <= MAX_ZOOM):
        raise InvalidInputError(f"zoom {z} is outside 0..{MAX_ZOOM}")
    n = 1 << z
    if not (0 <= x < n and 0 <= y < n):
        raise InvalidInputError(f"tile {z}/{x}/{y} is outside the tile matrix (0..{n - 1} at zoom {z})")


def render_tile(
    store: Store, tile: tuple[int, int, int], layers: Sequence[TileLayerSpec], *, extent: int = 4096, buffer: int = 64
) -> bytes:
    """:func:`render_mvt` in a read of its own. On PostGIS the tile is one statement, so it runs in
    autocommit (a statement sees one snapshot) and saves the BEGIN and ROLLBACK round trips."""
    if store.name != "postgis":
        with store.read() as conn:
            return render_mvt(conn, tile, layers, extent=extent, buffer=buffer)
    for attempt in (1, 2):
        try:
            with _tile_engine(store).connect() as conn:
                return render_mvt(conn, tile, layers, extent=extent, buffer=buffer)
        except OperationalError as exc:
            if exc.connection_invalidated and attempt == 1:
                continue  # a pooled connection had died (no pre-ping here): once more on a fresh one
            if exc.connection_invalidated or "connect" in str(exc.orig).lower():
                raise UnavailableError(f"database unavailable: {exc.orig}") from exc
            raise
    raise AssertionError("unreachable")


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
                    store.url, pool_size=8, max_overflow=8, pool_recycle=600, isolation_level="AUTOCOMMIT"
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
) -> bytes:
    """One Mapbox Vector Tile (WebMercatorQuad ``(z, x, y)``) of city objects; ``b""`` when empty."""
    z, x, y = tile
    check_tile(z, x, y)
    names = [spec.name for spec in layers]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"layer names repeat in {names}")
    if not layers:
        return b""
    dialect = postgis_tiles if conn.dialect.name == "postgresql" else sqlite_tiles
    return dialect.render_mvt(conn, city_object, (z, x, y), layers, extent, buffer)
