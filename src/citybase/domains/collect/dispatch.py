"""Reassigning a task (改派): a street reviewer gives an open or returned task to another collector.

A task is assigned by its grid when it is created; when that worker is away or has left the grid, the
street moves the task to a worker of its own grids (or to a collector of the task's department), or back
to the grid's pool (no assignee: every worker of the grid and the street see it). Platform admins may
give it to any active collector. The task keeps its state; the move is a ``reassign`` event with the
reason and the old and new assignee, and bumps the version like every other step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, false, or_, select, update

from citybase.domains.access import Actor, Permission, Role
from citybase.domains.collect import checks
from citybase.domains.collect.model import Task
from citybase.domains.collect.scope import Scope, is_manager
from citybase.domains.collect.store_io import add_event, load
from citybase.kernel.errors import ConflictError
from citybase.store.collect_tables import collect_task
from citybase.store.schema import app_user

REASSIGNABLE = ("open", "returned")  # once submitted, the task is with the reviewers


def _collector(conn: Connection, user_id: Any, record: str) -> Actor:
    """The active user ``user_id`` as an actor, if their role may collect."""
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise checks.bad(record, "assignee_id", f"{user_id!r} is not a user id")
    u = conn.execute(select(app_user).where(app_user.c.id == user_id)).first()
    if u is None or not u.active:
        raise checks.bad(record, "assignee_id", f"no active user {user_id}")
    target = Actor(u.username, "user", role=Role(u.role), department_id=u.department_id, user_id=u.id)
    if not target.can(Permission.COLLECT):
        raise checks.bad(record, "assignee_id", f"user {u.username} ({u.role}) does not collect")
    return target


def _may_receive(conn: Connection, scope: Scope, actor: Actor, target: Actor, task: Task) -> bool:
    """Whether ``actor`` may give ``task`` to ``target``: a worker of one of the actor's street grids, or a
    collector of the task's department; platform admins to anyone who collects."""
    if is_manager(actor):
        return True
    assert target.user_id is not None and actor.user_id is not None  # both are users here
    street = scope.grids.grids_of(conn, actor.user_id, "reviewer")
    if street & scope.grids.grids_of(conn, target.user_id, "worker"):
        return True
    return task.department_id is not None and target.department_id == task.department_id


def candidates(conn: Connection, scope: Scope, actor: Actor, task_id: int) -> list[dict[str, Any]]:
    """The collectors ``actor`` may give task ``task_id`` to (the portal's choice list), by display name."""
    task = load(conn, task_id)
    scope.require(conn, actor, task, "manager", "reassign")
    u = app_user.c
    q = select(u.id, u.username, u.display_name, u.role, u.department_id).where(u.active.is_(True))
    if not is_manager(actor):
        assert actor.user_id is not None  # a street reviewer
        street = scope.grids.workers_in(conn, scope.grids.grids_of(conn, actor.user_id, "reviewer"))
        mine = u.id.in_(sorted(street)) if street else false()
        q = q.where(or_(mine, u.department_id == task.department_id) if task.department_id is not None else mine)
    rows = [r for r in conn.execute(q) if Actor(r.username, "user", role=Role(r.role)).can(Permission.COLLECT)]
    return [
        {"id": r.id, "username": r.username, "display_name": r.display_name, "department_id": r.department_id,
         "assigned": r.id == task.assignee_id}
        for r in sorted(rows, key=lambda r: (r.display_name, r.id))
    ]  # fmt: skip


def reassign(
    conn: Connection, scope: Scope, actor: Actor, task_id: int, *, version: int, assignee_id: Any, reason: Any
) -> Task:
    """Give task ``task_id`` to user ``assignee_id`` (None: back to the grid's pool), in the caller's
    transaction; returns the task with its events."""
    record = f"task {task_id}"
    why = checks.check_reason(reason, "reassign", record)
    task = load(conn, task_id)
    scope.require(conn, actor, task, "manager", "reassign")
    if task.state not in REASSIGNABLE:
        raise ConflictError(f"task {task_id} is {task.state}; only an open or returned task can be reassigned")
    if version != task.version:
        raise ConflictError(f"task {task_id} has changed (version {task.version}, you sent {version}); reload it")
    if assignee_id == task.assignee_id:
        raise checks.bad(record, "assignee_id", f"the task is already with {assignee_id or 'the grid pool'}")
    if assignee_id is not None:
        target = _collector(conn, assignee_id, record)
        if not _may_receive(conn, scope, actor, target, task):
            raise checks.bad(
                record, "assignee_id", f"{target.name} works none of your grids and is not of the task's department"
            )
    _move(conn, actor, task, assignee_id, why, {"from": task.assignee_id, "to": assignee_id})
    return load(conn, task_id, with_events=True)


def release(conn: Connection, scope: Scope, actor: Actor, grid_ids: frozenset[int], user_id: int) -> int:
    """A worker has left ``grid_ids`` (a grid and its descendants): their open and returned tasks there go to
    the grid's next worker, or to its pool, unless they still work that grid some other way. Returns the
    tasks moved; each gets a ``reassign`` event marked ``auto``."""
    t = collect_task.c
    still = scope.grids.grids_of(conn, user_id, "worker")
    q = select(t.id).where(t.assignee_id == user_id, t.state.in_(REASSIGNABLE), t.grid_id.in_(sorted(grid_ids)))
    moved = 0
    nexts: dict[int, int | None] = {}
    for task_id in conn.execute(q.order_by(t.id)).scalars().all():
        task = load(conn, int(task_id))
        if task.grid_id is None or task.grid_id in still:
            continue
        if task.grid_id not in nexts:
            nexts[task.grid_id] = scope.grids.worker_of(conn, task.grid_id)
        to = nexts[task.grid_id]
        _move(conn, actor, task, to, "网格员调离网格，任务自动改派", {"from": user_id, "to": to, "auto": True})
        moved += 1
    return moved


def _move(conn: Connection, actor: Actor, task: Task, to: int | None, reason: str, detail: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    done = conn.execute(
        update(collect_task)
        .where(collect_task.c.id == task.id, collect_task.c.version == task.version)
        .values(assignee_id=to, version=task.version + 1, updated_at=now, updated_by=actor.name[:100])
    ).rowcount
    if done != 1:
        raise ConflictError(f"task {task.id} changed while you worked on it; reload it")
    add_event(conn, task.id, now, actor.name, "reassign", task.state, task.state, reason, detail)
