"""The loop over the 三实 registries on both databases: an accepted move-in task moves the person in through
the people registry's applier (公安 reviews it); the retired-room rule finds people in retired rooms once."""

from __future__ import annotations

from datetime import date

import pytest

from citybase.demo.people import fake_citizen_id
from citybase.domains.access import SYSTEM
from citybase.domains.collect import run_rules
from citybase.kernel.errors import ConflictError, PermissionDeniedError
from citybase.platform import Platform
from tests.test_collect import World, build_world

ADULT = fake_citizen_id("420602", date(1985, 3, 14), 997)


@pytest.fixture
def world(platform: Platform) -> World:
    return build_world(platform)


def test_an_accepted_move_in_task_moves_the_person_in(world: World) -> None:
    p = world.platform
    person = p.people.register(SYSTEM, {"id_number": ADULT, "name": "李四", "phone": "13812345678"})
    task = p.collect.create_task(
        world["reviewer_a"], kind="people.move_in", title="新迁入住户登记", address_node_id=world.tree.room
    )
    assert task.department_id == p.access.department("gaj").id and task.assignee_id == world["worker_a"].user_id
    task = world.act("worker_a", task, "submit", collected={"person_id": person["id"], "move_in": "2026-12-01"})
    task = world.act("reviewer_a", task, "approve")
    with pytest.raises(PermissionDeniedError):
        world.act("mzj_user", task, "accept")  # addresses' department, not the police's
    task = world.act("gaj_user", task, "accept")
    assert task.state == "accepted"
    with p.store.read() as conn:
        home = p.people.residents_at(conn, SYSTEM, [world.tree.room])
    assert [r["id"] for r in home] == [person["id"]]


def test_a_failing_registry_applier_changes_nothing(world: World) -> None:
    p = world.platform
    person = p.people.register(
        SYSTEM, {"id_number": ADULT, "name": "李四", "phone": "13812345678", "address_node_id": world.tree.room}
    )
    task = p.collect.create_task(SYSTEM, kind="people.move_in", title="迁入", address_node_id=world.tree.room)
    task = world.act("worker_a", task, "submit", collected={"person_id": person["id"], "move_in": "2026-12-01"})
    task = world.act("reviewer_a", task, "approve")
    with pytest.raises(ConflictError, match="one place at a time"):  # already lives there
        world.act("gaj_user", task, "accept")
    assert p.collect.get(SYSTEM, task.id).state == "first_approved"


def test_people_in_retired_rooms_are_found_once(world: World) -> None:
    p = world.platform
    p.people.register(
        SYSTEM, {"id_number": ADULT, "name": "李四", "phone": "13812345678", "address_node_id": world.tree.room}
    )
    assert run_rules(p.collect, SYSTEM, ["people_in_retired_rooms"])[0].found == 0
    p.addresses.retire(SYSTEM, world.tree.room)
    [run] = run_rules(p.collect, SYSTEM, ["people_in_retired_rooms"])
    assert (run.found, run.created) == (1, 1)
    assert run_rules(p.collect, SYSTEM, ["people_in_retired_rooms"])[0].created == 0
    [task], _ = p.collect.list_tasks(world["gaj_user"], kind="people.retired_room")
    assert "李" not in task.title and task.address_node_id == world.tree.room  # no personal data in the title
