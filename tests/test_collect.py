"""The collection loop on both databases: create → assign by grid → submit → 初审 → 复审 → applied.

Also: returns with reasons, bad input, stale versions, double reviews, scopes, rollback when the applier
fails. ``World`` builds a small city: two grids in two streets, a worker and a reviewer for each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import Connection, select

from citybase.domains.access import ANONYMOUS, SYSTEM, Actor, Role
from citybase.domains.collect import Task
from citybase.kernel.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
)
from citybase.platform import Platform
from citybase.store.collect_tables import collect_task_event
from tests.address_tree_helpers import SmallTree, small_tree
from tests.helpers import add_department, add_user

PASSWORD = "user-pass-123"
STREET_A, STREET_B, GRID_A, GRID_B = 1, 2, 11, 21


class StaticGrids:
    """Two streets with one grid each (the grids domain's part, fixed for these tests)."""

    def __init__(self, users: dict[str, int], plates: dict[int, int]) -> None:
        self.plates = plates
        self.workers = {GRID_A: users["worker_a"], GRID_B: users["worker_b"]}
        self.duties = {
            (users["worker_a"], "worker"): {GRID_A},
            (users["worker_b"], "worker"): {GRID_B},
            (users["reviewer_a"], "reviewer"): {STREET_A, GRID_A},
            (users["reviewer_b"], "reviewer"): {STREET_B, GRID_B},
        }

    def grid_at(self, conn: Connection, lon: float, lat: float) -> int | None:
        return GRID_B if lon > 113 else None

    def grid_of_address(self, conn: Connection, node_id: int) -> int | None:
        return self.plates.get(node_id)

    def worker_of(self, conn: Connection, grid_id: int) -> int | None:
        return self.workers.get(grid_id)

    def grids_of(self, conn: Connection, user_id: int, duty: str) -> frozenset[int]:
        return frozenset(self.duties.get((user_id, duty), set()))

    def workers_in(self, conn: Connection, grid_ids: frozenset[int]) -> frozenset[int]:
        return frozenset(u for (u, duty), grids in self.duties.items() if duty == "worker" and grids & grid_ids)


@dataclass
class World:
    platform: Platform
    tree: SmallTree
    actors: dict[str, Actor]

    def __getitem__(self, name: str) -> Actor:
        return self.actors[name]

    def rename_task(self, name: str = "59号", by: str = "reviewer_a") -> Task:
        return self.platform.collect.create_task(
            self.actors[by],
            kind="address.rename",
            title="门牌变更：长虹路57号",
            detail={"reported": "门牌已改为59号"},
            address_node_id=self.tree.plate,
        )

    def act(self, who: str, task: Task, action: str, **kw: object) -> Task:
        return self.platform.collect.act(self.actors[who], task.id, action, version=task.version, **kw)  # type: ignore[arg-type]


def build_world(platform: Platform) -> World:
    for code, name in (("mzj", "民政局"), ("zjj", "住建局"), ("gaj", "公安局"), ("zwsjd", "真武山街道")):
        add_department(platform, code, name)
    accounts = {
        "worker_a": ("grid_worker", "zwsjd"),
        "worker_b": ("grid_worker", "zwsjd"),
        "reviewer_a": ("reviewer", "zwsjd"),
        "reviewer_b": ("reviewer", "zwsjd"),
        "mzj_user": ("department_user", "mzj"),
        "zjj_user": ("department_user", "zjj"),
        "gaj_user": ("department_user", "gaj"),
        "viewer": ("viewer", None),
    }
    actors: dict[str, Actor] = {}
    for username, (role, dept) in accounts.items():
        add_user(platform, username, role, dept, PASSWORD)
        u = platform.access.user(username)
        actors[username] = Actor(username, "user", u.role, u.department_id, u.id)
    tree = small_tree(platform)
    users = {k: a.user_id for k, a in actors.items() if a.user_id is not None}
    platform.collect.use_grids(StaticGrids(users, {tree.plate: GRID_A, tree.building: GRID_A, tree.room: GRID_A}))
    return World(platform, tree, actors)


@pytest.fixture
def world(platform: Platform) -> World:
    return build_world(platform)


def events(platform: Platform, task_id: int) -> list[str]:
    with platform.store.read() as conn:
        q = select(collect_task_event.c.action).where(collect_task_event.c.task_id == task_id)
        return [r[0] for r in conn.execute(q.order_by(collect_task_event.c.id))]


# --- the loop ----------------------------------------------------------------------------------------


def test_the_whole_loop_renames_the_door_plate(world: World) -> None:
    p = world.platform
    task = world.rename_task()
    assert (task.state, task.grid_id, task.assignee_id) == ("open", GRID_A, world["worker_a"].user_id)
    assert task.department_id == p.access.department("mzj").id
    assert task.lon is not None  # located at the door plate's point
    task = p.collect.submit(world["worker_a"], task.id, version=task.version, collected={"name": "59号"})
    assert task.state == "submitted" and task.collected == {"name": "59号"}
    task = world.act("reviewer_a", task, "approve")
    assert task.state == "first_approved"
    assert p.addresses.node(world.tree.plate).name == "57号"  # nothing applied before 复审
    task = world.act("mzj_user", task, "accept")
    assert (task.state, task.version) == ("accepted", 4)
    assert p.addresses.node(world.tree.plate).name == "59号"
    assert [e.action for e in task.events] == ["create", "submit", "approve", "accept"]
    assert task.events[-1].detail == {"result": {"node_id": world.tree.plate, "name": "59号"}}
    assert ("57号", "old") in p.addresses.aliases(world.tree.plate)  # history kept by the address tree


def test_returned_tasks_carry_the_reason_and_can_be_resubmitted(world: World) -> None:
    p = world.platform
    task = world.rename_task()
    task = world.act("worker_a", task, "submit", collected={"name": "5 9号"})
    task = world.act("reviewer_a", task, "return", reason="门牌号有空格，请核实")
    assert task.state == "returned" and task.last_reason == "门牌号有空格，请核实"
    mine, _ = p.collect.list_tasks(world["worker_a"], mine=True, state="returned")
    assert [t.id for t in mine] == [task.id]
    task = world.act("worker_a", task, "submit", collected={"name": "59号"})
    task = world.act("reviewer_a", task, "approve")
    task = world.act("mzj_user", task, "return", reason="请补充现场照片")
    assert task.state == "returned"
    task = world.act("worker_a", task, "submit", collected={"name": "59号", "photo": "p.jpg"})
    task = world.act("reviewer_a", task, "approve")
    task = world.act("mzj_user", task, "reject", reason="门牌未变更")
    assert task.state == "rejected" and p.addresses.node(world.tree.plate).name == "57号"


def test_a_failing_applier_changes_nothing(world: World) -> None:
    p = world.platform
    p.addresses.create(SYSTEM, world.tree.road, "door_number", "58号")
    task = world.rename_task()
    task = world.act("worker_a", task, "submit", collected={"name": "58号"})  # the sibling's name
    task = world.act("reviewer_a", task, "approve")
    with pytest.raises(ConflictError, match="already named"):
        world.act("mzj_user", task, "accept")
    again = p.collect.get(world["mzj_user"], task.id)
    assert (again.state, again.version) == ("first_approved", task.version)
    assert events(p, task.id) == ["create", "submit", "approve"]
    assert p.addresses.node(world.tree.plate).name == "57号"


def test_a_bad_collected_value_is_named(world: World) -> None:
    task = world.rename_task()
    task = world.act("worker_a", task, "submit", collected={"name": ""})
    task = world.act("reviewer_a", task, "approve")
    with pytest.raises(InvalidInputError) as exc:
        world.act("mzj_user", task, "accept")
    assert exc.value.issues[0].field == "name" and exc.value.issues[0].record == f"task {task.id}"


# --- bad input, double reviews, stale versions ------------------------------------------------------------


def test_rejections_and_returns_need_a_reason(world: World) -> None:
    task = world.act("worker_a", world.rename_task(), "submit", collected={"name": "59号"})
    for action in ("reject", "return"):
        with pytest.raises(InvalidInputError) as exc:
            world.act("reviewer_a", task, action, reason="  ")
        assert exc.value.issues[0].field == "reason" and exc.value.issues[0].record == f"task {task.id}"
    with pytest.raises(InvalidInputError):
        world.act("reviewer_a", task, "dance")


def test_reviewing_a_reviewed_task_is_a_conflict(world: World) -> None:
    task = world.act("worker_a", world.rename_task(), "submit", collected={"name": "59号"})
    approved = world.act("reviewer_a", task, "approve")
    with pytest.raises(ConflictError, match="already first_approved"):
        world.act("reviewer_a", approved, "approve")
    accepted = world.act("mzj_user", approved, "accept")
    with pytest.raises(ConflictError, match="already accepted"):
        world.act("mzj_user", accepted, "accept")
    with pytest.raises(ConflictError, match="already accepted"):
        world.act("reviewer_a", accepted, "return", reason="晚了")


def test_a_stale_version_is_a_conflict(world: World) -> None:
    task = world.rename_task()
    world.act("worker_a", task, "submit", collected={"name": "59号"})
    stale = world.platform.collect.get(world["worker_a"], task.id)
    world.act("reviewer_a", stale, "return", reason="再核实")
    with pytest.raises(ConflictError, match="has changed"):
        world.act("worker_a", stale, "submit", collected={"name": "60号"})


def test_task_input_is_checked(world: World) -> None:
    c, reviewer = world.platform.collect, world["reviewer_a"]
    cases: list[tuple[dict[str, object], str]] = [
        ({"kind": "castle.build"}, "kind"),
        ({"title": " "}, "title"),
        ({"source": "rumour"}, "source"),
        ({"point": (500, 1)}, "point"),
        ({"address_node_id": 999_999}, "address_node_id"),
        ({"detail": {"x": "y" * 20_000}}, "detail"),
        ({"detail": ["not", "an", "object"]}, "detail"),
        ({"due_at": datetime(2026, 12, 31, 18)}, "due_at"),  # no time zone
    ]
    for extra, field in cases:
        args: dict[str, object] = {"kind": "address.report", "title": "问题", **extra}
        with pytest.raises(InvalidInputError) as exc:
            c.create_task(reviewer, **args)  # type: ignore[arg-type]
        assert exc.value.issues[0].field == field, extra
    assert c.list_tasks(SYSTEM)[1] == 0  # nothing half-written


def test_citizen_reports_are_size_limited_and_flood_limited(world: World) -> None:
    c = world.platform.collect
    with pytest.raises(InvalidInputError):
        c.create_task(ANONYMOUS, kind="address.report", source="scan", title="门牌错误", detail={"t": "字" * 1000})
    with pytest.raises(AuthenticationError):
        c.create_task(ANONYMOUS, kind="address.report", title="门牌错误")  # only scan reports are anonymous
    for _ in range(5):
        c.create_task(
            ANONYMOUS, kind="address.report", source="scan", title="门牌错误", address_node_id=world.tree.plate
        )
    with pytest.raises(ConflictError, match="open reports"):
        c.create_task(
            ANONYMOUS, kind="address.report", source="scan", title="门牌错误", address_node_id=world.tree.plate
        )


# --- scopes ------------------------------------------------------------------------------------------


def test_each_role_sees_and_acts_only_within_its_scope(world: World) -> None:
    c = world.platform.collect
    task = world.rename_task()
    other = c.create_task(world["reviewer_b"], kind="house.update", title="房屋用途变更", point=(113.5, 32.0))
    assert other.grid_id == GRID_B and other.department_id == world.platform.access.department("zjj").id
    seen = {name: {t.id for t in c.list_tasks(world[name])[0]} for name in world.actors}
    assert seen["worker_a"] == {task.id} and seen["worker_b"] == {other.id}
    assert seen["reviewer_a"] == {task.id} and seen["reviewer_b"] == {other.id}
    assert seen["mzj_user"] == {task.id} and seen["zjj_user"] == {other.id}
    assert seen["viewer"] == set()
    with pytest.raises(PermissionDeniedError):
        c.get(world["worker_b"], task.id)
    with pytest.raises(PermissionDeniedError):
        world.act("worker_b", task, "submit", collected={"name": "59号"})
    with pytest.raises(PermissionDeniedError):
        world.act("reviewer_a", task, "submit", collected={"name": "59号"})  # reviewers do not collect
    task = world.act("worker_a", task, "submit", collected={"name": "59号"})
    for who in ("reviewer_b", "worker_a", "mzj_user"):
        with pytest.raises(PermissionDeniedError):
            world.act(who, task, "approve")
    task = world.act("reviewer_a", task, "approve")
    for who in ("zjj_user", "reviewer_a", "worker_a"):
        with pytest.raises(PermissionDeniedError):
            world.act(who, task, "accept")
    with pytest.raises(AuthenticationError):
        c.list_tasks(Actor("anonymous", "anonymous"))


def test_a_task_outside_any_worker_is_unassigned_and_seen_by_the_street(world: World) -> None:
    c = world.platform.collect
    task = c.create_task(world["mzj_user"], kind="address.new", title="新增门牌", detail={"name": "61号"})
    assert task.grid_id is None and task.assignee_id is None
    assert task.id in {t.id for t in c.list_tasks(world["reviewer_b"])[0]}
    assert task.id not in {t.id for t in c.list_tasks(world["worker_a"])[0]}
    task = world.act("mzj_user", task, "submit", collected={"name": "61号", "level": "door_number"})
    assert task.assignee_id == world["mzj_user"].user_id  # a department collector took it
    task = world.act("reviewer_b", task, "approve")
    with pytest.raises(PermissionDeniedError, match="another person"):  # four eyes
        world.act("mzj_user", task, "accept")
    mzj_admin = Actor("mzj_admin", "user", Role.DEPARTMENT_ADMIN, world["mzj_user"].department_id, 999)
    with pytest.raises(InvalidInputError):  # no parent given: the applier names the field
        world.platform.collect.act(mzj_admin, task.id, "accept", version=task.version)


def test_queues_list_what_awaits_each_review(world: World) -> None:
    c = world.platform.collect
    a = world.act("worker_a", world.rename_task(), "submit", collected={"name": "59号"})
    b = world.rename_task()
    assert [t.id for t in c.list_tasks(world["reviewer_a"], queue="first")[0]] == [a.id]
    world.act("reviewer_a", a, "approve")
    assert [t.id for t in c.list_tasks(world["mzj_user"], queue="second")[0]] == [a.id]
    assert c.list_tasks(world["mzj_user"], queue="first")[1] == 0
    assert {t.id for t in c.list_tasks(world["worker_a"], queue="open")[0]} == {a.id, b.id}
    with pytest.raises(InvalidInputError):
        c.list_tasks(world["worker_a"], queue="third")
