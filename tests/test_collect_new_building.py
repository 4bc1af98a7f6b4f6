"""A new building collected in the field becomes, on the housing department's acceptance, a city
object, a standard address and a house, in the task's one transaction — or nothing at all."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from citybase.domains.access import SYSTEM
from citybase.kernel.errors import InvalidInputError
from citybase.platform import Platform
from citybase.store.house_tables import house
from citybase.store.schema import city_object
from tests.test_collect import World, build_world

FOOTPRINT = {
    "type": "Polygon",
    "coordinates": [[[112.1413, 32.0113], [112.1416, 32.0113], [112.1416, 32.0115], [112.1413, 32.0115],
                     [112.1413, 32.0113]]],
}


@pytest.fixture
def world(platform: Platform) -> World:
    return build_world(platform)


def _reviewed(world: World, collected: dict[str, Any]) -> Any:
    task = world.platform.collect.create_task(
        world["reviewer_a"], kind="house.new_building", title="新建楼栋", address_node_id=world.tree.plate
    )
    task = world.act("worker_a", task, "submit", collected=collected)
    return world.act("reviewer_a", task, "approve")


def _buildings(platform: Platform) -> int:
    with platform.store.read() as conn:
        return int(conn.execute(
            select(func.count()).select_from(city_object).where(city_object.c.class_code == "050101")
        ).scalar_one())


def test_an_accepted_new_building_is_an_object_an_address_and_a_house(world: World) -> None:
    p = world.platform
    before = _buildings(p)
    task = _reviewed(world, {"name": "5栋", "floors": 6, "footprint": FOOTPRINT, "use": "residential"})
    task = world.act("zjj_user", task, "accept")
    assert task.state == "accepted"
    assert _buildings(p) == before + 1
    [node] = [n.node for n in p.addresses.children(world.tree.plate) if n.node.name == "5栋"]
    assert node.level == "building" and node.object_id is not None
    obj = p.objects.get(node.object_id)
    assert obj.class_code == "050101" and obj.attributes["floors"] == 6 and obj.attributes["use"] == "住宅"
    assert obj.department_id == p.access.department("zjj").id
    with p.store.read() as conn:
        row = conn.execute(select(house).where(house.c.address_node_id == node.id)).one()
    assert row.use == "residential" and row.level == "building"


@pytest.mark.parametrize(
    ("collected", "field"),
    [
        ({"name": "6栋", "floors": 6, "footprint": {"type": "Point", "coordinates": [112.14, 32.01]}}, "footprint"),
        ({"name": "6栋", "floors": 0, "footprint": FOOTPRINT, "use": "residential"}, "floors"),
        ({"name": "6栋", "floors": 6, "footprint": FOOTPRINT}, "use"),  # the house registry requires its use
    ],
)
def test_a_bad_new_building_changes_nothing(world: World, collected: dict[str, Any], field: str) -> None:
    p = world.platform
    before = _buildings(p)
    task = _reviewed(world, collected)
    with pytest.raises(InvalidInputError) as caught:
        world.act("zjj_user", task, "accept")
    assert field in {i.field for i in caught.value.issues}
    assert _buildings(p) == before
    assert p.collect.get(SYSTEM, task.id).state == "first_approved"
    assert not [n for n in p.addresses.children(world.tree.plate) if n.node.name == "6栋"]
