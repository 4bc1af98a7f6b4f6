"""Tilesets of dataset layers: only the layer's members, now or as they were in a layer version.

A dataset layer (filled by imports, see docs/import.md) is one MVT layer named by its class code (so a
style's ``source-layer`` is the same as for the class's own tiles) over

- **now**: the current objects (``city_object``) of the class that are in the layer's current version
  (``layer_item`` rows with an open ``to_version``), retired objects left out — the same rows as the
  layer's OGC API Features;
- **version N**: the members of layer version N, each at the object version recorded for it then
  (``layer_item.object_version`` → ``city_object_version``), so the tiles show the layer exactly as that
  version published it (see :class:`citybase.store.tiles.LayerVersionRows`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select

from citybase.domains.layers import Layer
from citybase.domains.objects import LifecycleState, ObjectClass
from citybase.domains.tiles.tilesets import DETAIL_ZOOM, SIMPLIFY_PX, LayerDef, Tileset, class_tileset
from citybase.store import Store, TileLayerSpec
from citybase.store.import_tables import layer_item, layer_version
from citybase.store.schema import city_object
from citybase.store.tiles import LayerVersionRows


@dataclass(frozen=True, slots=True)
class MemberLayerDef(LayerDef):
    """A class layer restricted to the members of dataset layer ``layer_id`` (now, or in ``version``)."""

    layer_id: int = 0
    version: int | None = None

    def spec(self, z: int) -> TileLayerSpec:
        return _member_spec(self, z)

    @property
    def source(self) -> LayerVersionRows | None:
        return None if self.version is None else LayerVersionRows(self.layer_id, self.version)


@functools.lru_cache(maxsize=4096)
def _member_spec(d: MemberLayerDef, z: int) -> TileLayerSpec:
    """One spec object per layer, version and zoom (the store compiles its SQL once per spec)."""
    simplify = SIMPLIFY_PX if z < DETAIL_ZOOM else 0.0
    if d.version is None:
        t = city_object
        where = and_(t.c.class_code == d.class_code, t.c.state != LifecycleState.RETIRED.value, _member(d.layer_id))
    else:
        where = None  # the rows of the version are the members already (LayerVersionRows)
    return TileLayerSpec(
        d.class_code, where, attributes=d.attributes, simplify_px=simplify, all_attributes=d.all_attributes
    )


def _member(layer_id: int) -> Any:
    """The object is in the layer's current version, as a per-row probe of ``layer_item`` by object id.

    Not ``id IN (members)``: PostgreSQL pulls that up into a join driven by the membership — every member
    of the layer for every tile (a 3,000-member layer: 27 ms per tile, growing with the layer). A scalar
    subquery stays a per-row check of the rows the tile's bbox (GiST / R*Tree) found, so a tile costs
    what the class's tile costs plus one index probe per object in it.
    """
    li = layer_item
    probe = select(li.c.id).where(
        li.c.object_id == city_object.c.id, li.c.layer_id == layer_id, li.c.to_version.is_(None)
    )
    return probe.limit(1).scalar_subquery().is_not(None)


def dataset_tileset(lyr: Layer, cls: ObjectClass, version: int | None = None) -> Tileset:
    """The tileset of a dataset layer: its class's zooms and attributes, its members only."""
    base = class_tileset(cls)
    d = base.layers[0]
    member = MemberLayerDef(
        d.class_code, d.minzoom, d.maxzoom, d.attributes, d.all_attributes, layer_id=lyr.id, version=version
    )
    title = lyr.title if version is None else f"{lyr.title} (v{version})"
    return Tileset(cache_name(lyr, version), title, lyr.description or base.description, (member,), base.minzoom)


def cache_name(lyr: Layer, version: int | None = None) -> str:
    """The tile cache's name of a dataset layer's tileset (now, or one of its versions)."""
    return f"layer-{lyr.id}" if version is None else f"layer-{lyr.id}-v{version}"


def current_version(store: Store, layer_id: int) -> int:
    """The layer's current version (0 before its first import)."""
    q = select(func.max(layer_version.c.version)).where(layer_version.c.layer_id == layer_id)
    with store.read() as conn:
        return int(conn.execute(q).scalar_one() or 0)
