"""Collection tasks (采集 → 初审 → 复审) and the errors-and-gaps list (错误、缺漏数据库)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from citybase.domains.access import Actor
from citybase.domains.collect import KINDS, RULES, GapRow, Task, TaskEvent, run_rules, tasks_from_address_review
from citybase.kernel.errors import AuthenticationError, InvalidInputError, Issue
from citybase.web.auth import current_actor, platform_of
from citybase.web.serialize import iso

router = APIRouter(prefix="/api/tasks", tags=["collection"])
ActorDep = Annotated[Actor, Depends(current_actor)]


def event_json(e: TaskEvent) -> dict[str, Any]:
    return {
        "at": iso(e.at), "actor": e.actor, "action": e.action, "from_state": e.from_state,
        "to_state": e.to_state, "reason": e.reason, "detail": e.detail,
    }  # fmt: skip


def task_json(t: Task) -> dict[str, Any]:
    zh, en = KINDS[t.kind]
    return {
        "id": t.id, "kind": t.kind, "kind_zh": zh, "kind_en": en, "title": t.title, "detail": t.detail,
        "collected": t.collected, "source": t.source, "source_ref": t.source_ref,
        "address_node_id": t.address_node_id, "lon": t.lon, "lat": t.lat, "grid_id": t.grid_id,
        "department_id": t.department_id, "assignee_id": t.assignee_id, "state": t.state, "version": t.version,
        "created_at": iso(t.created_at), "created_by": t.created_by, "updated_at": iso(t.updated_at),
        "updated_by": t.updated_by, "due_at": iso(t.due_at), "last_reason": t.last_reason,
        "events": [event_json(e) for e in t.events],
    }  # fmt: skip


def gap_json(g: GapRow) -> dict[str, Any]:
    return {"scope": g.scope, "id": g.id, "name": g.name, "total": g.total, "by_kind": g.by_kind, "ages": g.ages}


class NewTaskBody(BaseModel):
    kind: str = Field(description="One of GET /api/tasks/kinds")
    title: str
    detail: dict[str, Any] = Field(default_factory=dict, description="The proposed change, as reported")
    source: Literal["person", "scan", "match", "rule"] = "person"
    source_ref: str | None = None
    address_node_id: int | None = None
    lon: float | None = None
    lat: float | None = None
    due_at: datetime | None = None


class SubmitBody(BaseModel):
    version: int = Field(description="The version you read; a stale one is refused (409)")
    collected: dict[str, Any] = Field(description="What was collected on site: the change to apply")


class DecisionBody(BaseModel):
    version: int
    decision: Literal["approve", "accept", "return", "reject"]
    reason: str | None = Field(default=None, description="Required to return or reject")


class ReasonBody(BaseModel):
    version: int
    reason: str


class ReassignBody(BaseModel):
    version: int = Field(description="The version you read; a stale one is refused (409)")
    assignee_id: int | None = Field(description="The collector (user id) to take the task; null: the grid's pool")
    reason: str = Field(description="Why the task moves (kept in its history)")


@router.get("/kinds", summary="Task kinds with their Chinese and English names")
def kinds_endpoint() -> list[dict[str, str]]:
    return [{"kind": k, "zh": zh, "en": en} for k, (zh, en) in KINDS.items()]


@router.post("", status_code=201, summary="Create a task; it is located and assigned by grid")
def create_endpoint(body: NewTaskBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    if actor.kind == "anonymous":  # citizens report through the QR plate page, which rate-limits them
        raise AuthenticationError("log in to create tasks; citizens report from the door plate's QR page")
    point = (body.lon, body.lat) if body.lon is not None or body.lat is not None else None
    task = platform_of(request).collect.create_task(
        actor, kind=body.kind, title=body.title, detail=body.detail, source=body.source,
        source_ref=body.source_ref, address_node_id=body.address_node_id, point=point, due_at=body.due_at,  # type: ignore[arg-type]
    )  # fmt: skip
    return task_json(task)


@router.get("", summary="Tasks the caller may see: mine, by state, by review queue, by grid or kind")
def list_endpoint(
    request: Request,
    actor: ActorDep,
    mine: bool = False,
    state: str | None = None,
    queue: Annotated[str | None, Query(description="first (awaiting 初审), second (复审) or open")] = None,
    grid_id: int | None = None,
    kind: str | None = None,
    after_id: int = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    items, total = platform_of(request).collect.list_tasks(
        actor, mine=mine, state=state or None, queue=queue or None, grid_id=grid_id, kind=kind or None,
        limit=limit, after_id=after_id,
    )  # fmt: skip
    return {"items": [task_json(t) for t in items], "total": total}


@router.get("/gaps", summary="The errors-and-gaps list: open tasks per grid or department, by kind and age")
def gaps_endpoint(request: Request, actor: ActorDep, by: Literal["grid", "department"] = "grid") -> dict[str, Any]:
    rows = platform_of(request).collect.gaps(actor, by=by)
    return {"by": by, "rows": [gap_json(g) for g in rows], "total": sum(g.total for g in rows)}


@router.post("/rules", summary="Run the quality rules (idempotent) and turn open address reviews into tasks")
def rules_endpoint(request: Request, actor: ActorDep) -> dict[str, Any]:
    collect = platform_of(request).collect
    runs = run_rules(collect, actor, list(RULES))
    made = tasks_from_address_review(collect, actor)
    return {"rules": [{"rule": r.rule, "found": r.found, "created": r.created} for r in runs], "address_review": made}


@router.get("/{task_id}", summary="One task with its history")
def get_endpoint(task_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return task_json(platform_of(request).collect.get(actor, task_id))


@router.post("/{task_id}/submit", summary="The grid worker submits what was collected (采集)")
def submit_endpoint(task_id: int, body: SubmitBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return task_json(
        platform_of(request).collect.submit(actor, task_id, version=body.version, collected=body.collected)
    )


def _decide(request: Request, actor: Actor, task_id: int, body: DecisionBody, allowed: tuple[str, ...]) -> Task:
    if body.decision not in allowed:
        raise InvalidInputError(
            "bad decision", issues=[Issue("decision", f"one of {', '.join(allowed)}", record=f"task {task_id}")]
        )
    return platform_of(request).collect.act(actor, task_id, body.decision, version=body.version, reason=body.reason)


@router.post("/{task_id}/review-first", summary="Street review (初审): approve, return or reject")
def review_first_endpoint(task_id: int, body: DecisionBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return task_json(_decide(request, actor, task_id, body, ("approve", "return", "reject")))


@router.post(
    "/{task_id}/review-second", summary="Department review (复审): accept (applies the change), return or reject"
)
def review_second_endpoint(task_id: int, body: DecisionBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return task_json(_decide(request, actor, task_id, body, ("accept", "return", "reject")))


@router.post("/{task_id}/return", summary="Return a task to the worker with a reason")
def return_endpoint(task_id: int, body: ReasonBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    collect = platform_of(request).collect
    return task_json(collect.act(actor, task_id, "return", version=body.version, reason=body.reason))


@router.post("/{task_id}/cancel", summary="Cancel an open or returned task, with a reason")
def cancel_endpoint(task_id: int, body: ReasonBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    collect = platform_of(request).collect
    return task_json(collect.act(actor, task_id, "cancel", version=body.version, reason=body.reason))


@router.get("/{task_id}/assignees", summary="The collectors you may reassign the task to (改派), by name")
def assignees_endpoint(task_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return {"items": platform_of(request).collect.assignees(actor, task_id)}


@router.post(
    "/{task_id}/reassign",
    summary="Reassign an open or returned task (改派) to another collector of your grids, or to the grid's pool",
)
def reassign_endpoint(task_id: int, body: ReassignBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    collect = platform_of(request).collect
    return task_json(
        collect.reassign(actor, task_id, version=body.version, assignee_id=body.assignee_id, reason=body.reason)
    )
