"""Task sources and the errors-and-gaps list, on both databases: unmatched addresses from the review
queue, quality rules (idempotent), counts per grid and department with ageing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from citybase.domains.access import SYSTEM
from citybase.domains.collect import run_rules, tasks_from_address_review
from citybase.kernel.errors import ConflictError, InvalidInputError, PermissionDeniedError
from citybase.platform import Platform
from citybase.store.address_match_tables import address_review
from citybase.store.collect_tables import collect_task
from tests.test_collect import GRID_A, GRID_B, World, build_world


@pytest.fixture
def world(platform: Platform) -> World:
    return build_world(platform)


def queue_unmatched(w: World, text: str = "长虹路五十七号檀溪花园") -> int:
    with w.platform.store.write() as conn:
        row = {
            "text": text, "status": "ambiguous", "score": 0.6, "level": "road", "node_id": w.tree.plate,
            "explanation": "two candidates", "candidates": [{"node_id": w.tree.plate, "level": "door_number",
            "score": 0.6}], "source": "api", "state": "open", "created_at": datetime.now(UTC), "created_by": "t",
        }  # fmt: skip
        return int(conn.execute(address_review.insert().values(**row)).inserted_primary_key[0])  # type: ignore[index]


def test_unmatched_addresses_become_tasks_once_and_resolve_the_review_row(world: World) -> None:
    p = world.platform
    review_id = queue_unmatched(world)
    with pytest.raises(PermissionDeniedError):
        tasks_from_address_review(p.collect, world["reviewer_a"])
    assert tasks_from_address_review(p.collect, SYSTEM) == 1
    assert tasks_from_address_review(p.collect, SYSTEM) == 0  # linked by source_ref: no duplicate
    [task], _ = p.collect.list_tasks(world["worker_a"])
    assert (task.kind, task.source, task.source_ref) == ("address.unmatched", "match", f"address_review:{review_id}")
    assert task.grid_id == GRID_A and task.detail["review_id"] == review_id
    task = world.act("worker_a", task, "submit", collected={"node_id": world.tree.building})
    task = world.act("reviewer_a", task, "approve")
    task = world.act("mzj_user", task, "accept")
    item = p.address_review.get(review_id)
    assert (item.state, item.resolved_node_id) == ("resolved", world.tree.building)


def test_a_review_row_closed_meanwhile_stops_the_acceptance(world: World) -> None:
    p = world.platform
    review_id = queue_unmatched(world)
    tasks_from_address_review(p.collect, SYSTEM)
    [task], _ = p.collect.list_tasks(SYSTEM)
    task = world.act("worker_a", task, "submit", collected={"dismiss": True})
    task = world.act("reviewer_a", task, "approve")
    p.address_review.close(SYSTEM, review_id, node_id=world.tree.plate)
    with pytest.raises(ConflictError, match="no longer open"):
        world.act("mzj_user", task, "accept")
    assert p.collect.get(SYSTEM, task.id).state == "first_approved"


def test_rules_find_buildings_without_rooms_once(world: World) -> None:
    p = world.platform
    empty = p.addresses.create(SYSTEM, world.tree.compound, "building", "5栋").id
    rule = ["building_without_rooms"]
    [run] = run_rules(p.collect, SYSTEM, rule)
    assert (run.rule, run.found, run.created) == ("building_without_rooms", 1, 1)
    [again] = run_rules(p.collect, SYSTEM, rule)
    assert (again.found, again.created) == (1, 0)
    [task], _ = p.collect.list_tasks(SYSTEM, kind="house.no_rooms")
    assert task.address_node_id == empty and task.source_ref == f"rule:building_without_rooms:{empty}"
    assert task.department_id == p.access.department("zjj").id
    with pytest.raises(InvalidInputError):
        run_rules(p.collect, SYSTEM, ["no_such_rule"])
    with pytest.raises(PermissionDeniedError):
        run_rules(p.collect, world["worker_a"])


def test_gaps_count_open_tasks_by_grid_department_kind_and_age(world: World) -> None:
    p, c = world.platform, world.platform.collect
    a1, a2 = world.rename_task(), world.rename_task()
    b = c.create_task(world["reviewer_b"], kind="house.update", title="房屋用途变更", point=(113.5, 32.0))
    done = c.create_task(world["reviewer_b"], kind="house.update", title="已撤销", point=(113.5, 32.0))
    c.act(world["reviewer_b"], done.id, "cancel", version=1, reason="重复")
    now = datetime.now(UTC)
    with p.store.write() as conn:
        conn.execute(update(collect_task).where(collect_task.c.id == a2.id).values(created_at=now - timedelta(days=10)))
        conn.execute(update(collect_task).where(collect_task.c.id == b.id).values(created_at=now - timedelta(days=40)))
    rows = {g.id: g for g in c.gaps(SYSTEM, by="grid")}
    assert rows[GRID_A].total == 2 and rows[GRID_A].by_kind == {"address.rename": 2}
    assert rows[GRID_A].ages == {"le_7d": 1, "d8_30": 1, "gt_30d": 0}
    assert rows[GRID_B].total == 1 and rows[GRID_B].ages["gt_30d"] == 1  # the cancelled one is not counted
    depts = {g.id: (g.name, g.total) for g in c.gaps(SYSTEM, by="department")}
    assert depts == {p.access.department("mzj").id: ("民政局", 2), p.access.department("zjj").id: ("住建局", 1)}
    assert [g.id for g in c.gaps(world["reviewer_b"])] == [GRID_B]  # a street sees its own grids only
    assert [g.id for g in c.gaps(world["mzj_user"], by="department")] == [p.access.department("mzj").id]
    with pytest.raises(InvalidInputError):
        c.gaps(SYSTEM, by="street")
    with p.store.read() as conn:
        assert conn.execute(select(collect_task.c.id).where(collect_task.c.id == a1.id)).first() is not None
