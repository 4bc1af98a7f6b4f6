"""Reassigning tasks (改派) with the real grid service, on both databases: the street moves an open task to
another worker of its grids (or a collector of the task's department, or back to the pool) with a reason
kept in the history; who may, to whom, and in which states."""

from __future__ import annotations

from typing import Any

import pytest

from citybase.domains.access import SYSTEM
from citybase.kernel.errors import ConflictError, InvalidInputError, PermissionDeniedError
from citybase.platform import Platform
from tests.helpers import Api
from tests.test_collect import World
from tests.test_collect_api import as_user, ok
from tests.test_collect_grids import build_gridded

Gridded = tuple[World, int, int]


@pytest.fixture
def gridded(platform: Platform) -> Gridded:
    return build_gridded(platform)


def _reassign(w: World, who: str, task: Any, to: str | None, reason: Any = "请假，改派") -> Any:
    assignee = w[to].user_id if to is not None else None
    return w.platform.collect.reassign(w[who], task.id, version=task.version, assignee_id=assignee, reason=reason)


def test_the_street_moves_a_task_to_another_worker_with_the_reason_in_its_history(gridded: Gridded) -> None:
    w, grid_a, _ = gridded
    c = w.platform.collect
    task = w.rename_task(by="mzj_user")
    assert (task.grid_id, task.assignee_id) == (grid_a, w["worker_a"].user_id)
    moved = _reassign(w, "reviewer_a", task, "worker_b")
    assert (moved.state, moved.version, moved.assignee_id) == ("open", task.version + 1, w["worker_b"].user_id)
    last = moved.events[-1]
    assert (last.action, last.from_state, last.to_state, last.reason) == ("reassign", "open", "open", "请假，改派")
    assert last.detail == {"from": w["worker_a"].user_id, "to": w["worker_b"].user_id}
    assert [t.id for t in c.list_tasks(w["worker_b"], mine=True)[0]] == [task.id]
    assert c.list_tasks(w["worker_a"], mine=True)[1] == 0
    done = w.act("worker_b", moved, "submit", collected={"name": "59号"})
    assert done.state == "submitted" and done.assignee_id == w["worker_b"].user_id
    back = _reassign(w, "reviewer_a", w.rename_task(by="mzj_user"), None)  # to the grid's pool
    assert back.assignee_id is None and back.events[-1].detail == {"from": w["worker_a"].user_id, "to": None}


def test_only_the_street_or_an_admin_reassigns_and_only_to_collectors_it_may_use(gridded: Gridded) -> None:
    w, _, _ = gridded
    task = w.rename_task(by="mzj_user")  # an address task: the department is 民政 (mzj)
    for who in ("worker_a", "reviewer_b", "mzj_user"):
        with pytest.raises(PermissionDeniedError):
            _reassign(w, who, task, "worker_b")
    for to, says in (("reviewer_b", "does not collect"), ("zjj_user", "works none of your grids")):
        with pytest.raises(InvalidInputError) as err:
            _reassign(w, "reviewer_a", task, to)
        assert err.value.issues[0].field == "assignee_id" and says in err.value.issues[0].reason
    with pytest.raises(InvalidInputError) as err:
        w.platform.collect.reassign(w["reviewer_a"], task.id, version=task.version, assignee_id=987654, reason="x")
    assert "no active user 987654" in err.value.issues[0].reason
    with pytest.raises(InvalidInputError) as err:
        _reassign(w, "reviewer_a", task, "worker_a")
    assert "already with" in err.value.issues[0].reason
    with pytest.raises(InvalidInputError) as err:
        _reassign(w, "reviewer_a", task, "worker_b", reason="  ")
    assert err.value.issues[0].field == "reason"
    moved = _reassign(w, "reviewer_a", task, "mzj_user")  # a collector of the task's own department
    assert moved.assignee_id == w["mzj_user"].user_id
    admin = w.platform.collect.reassign(SYSTEM, task.id, version=moved.version, assignee_id=w["zjj_user"].user_id,
                                        reason="管理员改派")  # fmt: skip
    assert admin.assignee_id == w["zjj_user"].user_id


def test_a_submitted_or_stale_task_is_not_reassigned(gridded: Gridded) -> None:
    w, _, _ = gridded
    task = w.rename_task(by="mzj_user")
    with pytest.raises(ConflictError, match="version"):
        w.platform.collect.reassign(w["reviewer_a"], task.id, version=task.version + 5, assignee_id=None, reason="x")
    submitted = w.act("worker_a", task, "submit", collected={"name": "59号"})
    with pytest.raises(ConflictError, match="only an open or returned task"):
        _reassign(w, "reviewer_a", submitted, "worker_b")
    returned = w.act("reviewer_a", submitted, "return", reason="照片不清")
    assert _reassign(w, "reviewer_a", returned, "worker_b").state == "returned"


def test_reassign_over_http(api: Api, platform: Platform, gridded: Gridded) -> None:
    w, _, _ = gridded
    task = w.rename_task(by="mzj_user")
    as_user(api, "reviewer_a")
    body = {"version": task.version, "assignee_id": w["worker_b"].user_id, "reason": "请假"}
    choices = ok(api.get(f"/api/tasks/{task.id}/assignees"))["items"]
    assert {c["username"] for c in choices} == {"worker_a", "worker_b", "mzj_user"}
    moved = ok(api.post(f"/api/tasks/{task.id}/reassign", json=body))
    assert moved["assignee_id"] == w["worker_b"].user_id and moved["events"][-1]["action"] == "reassign"
    stale = api.post(f"/api/tasks/{task.id}/reassign", json=body)
    assert stale.status_code == 409
    as_user(api, "worker_b")
    denied = api.post(f"/api/tasks/{task.id}/reassign", json={**body, "version": moved["version"]})
    assert denied.status_code == 403
    as_user(api, "reviewer_a")
    bad = api.post(f"/api/tasks/{task.id}/reassign", json={**body, "version": moved["version"], "reason": ""})
    assert bad.status_code == 400 and bad.json()["issues"][0]["field"] == "reason"


def test_the_choice_list_holds_the_streets_workers_and_the_tasks_department(gridded: Gridded) -> None:
    w, _, _ = gridded
    c = w.platform.collect
    task = w.rename_task(by="mzj_user")
    names = [(a["username"], a["assigned"]) for a in c.assignees(w["reviewer_a"], task.id)]
    assert sorted(names) == [("mzj_user", False), ("worker_a", True), ("worker_b", False)]
    everyone = {a["username"] for a in c.assignees(SYSTEM, task.id)}  # admins: every active collector
    assert {"worker_a", "worker_b", "mzj_user", "zjj_user", "gaj_user"} <= everyone and "reviewer_a" not in everyone
    with pytest.raises(PermissionDeniedError):
        c.assignees(w["worker_a"], task.id)
    for pick in c.assignees(w["reviewer_a"], task.id):  # every name on the list is accepted
        if not pick["assigned"]:
            task = c.reassign(w["reviewer_a"], task.id, version=task.version, assignee_id=pick["id"], reason="轮换")
    assert task.assignee_id is not None and task.version == 3


def test_a_worker_leaving_a_grid_leaves_its_open_tasks_to_the_next_worker_or_the_pool(gridded: Gridded) -> None:
    w, grid_a, grid_b = gridded
    c, g = w.platform.collect, w.platform.grids
    first, second, third = (w.rename_task(by="mzj_user") for _ in range(3))
    w.act("worker_a", second, "submit", collected={"name": "59号"})  # with the reviewers now: it stays
    g.assign(SYSTEM, grid_a, w["worker_b"].user_id or 0, "worker")  # a second worker joins grid A
    g.unassign(SYSTEM, grid_a, w["worker_a"].user_id or 0, "worker")
    moved = c.get(SYSTEM, first.id)
    assert (moved.assignee_id, moved.version, moved.state) == (w["worker_b"].user_id, 2, "open")
    last = moved.events[-1]
    assert last.action == "reassign" and last.detail == {"from": w["worker_a"].user_id, "to": w["worker_b"].user_id,
                                                         "auto": True}  # fmt: skip
    assert "调离" in (last.reason or "")
    assert c.get(SYSTEM, second.id).assignee_id == w["worker_a"].user_id  # submitted: not moved
    assert c.get(SYSTEM, third.id).assignee_id == w["worker_b"].user_id
    g.unassign(SYSTEM, grid_a, w["worker_b"].user_id or 0, "worker")  # nobody left in A: to the pool
    assert c.get(SYSTEM, first.id).assignee_id is None
    other = c.create_task(w["mzj_user"], kind="address.report", title="门牌破损", point=(112.17, 32.02))
    assert other.grid_id == grid_b and other.assignee_id == w["worker_b"].user_id  # grid B's tasks are untouched
