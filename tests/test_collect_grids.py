"""The loop with the real grid service on both databases: a task goes to the worker of the grid holding
it; the street's reviewer (a member of an ancestor grid) reviews it; other grids see nothing."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from citybase.domains.access import SYSTEM
from citybase.domains.grids import NewGrid
from citybase.kernel.errors import PermissionDeniedError
from citybase.platform import Platform
from tests.test_collect import World, build_world


@pytest.fixture
def gridded(platform: Platform) -> tuple[World, int, int]:
    return build_gridded(platform)


def build_gridded(platform: Platform) -> tuple[World, int, int]:
    """The test world on the real grid service: grids A and B of one street, worker_a and worker_b, and
    reviewer_a reviewing the street; returns the world and the two grid ids."""
    w = build_world(platform)
    g = platform.grids
    platform.collect.use_grids(g)  # build_world put in the fixed test grids; back to the real service
    district = g.create(SYSTEM, NewGrid("district", "襄城区", box(112.0, 31.9, 112.3, 32.2), division_code="420602"))
    street = g.create(
        SYSTEM, NewGrid("street", "真武山街道", box(112.05, 31.95, 112.25, 32.15), district.id, None, "420602001")
    )
    community = g.create(
        SYSTEM,
        NewGrid("community", "檀溪社区", box(112.05, 31.95, 112.25, 32.15), street.id, None, "420602001001"),
    )
    a = g.create(SYSTEM, NewGrid("grid", "第一网格", box(112.10, 32.00, 112.15, 32.05), community.id))
    b = g.create(SYSTEM, NewGrid("grid", "第二网格", box(112.15, 32.00, 112.20, 32.05), community.id))
    for user, grid_id, duty in (("worker_a", a.id, "worker"), ("worker_b", b.id, "worker"),
                                ("reviewer_a", street.id, "reviewer")):  # fmt: skip
        g.assign(SYSTEM, grid_id, w[user].user_id or 0, duty)
    return w, a.id, b.id


def test_tasks_go_to_the_grid_worker_and_the_street_reviews(gridded: tuple[World, int, int]) -> None:
    w, grid_a, grid_b = gridded
    c = w.platform.collect
    task = w.rename_task(by="mzj_user")  # the door plate 57号 lies in grid A
    assert (task.grid_id, task.assignee_id) == (grid_a, w["worker_a"].user_id)
    other = c.create_task(w["mzj_user"], kind="address.report", title="门牌破损", point=(112.17, 32.02))
    assert (other.grid_id, other.assignee_id) == (grid_b, w["worker_b"].user_id)
    assert {t.id for t in c.list_tasks(w["worker_a"])[0]} == {task.id}
    assert {t.id for t in c.list_tasks(w["reviewer_a"])[0]} == {task.id, other.id}  # the whole street
    assert c.list_tasks(w["reviewer_b"])[1] == 0  # a reviewer of no grid sees only unlocated tasks
    with pytest.raises(PermissionDeniedError):
        w.act("worker_b", task, "submit", collected={"name": "59号"})
    task = w.act("worker_a", task, "submit", collected={"name": "59号"})
    with pytest.raises(PermissionDeniedError):
        w.act("reviewer_b", task, "approve")
    task = w.act("reviewer_a", task, "approve")
    task = w.act("mzj_user", task, "accept")
    assert w.platform.addresses.node(w.tree.plate).name == "59号"
    gaps = {g.id: (g.name, g.total) for g in c.gaps(w["reviewer_a"])}
    assert gaps == {grid_b: ("第二网格", 1)}
