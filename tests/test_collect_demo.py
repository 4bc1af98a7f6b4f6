"""The demo city's tasks on both databases: several grids and states, and each demo account's queue."""

from __future__ import annotations

from citybase.demo import build_demo
from citybase.domains.access import SYSTEM, Actor
from citybase.platform import Platform


def actor(platform: Platform, username: str) -> Actor:
    u = platform.access.user(username)
    return Actor(u.username, "user", u.role, u.department_id, u.id)


def test_demo_tasks(platform: Platform) -> None:
    report = build_demo(platform, "tiny")
    c = platform.collect
    tasks, total = c.list_tasks(SYSTEM, limit=1000)
    assert total == report.registries["tasks"] >= 6
    assert {"open", "submitted", "first_approved", "returned"} <= {t.state for t in tasks}
    assert len({t.grid_id for t in tasks}) >= 2
    moved = [c.get(SYSTEM, t.id) for t in tasks if t.state == "open" and t.version == 2]
    assert any(e.action == "reassign" for t in moved for e in t.events)  # the street reassigned one
    assert c.list_tasks(actor(platform, "grid_worker1"), mine=True)[1] >= 2
    assert c.list_tasks(actor(platform, "reviewer1"), queue="first")[1] >= 1
    second = c.list_tasks(actor(platform, "mzj_user"), queue="second")[0]
    assert second and all(t.kind.startswith("address.") for t in second)
    assert c.list_tasks(actor(platform, "zjj_user"))[1] >= 1 and c.list_tasks(actor(platform, "gaj_user"))[1] >= 1
    # the department accepts one: the door plate is renamed
    task = second[0]
    done = c.act(actor(platform, "mzj_user"), task.id, "accept", version=task.version)
    assert done.state == "accepted"
    assert platform.addresses.node(task.address_node_id or 0).name == (task.collected or {})["name"]
    ages = {k: sum(g.ages[k] for g in c.gaps(SYSTEM)) for k in ("le_7d", "d8_30", "gt_30d")}
    assert all(ages.values()), ages
