"""A new building found in the field: the city object, its standard address and its house, in one step.

The collection loop's ``house.new_building`` task carries what a grid worker collected: the door plate
or compound the building stands at, its name (``3栋``), its footprint and its floors, and the house
attributes the housing department keeps. When the department accepts the task, this applier writes
all three records inside the task's transaction, so either the building exists everywhere (object,
address, 楼盘表) or nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import shapely.geometry
from shapely.errors import GeometryTypeError
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from citybase.domains.access import Actor
from citybase.domains.addresses import AddressService, NewNode
from citybase.domains.objects import NewObject, ObjectService
from citybase.domains.registry.houses import ATTRIBUTES, create_house_in
from citybase.kernel.errors import InvalidInputError, Issue

BUILDING_CLASS = "050101"
PARENT_LEVELS = ("door_number", "compound")
# the house registry's use -> the building class's own attribute vocabulary
_OBJECT_USE = {
    "residential": "住宅",
    "commercial": "商业",
    "mixed": "商住混合",
    "public": "公共服务",
    "industrial": "工业",
    "other": "其他",
}


def _footprint(value: Any) -> BaseGeometry:
    problem = Issue("footprint", "give the footprint as a GeoJSON Polygon in CGCS2000 lon/lat")
    if not isinstance(value, Mapping):
        raise InvalidInputError("invalid new building", issues=[problem])
    try:
        geom = shapely.geometry.shape(value)
    except (GeometryTypeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InvalidInputError("invalid new building", issues=[Issue("footprint", f"not GeoJSON: {exc}")]) from exc
    if geom.geom_type != "Polygon" or geom.is_empty:
        raise InvalidInputError("invalid new building", issues=[problem])
    return geom


def _floors(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidInputError("invalid new building", issues=[Issue("floors", "give the floors above ground")])
    try:
        floors = int(value)
    except ValueError:
        floors = 0
    if not 1 <= floors <= 200:
        raise InvalidInputError("invalid new building", issues=[Issue("floors", f"{value!r} is not 1..200")])
    return floors


class NewBuildingApplier:
    """``(conn, actor, payload) -> dict``: the applier of ``house.new_building`` tasks."""

    def __init__(self, objects: ObjectService, addresses: AddressService) -> None:
        self.objects = objects
        self.addresses = addresses

    def __call__(self, conn: Connection, actor: Actor, payload: Mapping[str, Any]) -> dict[str, Any]:
        # the task's own address (a door plate or compound) unless the collector named another parent
        parent_id = payload.get("parent_node_id", payload.get("address_node_id"))
        if not isinstance(parent_id, int) or isinstance(parent_id, bool):
            raise InvalidInputError(
                "invalid new building",
                issues=[Issue("parent_node_id", f"give the id of the {' or '.join(PARENT_LEVELS)} node")],
            )
        name = str(payload.get("name") or "").strip()
        if not name:
            raise InvalidInputError("invalid new building", issues=[Issue("name", "give its name, e.g. 3栋")])
        footprint = _footprint(payload.get("footprint"))
        floors = _floors(payload.get("floors"))
        house_attributes = {k: payload[k] for k in ATTRIBUTES if k in payload}
        object_attributes: dict[str, Any] = {"floors": floors}
        if house_attributes.get("use") in _OBJECT_USE:
            object_attributes["use"] = _OBJECT_USE[str(house_attributes["use"])]

        [object_id] = self.objects.insert_batch(
            conn,
            actor,
            [NewObject(BUILDING_CLASS, name, footprint, object_attributes, department_id=actor.department_id)],
        )
        point = footprint.representative_point()
        node_id = self.addresses.create_in(
            conn, actor, NewNode(parent_id, "building", name, point=point, object_id=object_id)
        )
        house_id = create_house_in(conn, actor, node_id, house_attributes)
        return {"object_id": object_id, "address_node_id": node_id, "house_id": house_id}
