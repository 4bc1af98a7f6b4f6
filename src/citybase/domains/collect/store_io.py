"""Reading and writing task rows and events (inside the caller's transaction)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from citybase.domains.collect.model import Task, TaskEvent
from citybase.kernel.errors import NotFoundError
from citybase.store.collect_tables import collect_task, collect_task_event

REASONED = ("return", "reject", "cancel")


def task_of(m: Any, events: list[TaskEvent] | None = None, reason: str | None = None) -> Task:
    point = m["point"]
    if events:
        reason = next((e.reason for e in reversed(events) if e.action in REASONED), None)
    return Task(
        id=int(m["id"]),
        kind=m["kind"],
        title=m["title"],
        detail=dict(m["detail"] or {}),
        collected=m["collected"],
        source=m["source"],
        source_ref=m["source_ref"],
        address_node_id=m["address_node_id"],
        lon=point.x if point is not None else None,
        lat=point.y if point is not None else None,
        grid_id=m["grid_id"],
        department_id=m["department_id"],
        assignee_id=m["assignee_id"],
        state=m["state"],
        version=int(m["version"]),
        created_at=m["created_at"],
        created_by=m["created_by"],
        updated_at=m["updated_at"],
        updated_by=m["updated_by"],
        due_at=m["due_at"],
        events=events or [],
        last_reason=reason,
    )


def last_reasons(conn: Connection, task_ids: list[int]) -> dict[int, str | None]:
    """The reason of the latest return, rejection or cancellation of each task (for task lists)."""
    if not task_ids:
        return {}
    e = collect_task_event.c
    latest = (
        select(func.max(e.id))
        .where(e.task_id.in_(task_ids), e.action.in_(REASONED))
        .group_by(e.task_id)
        .scalar_subquery()
    )
    return {int(r.task_id): r.reason for r in conn.execute(select(e.task_id, e.reason).where(e.id.in_(latest)))}


def load(conn: Connection, task_id: int, *, with_events: bool = False) -> Task:
    row = conn.execute(select(collect_task).where(collect_task.c.id == task_id)).first()
    if row is None:
        raise NotFoundError(f"no task {task_id}")
    return task_of(row._mapping, events_of(conn, task_id) if with_events else None)


def events_of(conn: Connection, task_id: int) -> list[TaskEvent]:
    q = select(collect_task_event).where(collect_task_event.c.task_id == task_id).order_by(collect_task_event.c.id)
    return [
        TaskEvent(
            id=int(r.id),
            at=r.at,
            actor=r.actor,
            action=r.action,
            from_state=r.from_state,
            to_state=r.to_state,
            reason=r.reason,
            detail=r.detail,
        )
        for r in conn.execute(q)
    ]


def add_event(
    conn: Connection,
    task_id: int,
    at: datetime,
    actor: str,
    action: str,
    from_state: str | None,
    to_state: str,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        collect_task_event.insert().values(
            task_id=task_id,
            at=at,
            actor=actor,
            action=action,
            from_state=from_state,
            to_state=to_state,
            reason=reason,
            detail=detail,
        )
    )
