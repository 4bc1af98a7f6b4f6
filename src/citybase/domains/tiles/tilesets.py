"""Tilesets: which classes go into which MVT layer, at which zooms, with which properties.

A tileset per object class (``/api/tiles/{class_code}/…``, one layer named by the class code, all of
the class's attributes) and the composite ``basemap`` (boundaries, water, green, compounds, roads,
buildings with height and floors for extrusion, and point facilities from zoom 15) with chosen
attributes. Layer names are class codes, so a style can name ``source-layer`` by class.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from sqlalchemy import and_

from citybase.domains.objects import ObjectClass
from citybase.store import TileLayerSpec
from citybase.store.schema import city_object

MAX_ZOOM = 22
DETAIL_ZOOM = 15  # from this zoom on, geometries are not simplified (only snapped to the 4096 grid)
SIMPLIFY_PX = 1.0


@dataclass(frozen=True, slots=True)
class LayerDef:
    class_code: str
    minzoom: int = 0
    maxzoom: int = MAX_ZOOM
    attributes: tuple[str, ...] = ()
    all_attributes: bool = False  # attributes are every attribute of the class (TileLayerSpec)

    def spec(self, z: int) -> TileLayerSpec:
        return _spec(self, z)


@functools.lru_cache(maxsize=4096)
def _spec(layer: LayerDef, z: int) -> TileLayerSpec:
    """One spec object per layer and zoom, reused for every tile (the store caches its SQL per spec)."""
    where = and_(city_object.c.class_code == layer.class_code, city_object.c.state != "retired")
    simplify = SIMPLIFY_PX if z < DETAIL_ZOOM else 0.0
    return TileLayerSpec(
        layer.class_code, where, attributes=layer.attributes, simplify_px=simplify, all_attributes=layer.all_attributes
    )


@dataclass(frozen=True, slots=True)
class Tileset:
    name: str
    title: str
    description: str
    layers: tuple[LayerDef, ...]
    minzoom: int = 0
    maxzoom: int = MAX_ZOOM
    classes: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", frozenset(d.class_code for d in self.layers))

    def specs(self, z: int) -> list[TileLayerSpec]:
        """The layers of a tile at zoom ``z`` (layers outside their zoom range are left out)."""
        return [d.spec(z) for d in self.layers if d.minzoom <= z <= d.maxzoom]

    def min_zoom_of(self, classes: set[str]) -> int:
        """Lowest zoom at which any of ``classes`` is drawn (MAX_ZOOM + 1 if none is)."""
        return min((d.minzoom for d in self.layers if d.class_code in classes), default=MAX_ZOOM + 1)


POINT_CLASSES = ("050201", "040101", "010301", "010101", "010201", "010202", "010102", "020301", "060101", "060201")

BASEMAP = Tileset(
    "basemap",
    "Basemap",
    "Boundaries, water, green space, compounds, roads, buildings (height and floors for 3D) and facilities",
    (
        LayerDef("090101", 0, attributes=("water_type",)),
        LayerDef("040201", 11, attributes=("green_type",)),
        LayerDef("050301", 13),
        LayerDef("020101", 10, attributes=("road_class", "lanes", "width_m")),
        LayerDef("050101", 14, attributes=("height_m", "floors", "floor_height_m", "use")),
        LayerDef("070103", 0, attributes=("division_code",)),
        LayerDef("070102", 0, attributes=("division_code",)),
        LayerDef("070101", 0, attributes=("division_code",)),
        *(LayerDef(code, 15) for code in POINT_CLASSES),
    ),
)

# Lowest zoom of a class's own tileset; a tile below it is empty.
CLASS_MINZOOM = {d.class_code: d.minzoom for d in BASEMAP.layers}


def class_tileset(cls: ObjectClass) -> Tileset:
    minzoom = CLASS_MINZOOM.get(cls.code, 14 if (cls.geometry_type or "").endswith("Point") else 10)
    attrs = tuple(a.name for a in cls.attributes)
    return Tileset(
        cls.code,
        f"{cls.name} ({cls.name_en})",
        f"City objects of class {cls.code} {cls.name}",
        (LayerDef(cls.code, minzoom, attributes=attrs, all_attributes=True),),
        minzoom=minzoom,
    )
