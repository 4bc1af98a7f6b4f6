"""3D Tiles 1.1 of building layers: served on the fly (cached per data generation) and exported to disk.

The tree and the tileset.json of a layer are built once per *data stamp* of its class (count, last
update, largest id), checked on every tileset.json request, so changes show at once. Content URLs
carry the stamp's token: a .glb is immutable under its URL and is cached (memory LRU + disk). A request
for content of an older token gets 404 (reload tileset.json), never a mesh that does not fit the tree.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from citybase.domains.access import SYSTEM, Actor
from citybase.domains.jobs import Handler, JobContext
from citybase.domains.layers import Layer, LayerService
from citybase.domains.objects import ClassRegistry, ObjectClass
from citybase.domains.tiles import Tile, TileCache
from citybase.domains.tiles3d.catalog import Catalog, building_columns, data_stamp, footprint_problem, read_catalog
from citybase.domains.tiles3d.glb import Feature, encode_glb
from citybase.domains.tiles3d.mesh import extrude
from citybase.domains.tiles3d.tileset import tileset_json
from citybase.domains.tiles3d.tree import MAX_FEATURES, Node, build_tree
from citybase.kernel.errors import InvalidInputError, Issue, NotFoundError
from citybase.store import Store
from citybase.store.schema import city_object

EXPORT_JOB = "layers.export_3dtiles"
GENERATOR = "citybase 3D Tiles white models"
FORMAT = "1"  # bump when the produced files change, so old cached content is not served
SHOWN_ISSUES = 20
ProgressFn = Callable[[int, int], None]


class GlbCache(TileCache):
    """The tile cache, with .glb files under ``data_dir/3dtiles``."""

    def _path(self, key: tuple[str, str, int, int, int]) -> Path | None:
        path = super()._path(key)
        return None if path is None else path.with_suffix(".glb")


@dataclass(slots=True)
class Built:
    token: str
    root: Node
    catalog: Catalog
    tiles: dict[str, Node]  # the tiles with content, by level/x/y
    served: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ExportReport:
    layer: str
    out_dir: str
    buildings: int
    tiles: int
    levels: int
    bytes: int
    defaulted_heights: int
    skipped_footprints: int
    issues: list[Issue] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: getattr(self, k) for k in ("layer", "out_dir", "buildings", "tiles", "levels", "bytes")},
            "defaulted_heights": self.defaulted_heights,
            "skipped_footprints": self.skipped_footprints,
            "issues": [i.as_dict() for i in self.issues],
        }


class Tiles3DService:
    def __init__(
        self,
        store: Store,
        classes: ClassRegistry,
        layers: LayerService,
        cache_dir: Path | None,
        *,
        max_features: int = MAX_FEATURES,
        cache_bytes: int = 64 << 20,
    ) -> None:
        self.store = store
        self.classes = classes
        self.layers = layers
        self.max_features = max_features
        self.cache = GlbCache(cache_dir, cache_bytes)
        self._built: dict[str, Built] = {}
        self._lock = threading.Lock()

    # --- checks ----------------------------------------------------------------------------------
    def building_class(self, lyr: Layer) -> ObjectClass:
        """The layer's class if it holds buildings (polygon footprints with height_m or floors)."""
        cls = self.classes.find(lyr.class_code or "") if lyr.class_code else None
        if cls is None or cls.geometry_type not in ("Polygon", "MultiPolygon"):
            what = f"class {cls.code} {cls.name} has {cls.geometry_type or 'no'} geometry" if cls else "no class"
            reason = f"{what}; white models need polygon footprints"
        elif cls.attribute("height_m") is None and cls.attribute("floors") is None:
            reason = f"class {cls.code} {cls.name} has neither height_m nor floors"
        else:
            return cls
        raise InvalidInputError(
            f"layer {lyr.name!r} is not a layer of buildings", issues=[Issue("class_code", reason, lyr.name)]
        )

    # --- the tree --------------------------------------------------------------------------------
    def built(self, lyr: Layer) -> Built:
        """The tree of the layer's current data (rebuilt when the data stamp of its class changed)."""
        cls = self.building_class(lyr)
        with self._lock, self.store.read() as conn:
            stamp = data_stamp(conn, cls.code)
            text = f"{FORMAT}|{lyr.name}|{cls.code}|{stamp}|{self.max_features}"
            token = hashlib.blake2b(text.encode(), digest_size=8).hexdigest()
            hit = self._built.get(lyr.name)
            if hit is not None and hit.token == token:
                return hit
            catalog = read_catalog(conn, cls.code)
            if not len(catalog.ids):
                issues = [Issue("layer", f"no current object of class {cls.code} with a drawable footprint", lyr.name)]
                raise InvalidInputError(
                    f"layer {lyr.name!r} has no buildings to draw", issues=issues + catalog.issues[:SHOWN_ISSUES]
                )
            root = build_tree(catalog.bounds, catalog.heights, self.max_features)
            built = Built(token, root, catalog, {node.key: node for node in root.with_content()})
            self._built[lyr.name] = built
        if hit is not None:
            self.cache.forget_token(lyr.name, hit.token)  # its files; memory entries age out of the LRU
        return built

    def _document(self, lyr: Layer, built: Built, uri: Callable[[Node], str]) -> dict[str, Any]:
        cat = built.catalog
        extras = {
            "citybase": {
                "layer": lyr.name,
                "class_code": lyr.class_code,
                "buildings": len(cat.ids),
                "tiles": len(built.tiles),
                "defaulted_heights": cat.defaulted,
                "skipped_footprints": cat.skipped,
                "issues": [i.as_dict() for i in cat.issues[:SHOWN_ISSUES]],
            }
        }
        return tileset_json(built.root, uri, version=built.token, generator=GENERATOR, extras=extras)

    def _content(self, built: Built, tile: Node) -> bytes:
        """The .glb of a tile: its buildings read by id, extruded to the heights the tree was built with."""
        assert tile.members is not None
        cat = built.catalog
        ids = [int(cat.ids[i]) for i in tile.members]
        with self.store.read() as conn:
            rows = {r[0]: r for r in conn.execute(select(*building_columns()).where(city_object.c.id.in_(ids)))}
        footprints, heights, features = [], [], []
        for i, object_id in zip(tile.members, ids, strict=True):
            row = rows.get(object_id)
            if row is None or footprint_problem(row[3]) is not None:
                continue  # gone or broken since the tree was built; the next stamp drops it
            floors = row[5] if isinstance(row[5], int) and not isinstance(row[5], bool) else None
            height = float(cat.heights[i])
            footprints.append(row[3])
            heights.append(height)
            features.append(Feature(object_id, row[1] or "", row[2] or "", height, cat.sources[i], floors))
        return encode_glb(extrude(footprints, heights, tile.frame()), features, GENERATOR)

    # --- served on the fly -----------------------------------------------------------------------
    def tileset(self, actor: Actor, name: str) -> dict[str, Any]:
        """tileset.json of a layer; content URIs are ``content/{token}/{level}/{x}/{y}.glb`` beside it."""
        lyr = self.layers.get(actor, name)
        built = self.built(lyr)
        if built.served is None:
            built.served = self._document(lyr, built, lambda n: f"content/{built.token}/{n.key}.glb")
        return built.served

    def content(self, actor: Actor, name: str, token: str, level: int, x: int, y: int) -> Tile:
        """One tile's .glb (cached). 404 for an unknown tile or a token the data has moved past."""
        lyr = self.layers.get(actor, name)
        key = (lyr.name, token, level, x, y)
        hit = self.cache.get(key)
        if hit is not None:
            return Tile(*hit)
        built = self.built(lyr)
        if built.token != token:
            raise NotFoundError(f"the 3D tiles of layer {name!r} changed since version {token}: reload tileset.json")
        tile = built.tiles.get(f"{level}/{x}/{y}")
        if tile is None:
            raise NotFoundError(f"no 3D tile {level}/{x}/{y} in layer {name!r}")
        return Tile(*self.cache.put(key, self._content(built, tile)))

    # --- export ----------------------------------------------------------------------------------
    def export(self, actor: Actor, name: str, out_dir: Path, progress: ProgressFn | None = None) -> ExportReport:
        """Write tileset.json and content/{level}/{x}/{y}.glb to ``out_dir`` (new or empty), all or nothing."""
        lyr = self.layers.get(actor, name)
        if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
            raise InvalidInputError(
                "cannot export there", issues=[Issue("out_dir", f"{out_dir} exists and is not an empty directory")]
            )
        built = self.built(lyr)
        tiles = list(built.tiles.values())
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        partial = out_dir.parent / f".{out_dir.name}.partial"  # a killed export's leftovers go on the next run
        shutil.rmtree(partial, ignore_errors=True)
        size = 0
        try:
            for done, tile in enumerate(tiles, 1):
                path = partial / "content" / f"{tile.key}.glb"
                path.parent.mkdir(parents=True, exist_ok=True)
                size += path.write_bytes(self._content(built, tile))
                if progress is not None:
                    progress(done, len(tiles))
            doc = self._document(lyr, built, lambda n: f"content/{n.key}.glb")
            size += (partial / "tileset.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
            if out_dir.exists():
                out_dir.rmdir()
            partial.rename(out_dir)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
        cat = built.catalog
        return ExportReport(
            lyr.name,
            str(out_dir),
            len(cat.ids),
            len(tiles),
            built.root.depth(),
            size,
            cat.defaulted,
            cat.skipped,
            list(cat.issues),
        )

    def job_handler(self) -> Handler:
        """Runs an export as a job: params ``layer`` and ``out_dir``; progress in tiles."""

        def handle(ctx: JobContext) -> dict[str, Any]:
            last = [0.0]

            def progress(done: int, total: int) -> None:
                if done == total or time.monotonic() - last[0] > 1.0:
                    last[0] = time.monotonic()
                    ctx.progress(done, total, f"{done}/{total} tiles")

            return self.export(SYSTEM, str(ctx.params["layer"]), Path(str(ctx.params["out_dir"])), progress).as_dict()

        return handle
