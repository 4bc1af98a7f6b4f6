"""Vector tiles of city objects: tilesets, TileJSON, the cache and its invalidation.

Tiles come from :func:`citybase.store.render_mvt` and are cached (memory LRU + disk) under a key that
carries a token of the data generation of the tileset's classes. When objects change, the platform
publishes ``objects.changed`` with the old and new bboxes and the classes; :meth:`TileService.
objects_changed` drops every cached tile whose bounds (plus the render buffer) meet a changed bbox,
at every zoom where the class is drawn. When that would mean many tiles (bulk loads, huge objects),
it bumps the generation of the classes instead, which retires all their tiles at once.
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

from citybase.domains.objects import ClassRegistry
from citybase.domains.tiles.cache import TileCache, etag_of
from citybase.domains.tiles.tilesets import BASEMAP, MAX_ZOOM, Tileset, class_tileset
from citybase.domains.tiles.tms import tile_range
from citybase.kernel.errors import NotFoundError
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
    def tile(self, name: str, z: int, x: int, y: int) -> Tile:
        """The tile z/x/y (WebMercatorQuad) of a tileset, from the cache or freshly rendered."""
        if not (0 <= z <= MAX_ZOOM) or not (0 <= x < (1 << z) and 0 <= y < (1 << z)):
            raise NotFoundError(f"no tile {z}/{x}/{y}: zoom must be 0..{MAX_ZOOM} and column and row 0..2^zoom − 1")
        ts = self.tileset(name)
        key = (ts.name, self._token(ts.name, ts.classes), z, x, y)
        hit = self.cache.get(key)
        if hit is not None:
            return Tile(*hit)
        epoch = self._epoch[ts.name]
        specs = ts.specs(z) if ts.minzoom <= z <= ts.maxzoom else []
        data = render_tile(self.store, (z, x, y), specs, extent=EXTENT, buffer=BUFFER) if specs else b""
        if self._epoch[ts.name] == epoch and key[1] == self._token(ts.name, ts.classes):  # no change arrived meanwhile
            return Tile(*self.cache.put(key, data))
        return Tile(*_uncached(data))

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
        boxes = [tuple(b) for b in payload.get("bboxes", ())]
        self.invalidate(classes, boxes)

    def invalidate(self, classes: set[str], boxes: list[tuple[float, float, float, float]]) -> None:
        names = [BASEMAP.name, *sorted(classes)] if classes & BASEMAP.classes else sorted(classes)
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
            token = self._token(name, BASEMAP.classes if name == BASEMAP.name else {name})
            for z in range(minzoom, MAX_ZOOM + 1):
                tiles: set[tuple[int, int]] = set()
                for box in boxes:
                    x0, y0, x1, y1 = tile_range(box, z, pad)
                    if (x1 - x0 + 1) * (y1 - y0 + 1) > MAX_TILES_PER_CHANGE:
                        return None
                    tiles.update((x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1))
                keys.extend((name, token, z, x, y) for x, y in tiles)
                if len(keys) > MAX_TILES_PER_CHANGE:
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
        for name, token in old.items():
            if name not in self._tokens:
                self.cache.forget_token(name, token)
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


def _uncached(data: bytes) -> tuple[bytes, str]:
    return data, etag_of(data)
