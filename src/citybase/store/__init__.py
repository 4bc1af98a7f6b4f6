"""L1: the only package that knows which database runs.

Domain code uses the tables in :mod:`citybase.store.schema`, the neutral predicates re-exported here
and the multi-statement operations of :mod:`citybase.store.spatial`.
"""

from citybase.store import schema
from citybase.store.elements import (
    area_m2,
    bbox_intersects,
    contains,
    distance_m,
    intersects,
    text_match,
    window_order,
    within,
)
from citybase.store.engine import Store, after_commit
from citybase.store.migrate import current_revision, head_revision, upgrade
from citybase.store.spatial import (
    IN_CHUNK,
    Neighbour,
    bulk_load,
    index_geometries,
    nearest,
    reserve_ids,
    rows_in,
    upsert_add,
)
from citybase.store.tiles import TileLayerSpec, render_mvt, render_tile

__all__ = [
    "IN_CHUNK",
    "Neighbour",
    "Store",
    "TileLayerSpec",
    "after_commit",
    "area_m2",
    "bbox_intersects",
    "bulk_load",
    "contains",
    "current_revision",
    "distance_m",
    "head_revision",
    "index_geometries",
    "intersects",
    "nearest",
    "render_mvt",
    "render_tile",
    "reserve_ids",
    "rows_in",
    "schema",
    "text_match",
    "upgrade",
    "upsert_add",
    "window_order",
    "within",
]
