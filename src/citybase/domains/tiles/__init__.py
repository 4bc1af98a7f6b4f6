"""Vector tiles (MVT) of city objects: per-class tilesets, the composite basemap, TileJSON, OGC tile
matrix sets, and a cache invalidated by ``objects.changed`` events."""

from citybase.domains.tiles.cache import TileCache, etag_of
from citybase.domains.tiles.service import Tile, TileService
from citybase.domains.tiles.tilesets import BASEMAP, LayerDef, Tileset, class_tileset
from citybase.domains.tiles.tms import TILE_MATRIX_SETS, cgcs2000_quad, tile_range, web_mercator_quad

__all__ = [
    "BASEMAP",
    "TILE_MATRIX_SETS",
    "LayerDef",
    "Tile",
    "TileCache",
    "TileService",
    "Tileset",
    "cgcs2000_quad",
    "class_tileset",
    "etag_of",
    "tile_range",
    "web_mercator_quad",
]
