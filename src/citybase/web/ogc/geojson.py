"""City objects as OGC API features (GeoJSON), in the CRS the caller asked for."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from citybase.domains.objects import CityObject
from citybase.kernel.crs import transform_geometry
from citybase.web.ogc.common import GEOJSON, HTML, SUPPORTED_CRS, link
from citybase.web.serialize import iso


def _to_crs(geom: Any, crs_uri: str) -> Any:
    """Stored CGCS2000 lon/lat (a geometry or an array of them) -> the response CRS, in that CRS's
    authority axis order."""
    name = SUPPORTED_CRS[crs_uri]
    if name == "EPSG:3857":
        return transform_geometry(geom, "EPSG:4490", "EPSG:3857")
    if name == "EPSG:4490":  # EPSG:4490 is latitude first
        return shapely.transform(geom, lambda c: c[:, ::-1])
    return geom


def output_geometry(geom: BaseGeometry | None, crs_uri: str) -> dict[str, Any] | None:
    """One geometry as a GeoJSON dict in the response CRS."""
    return None if geom is None else dict(mapping(_to_crs(geom, crs_uri)))


def geometry_fragments(geoms: Sequence[BaseGeometry | None], crs_uri: str) -> list[orjson.Fragment | None]:
    """A page of geometries as GeoJSON text written by GEOS (``shapely.to_geojson``, one call for the
    page), wrapped so ``orjson`` copies them into the response as they are: the per-vertex Python of
    ``mapping`` and of the JSON encoder was a third of an items page's time."""
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    present = ~shapely.is_missing(arr)
    if present.any():
        arr[present] = _to_crs(arr[present], crs_uri)
    return [None if text is None else orjson.Fragment(text) for text in shapely.to_geojson(arr)]


def properties(obj: CityObject) -> dict[str, Any]:
    """Flat properties (GIS clients read flat columns): the object's fields, then its class attributes."""
    fixed = {
        "name": obj.name,
        "code": obj.code,
        "class_code": obj.class_code,
        "state": obj.state,
        "department_id": obj.department_id,
        "parent_id": obj.parent_id,
        "valid_from": iso(obj.valid_from),
        "valid_to": iso(obj.valid_to),
        "version": obj.version,
        "updated_at": iso(obj.updated_at),
    }
    return {**{k: v for k, v in obj.attributes.items() if k not in fixed}, **fixed}


def feature(
    obj: CityObject, crs_uri: str, items_url: str | None = None, query: str = "", geometry: Any = False
) -> dict[str, Any]:
    """A GeoJSON feature; with ``items_url`` it links to itself, adding ``query`` (``&k=v…``) to its own links.
    ``geometry``: the feature's geometry already converted (a :func:`geometry_fragments` item)."""
    out: dict[str, Any] = {
        "type": "Feature",
        "id": obj.id,
        "geometry": output_geometry(obj.geometry, crs_uri) if geometry is False else geometry,
        "properties": properties(obj),
    }
    if items_url is not None:
        href = f"{items_url}/{obj.id}"
        out["links"] = [
            link(f"{href}?f=json{query}", "self", GEOJSON, "this feature"),
            link(f"{href}?f=html{query}", "alternate", HTML, "this feature as HTML"),
            link(items_url.rsplit("/items", 1)[0] + "?f=json", "collection", "application/json", "the collection"),
        ]
    return out
