"""Vector tiles of city objects: tilesets, TileJSON, the cache and its invalidation.

Tiles come from :func:`citybase.store.render_mvt` and are cached (memory LRU + disk) under a key that
carries a token of the data generation of the tileset's classes. When objects change, the platform
publishes ``objects.changed`` with the old and new bboxes and the classes; :meth:`TileService.
objects_changed` drops every cached tile whose bounds (plus the render buffer) meet a changed bbox,
at every zoom where the class is drawn. When that would mean many tiles (bulk loads, huge objects),
it bumps the generation of the classes instead, which retires all their tiles at once.

Other processes on the same database learn of a change through the log in ``platform_meta`` that
:mod:`citybase.domains.tiles.changes` keeps: each change is recorded after its commit, and every
process reads the log at most once a second before answering a tile (:meth:`TileService.sync`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from citybase.domains.layers import Layer, LayerKind
from citybase.domains.objects import ClassRegistry
from citybase.domains.tiles import datasets
from citybase.domains.tiles.cache import TileCache, etag_of
from citybase.domains.tiles.changes import ChangeLog
from citybase.domains.tiles.tilesets import BASEMAP, MAX_ZOOM, Tileset, class_tileset
from citybase.domains.tiles.tms import (
    CGCS2000_QUAD,
    TILE_MATRIX_SETS,
    WEB_MERCATOR_QUAD,
    geographic_tile_range,
    matrix_size,
    tile_range,
    web_mercator_zoom,
)
from citybase.kernel.errors import InvalidInputError, Issue, NotFoundError
from citybase.store import Store, render_tile
from citybase.store.schema import city_object

log = logging.getLogger(__name__)
EXTENT = 4096
BUFFER = 64
MAX_TILES_PER_CHANGE = 4096  # above this, a change bumps the class generation instead
MAX_BOXES_PER_CHANGE = 256
_FIELD_TYPES = {"integer": "Number", "number": "Number", "boolean": "Boolean"}


@dataclass(frozen=True, slots=True)
class Tile:
    data: bytes  # b"" = empty tile
    etag: str


class TileService:
    def __init__(
        self, store: Store, classes: ClassRegistry, cache_dir: Path | None, *, cache_bytes: int = 128 << 20
    ) -> None:
        self.store = store
        self.classes = classes
        self.cache = TileCache(cache_dir, cache_bytes)
        self._lock = threading.Lock()
        self._generation: dict[str, int] = defaultdict(int)
        self._epoch: dict[str, int] = defaultdict(int)
        self._tokens: dict[str, str] = {}
        self._stamps: dict[str, str] | None = None
        self._stamps_lock = threading.Lock()
        # dataset layers' current tilesets seen so far: cache name -> (class code, token now)
        self._datasets: dict[str, tuple[str, str]] = {}
        self.changes = ChangeLog(store)  # what other processes changed (and what this one tells them)

    # --- tilesets --------------------------------------------------------------------------------
    def tileset(self, name: str) -> Tileset:
        if name == BASEMAP.name:
            return BASEMAP
        if not (len(name) == 6 and name.isdigit()):
            raise NotFoundError(f"no tileset {name!r}: use 'basemap' or a 6-digit class code")
        return class_tileset(self.classes.find(name))

    def tilesets(self) -> list[Tileset]:
        return [BASEMAP, *(class_tileset(c) for c in self.classes.all() if c.geometry_type)]

    # --- tiles -----------------------------------------------------------------------------------
    def tile(self, name: str, z: int, x: int, y: int, tms: str = WEB_MERCATOR_QUAD) -> Tile:
        """The tile z/x/y (column x, row y) of a tileset in a tile matrix set (``WebMercatorQuad`` or
        ``CGCS2000Quad``), from the cache or freshly rendered."""
        _check_tile(z, x, y, tms)
        ts = self.tileset(name)
        self.sync()
        key = (_cache_name(ts.name, tms), self._token(ts.name, ts.classes), z, x, y)
        hit = self.cache.get(key)
        if hit is not None:
            return Tile(*hit)
        epoch = self._epoch[ts.name]
        wz = web_mercator_zoom(tms, z)  # the zoom whose layers and simplification this scale gets
        specs = ts.specs(wz) if ts.minzoom <= wz <= ts.maxzoom else []
        data = render_tile(self.store, (z, x, y), specs, extent=EXTENT, buffer=BUFFER, tms=tms) if specs else b""
        if self._epoch[ts.name] == epoch and key[1] == self._token(ts.name, ts.classes):  # no change arrived meanwhile
            return Tile(*self.cache.put(key, data))
        return Tile(*_uncached(data))

    def layer_tile(
        self, lyr: Layer, z: int, x: int, y: int, tms: str = WEB_MERCATOR_QUAD, version: int | None = None
    ) -> Tile:
        """A tile of a published layer the caller may read. A class layer is its class's tileset; a
        dataset layer holds only its members: now, or as they were in layer ``version`` (404 if the
        layer has no such version; 400 for a version of a class layer)."""
        if lyr.kind != LayerKind.DATASET:
            self.check_version(lyr, version)
            return self.tile(str(lyr.class_code), z, x, y, tms)
        _check_tile(z, x, y, tms)
        self.sync()
        current = datasets.current_version(self.store, lyr.id)
        if version is not None and not 1 <= version <= current:
            raise _no_version(lyr, version)
        ts = datasets.dataset_tileset(lyr, self.classes.find(str(lyr.class_code)), version)
        if version is None:
            token = self._dataset_token(ts.name, str(lyr.class_code), current)
        else:  # a past version never changes: its token only tells this layer from one made later with its id
            token = hashlib.blake2b(f"{lyr.created_at.isoformat()}|v{version}".encode(), digest_size=8).hexdigest()
        key = (_cache_name(ts.name, tms), token, z, x, y)
        hit = self.cache.get(key)
        if hit is not None:
            return Tile(*hit)
        epoch = self._epoch[ts.name]
        wz = web_mercator_zoom(tms, z)
        member = ts.layers[0]
        assert isinstance(member, datasets.MemberLayerDef)
        specs = ts.specs(wz) if ts.minzoom <= wz <= ts.maxzoom else []
        data = b""
        if specs:
            data = render_tile(
                self.store, (z, x, y), specs, extent=EXTENT, buffer=BUFFER, tms=tms, source=member.source
            )
        fresh = version is not None or token == self._dataset_token(ts.name, str(lyr.class_code), current)
        if self._epoch[ts.name] == epoch and fresh:  # no change arrived meanwhile
            return Tile(*self.cache.put(key, data))
        return Tile(*_uncached(data))

    def _dataset_token(self, name: str, class_code: str, version: int) -> str:
        """A dataset layer's token now: its class's token (data stamp and generation) and its current
        version, so a new version (import, rollback) retires its tiles at once, also on disk."""
        text = f"{self._token(class_code, {class_code})}|v{version}"
        token = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
        with self._lock:
            old = self._datasets.get(name)
            self._datasets[name] = (class_code, token)
        if old is not None and old[1] != token:
            for tms in TILE_MATRIX_SETS:
                self.cache.forget_token(_cache_name(name, tms), old[1])
        return token

    def cached(self, name: str, z: int, x: int, y: int, tms: str = WEB_MERCATOR_QUAD) -> Tile | None:
        """The tile if it is in the memory cache, else None — never blocks (no database, no disk), so the
        web layer can answer hits on its event loop and send only misses to a thread. When the change
        log of other processes is due for a read, it answers None so that the thread reads it first."""
        if self.changes.due():
            return None
        token = self._tokens.get(name)
        if token is None:
            return None
        hit = self.cache.peek((_cache_name(name, tms), token, z, x, y))
        return None if hit is None else Tile(*hit)

    def _token(self, name: str, classes: Iterable[str]) -> str:
        token = self._tokens.get(name)
        if token is None:
            stamps = self._data_stamps()
            with self._lock:
                text = "|".join(f"{c}:{stamps.get(c, '')}:{self._generation[c]}" for c in sorted(classes))
                token = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
                self._tokens[name] = token
        return token

    def _data_stamps(self) -> dict[str, str]:
        """Per class, count and last update at first use: disk tiles of a previous run stay valid only
        if the data did not change while no server was watching."""
        if self._stamps is None:
            with self._stamps_lock:  # once: it scans the whole table (seconds for a city), not once per thread
                if self._stamps is None:
                    q = select(city_object.c.class_code, func.count(), func.max(city_object.c.updated_at)).group_by(
                        city_object.c.class_code
                    )
                    with self.store.read() as conn:
                        self._stamps = {r[0]: f"{r[1]}@{r[2]}" for r in conn.execute(q)}
        return self._stamps

    # --- invalidation ----------------------------------------------------------------------------
    def objects_changed(self, event: str, payload: dict[str, Any]) -> None:
        """Subscriber of ``objects.changed``: drop the cached tiles the change touches."""
        classes = set(payload.get("classes", ()))
        boxes: list[tuple[float, float, float, float]] = [tuple(b) for b in payload.get("bboxes", ())]
        self.invalidate(classes, boxes)
        if classes:
            self.changes.record(classes, boxes)  # for the other processes on this database

    def sync(self) -> None:
        """Apply what other processes changed since the last look (a read of the log at most once a second)."""
        if not self.changes.due():
            return
        try:
            changes = self.changes.poll()
        except Exception:  # the database is away: serve what is cached, try again next interval
            log.warning("cannot read the tile change log", exc_info=True)
            return
        if changes is None:  # fell behind the log: anything may have changed
            self.bump(c.code for c in self.classes.all())
            return
        for change in changes:
            self.invalidate(set(change.classes), list(change.boxes))

    def invalidate(self, classes: set[str], boxes: list[tuple[float, float, float, float]]) -> None:
        names = [BASEMAP.name, *sorted(classes)] if classes & BASEMAP.classes else sorted(classes)
        names += sorted(n for n, (c, _) in list(self._datasets.items()) if c in classes)
        with self._lock:
            for name in names:
                self._epoch[name] += 1
        if not boxes:
            return
        keys = None if len(boxes) > MAX_BOXES_PER_CHANGE else self._affected(names, classes, boxes)
        if keys is None:
            self.bump(classes)
        else:
            self.cache.drop(keys)

    def _affected(
        self, names: list[str], classes: set[str], boxes: list[tuple[float, float, float, float]]
    ) -> list[tuple[str, str, int, int, int]] | None:
        keys: list[tuple[str, str, int, int, int]] = []
        pad = BUFFER / EXTENT
        for name in names:
            minzoom = BASEMAP.min_zoom_of(classes) if name == BASEMAP.name else 0
            if name in self._datasets:
                token = self._datasets[name][1]
            else:
                token = self._token(name, BASEMAP.classes if name == BASEMAP.name else {name})
            # a CGCS2000Quad level z draws like Web Mercator z + 1, so it starts one level lower
            grids = (
                (WEB_MERCATOR_QUAD, minzoom, tile_range),
                (CGCS2000_QUAD, max(0, minzoom - 1), geographic_tile_range),
            )
            for tms, first, ranges in grids:
                cached = _cache_name(name, tms)
                for z in range(first, MAX_ZOOM + 1):
                    tiles: set[tuple[int, int]] = set()
                    for box in boxes:
                        x0, y0, x1, y1 = ranges(box, z, pad)
                        if (x1 - x0 + 1) * (y1 - y0 + 1) > MAX_TILES_PER_CHANGE:
                            return None
                        tiles.update((x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))
                    keys.extend((cached, token, z, x, y) for x, y in tiles)
                    if len(keys) > 2 * MAX_TILES_PER_CHANGE:
                        return None
        return keys

    def bump(self, classes: Iterable[str]) -> None:
        """Retire every cached tile of these classes (and of the tilesets that hold them)."""
        classes = set(classes)
        with self._lock:
            for c in classes:
                self._generation[c] += 1
            old = dict(self._tokens)
            for name in list(self._tokens):
                if name in classes or (name == BASEMAP.name and classes & BASEMAP.classes):
                    del self._tokens[name]
        # dataset layers of these classes: their tokens derive from the class token, so they change too
        old |= {name: token for name, (c, token) in list(self._datasets.items()) if c in classes}
        for name, token in old.items():
            if name not in self._tokens:
                for tms in TILE_MATRIX_SETS:
                    self.cache.forget_token(_cache_name(name, tms), token)
        log.info("tile generation bumped for classes %s", sorted(classes))

    # --- TileJSON --------------------------------------------------------------------------------
    def tilejson(self, name: str, base_url: str) -> dict[str, Any]:
        """TileJSON 3.0.0 of a tileset; tile URLs start at ``base_url`` (the request's own base)."""
        ts = self.tileset(name)
        layers = []
        for d in ts.layers:
            cls = self.classes.find(d.class_code)
            types = {a.name: _FIELD_TYPES.get(a.type, "String") for a in cls.attributes}
            fields = {"id": "Number", "name": "String", "class_code": "String", "code": "String"}
            fields |= {a: types.get(a, "String") for a in d.attributes}
            layers.append(
                {
                    "id": d.class_code,
                    "description": f"{cls.name} ({cls.name_en})",
                    "minzoom": max(d.minzoom, ts.minzoom),
                    "maxzoom": min(d.maxzoom, ts.maxzoom),
                    "fields": fields,
                }
            )
        base = base_url.rstrip("/")
        return {
            "tilejson": "3.0.0",
            "name": ts.name,
            "description": ts.description,
            "version": "1.0.0",
            "attribution": "citybase",
            "scheme": "xyz",
            "tiles": [f"{base}/api/tiles/{ts.name}/{{z}}/{{x}}/{{y}}.mvt"],
            "minzoom": ts.minzoom,
            "maxzoom": ts.maxzoom,
            "bounds": [-180.0, -85.0511287798066, 180.0, 85.0511287798066],
            "vector_layers": layers,
        }

    def layer_tilejson(self, lyr: Layer, base_url: str, version: int | None = None) -> dict[str, Any]:
        """TileJSON of a published layer (tiles ``/api/tiles/{layer}/…``, with ``?version=N`` for a past
        version of a dataset layer); its vector layer is named by the class code, as in the class's tiles."""
        self.check_version(lyr, version)
        doc = self.tilejson(str(lyr.class_code), base_url)
        query = "" if version is None else f"?version={version}"
        return doc | {
            "name": lyr.name,
            "description": lyr.title + ("" if version is None else f" (v{version})"),
            "tiles": [f"{base_url.rstrip('/')}/api/tiles/{lyr.name}/{{z}}/{{x}}/{{y}}.mvt{query}"],
        }

    def check_version(self, lyr: Layer, version: int | None) -> None:
        """400 for a version of a class layer, 404 for a version the dataset layer does not have."""
        if version is None:
            return
        if lyr.kind != LayerKind.DATASET:
            raise InvalidInputError(
                "not a dataset layer", issues=[Issue("version", f"{lyr.name!r} is a class layer; it has no versions")]
            )
        if not 1 <= version <= datasets.current_version(self.store, lyr.id):
            raise _no_version(lyr, version)


def _no_version(lyr: Layer, version: int) -> NotFoundError:
    return NotFoundError(f"layer {lyr.name!r} has no version {version}", issues=[Issue("version", "no such version")])


def _check_tile(z: int, x: int, y: int, tms: str) -> None:
    if tms not in TILE_MATRIX_SETS:
        raise NotFoundError(f"no tile matrix set {tms!r}: use one of {sorted(TILE_MATRIX_SETS)}")
    if not (0 <= z <= MAX_ZOOM):
        raise NotFoundError(f"no tile {z}/{x}/{y} in {tms}: zoom must be 0..{MAX_ZOOM}")
    cols, rows = matrix_size(tms, z)
    if not (0 <= x < cols and 0 <= y < rows):
        raise NotFoundError(
            f"no tile {z}/{x}/{y} in {tms}: column must be 0..{cols - 1} and row 0..{rows - 1} at zoom {z}"
        )


def _cache_name(tileset: str, tms: str) -> str:
    """The cache's name of a tileset in a tile matrix set (WebMercatorQuad keeps the plain name)."""
    return tileset if tms == WEB_MERCATOR_QUAD else f"{tileset}@{tms}"


def _uncached(data: bytes) -> tuple[bytes, str]:
    return data, etag_of(data)
