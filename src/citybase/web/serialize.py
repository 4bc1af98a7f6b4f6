"""Plain results to JSON and GeoJSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry

from citybase.domains.objects import CityObject, ObjectVersion


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def geojson_geometry(geom: BaseGeometry | None) -> dict[str, Any] | None:
    return None if geom is None else mapping(geom)


def object_json(obj: CityObject) -> dict[str, Any]:
    return {
        "id": obj.id,
        "code": obj.code,
        "class_code": obj.class_code,
        "name": obj.name,
        "geometry": geojson_geometry(obj.geometry),
        "attributes": obj.attributes,
        "department_id": obj.department_id,
        "parent_id": obj.parent_id,
        "state": obj.state,
        "valid_from": iso(obj.valid_from),
        "valid_to": iso(obj.valid_to),
        "version": obj.version,
        "updated_at": iso(obj.updated_at),
        "updated_by": obj.updated_by,
    }


def version_json(v: ObjectVersion) -> dict[str, Any]:
    return {
        "object_id": v.object_id,
        "version": v.version,
        "change": v.change,
        "recorded_at": iso(v.recorded_at),
        "recorded_by": v.recorded_by,
        "code": v.code,
        "class_code": v.class_code,
        "name": v.name,
        "geometry": geojson_geometry(v.geometry),
        "attributes": v.attributes,
        "department_id": v.department_id,
        "parent_id": v.parent_id,
        "state": v.state,
        "valid_from": iso(v.valid_from),
        "valid_to": iso(v.valid_to),
    }


def object_feature(obj: CityObject) -> dict[str, Any]:
    props = object_json(obj)
    geometry = props.pop("geometry")
    return {"type": "Feature", "id": obj.id, "geometry": geometry, "properties": props}
