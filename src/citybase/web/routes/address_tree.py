"""The standard address tree (一标): nodes, paths, children with counts, search, edits, CSV import and
export, naming workflows. Matching, geocoding and suggest live in ``routes/addresses.py``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from citybase.domains.access import Actor, Permission
from citybase.domains.addresses import (
    IMPORT_ADDRESSES_JOB,
    AddressNode,
    AddressRecord,
    NodeCount,
    Workflow,
    export_file,
    job_params,
)
from citybase.kernel.errors import AuthenticationError
from citybase.web.auth import current_actor, platform_of
from citybase.web.routes.operations import job_json
from citybase.web.serialize import iso
from citybase.web.uploads import save_upload

router = APIRouter(prefix="/api/addresses", tags=["address tree"])
ActorDep = Annotated[Actor, Depends(current_actor)]
MAX_UPLOAD = 200 * 1024 * 1024


def node_json(n: AddressNode) -> dict[str, Any]:
    return {
        "id": n.id,
        "parent_id": n.parent_id,
        "level": n.level,
        "name": n.name,
        "display_code": n.display_code,
        "division_code": n.division_code,
        "lon": n.lon,
        "lat": n.lat,
        "object_id": n.object_id,
        "grid": n.grid,
        "state": n.state,
        "source_id": n.source_id,
        "version": n.version,
        "updated_at": iso(n.updated_at),
        "updated_by": n.updated_by,
    }


def count_json(c: NodeCount) -> dict[str, Any]:
    return {**node_json(c.node), "children": c.children}


def tree_record_json(r: AddressRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "source_id": r.source_id,
        "level": r.level,
        "parts": r.parts,
        "aliases": r.aliases,
        "full_address": r.full_address,
        "display_code": r.display_code,
        "lon": r.lon,
        "lat": r.lat,
        "community": r.community,
        "grid": r.grid,
    }


def workflow_json(w: Workflow) -> dict[str, Any]:
    step = w.next_step
    return {
        "id": w.id,
        "kind": w.kind,
        "state": w.state,
        "parent_id": w.parent_id,
        "payload": w.payload,
        "steps": w.steps,
        "result": w.result,
        "proposed_by": w.proposed_by,
        "department_id": w.department_id,
        "next_step": None if step is None else {"step": step[0], "department": step[1]},
        "created_at": iso(w.created_at),
        "updated_at": iso(w.updated_at),
    }


# --- reading the tree ------------------------------------------------------------------------------


@router.get("/nodes", summary="The roots of the address tree (or a node's children) with child counts")
def roots_endpoint(
    request: Request,
    actor: ActorDep,
    parent_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    actor.require(Permission.READ)
    kids = platform_of(request).addresses.children(parent_id, limit=limit, offset=offset)
    return {"items": [count_json(c) for c in kids]}


@router.get("/nodes/{node_id}", summary="One address node with its path, aliases, history and full address")
def node_endpoint(node_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    actor.require(Permission.READ)
    service = platform_of(request).addresses
    node = service.node(node_id)
    return {
        **node_json(node),
        "full_address": service.record(node_id).full_address,
        "path": [node_json(p) for p in service.path(node_id)],
        "aliases": [{"name": a, "kind": k} for a, k in service.aliases(node_id)],
        "history": [
            {
                "version": v.version,
                "change": v.change,
                "name": v.name,
                "parent_id": v.parent_id,
                "state": v.state,
                "lon": v.lon,
                "lat": v.lat,
                "recorded_at": iso(v.recorded_at),
                "recorded_by": v.recorded_by,
            }
            for v in service.history(node_id)
        ],
    }


@router.get("/nodes/{node_id}/children", summary="A node's children, each with its count of children")
def children_endpoint(
    node_id: int,
    request: Request,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=2000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    actor.require(Permission.READ)
    kids = platform_of(request).addresses.children(node_id, limit=limit, offset=offset)
    return {"items": [count_json(c) for c in kids]}


@router.get("/search", summary="Address nodes whose name or an old/common name contains the text")
def search_endpoint(
    request: Request,
    actor: ActorDep,
    q: str,
    level: str | None = None,
    under: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> dict[str, Any]:
    actor.require(Permission.READ)
    found = platform_of(request).addresses.search(q, level=level, under=under, limit=limit)
    return {"items": [tree_record_json(r) for r in found]}


# --- editing (民政 / platform admins) ---------------------------------------------------------------


class NodeBody(BaseModel):
    parent_id: int | None
    level: str
    name: str
    lon: float | None = None
    lat: float | None = None
    object_id: int | None = None
    aliases: list[str] = Field(default_factory=list, max_length=20)


class RenameBody(BaseModel):
    name: str


@router.post("/nodes", status_code=201, summary="Create an address node (checks the parent's level)")
def create_endpoint(body: NodeBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    node = platform_of(request).addresses.create(
        actor,
        body.parent_id,
        body.level,
        body.name,
        lon=body.lon,
        lat=body.lat,
        object_id=body.object_id,
        aliases=body.aliases,
    )
    return node_json(node)


@router.post("/nodes/{node_id}/rename", summary="Rename a node; the old name stays searchable as an alias")
def rename_endpoint(node_id: int, body: RenameBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return node_json(platform_of(request).addresses.rename(actor, node_id, body.name))


@router.post("/nodes/{node_id}/retire", summary="Retire a node without active children")
def retire_endpoint(node_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return node_json(platform_of(request).addresses.retire(actor, node_id))


# --- interchange CSV -------------------------------------------------------------------------------


@router.post("/imports", status_code=202, summary="Import an interchange CSV (UTF-8 or GBK) as a job")
async def import_endpoint(request: Request, actor: ActorDep, file: UploadFile) -> dict[str, Any]:
    actor.require(Permission.RUN_JOBS)
    platform = platform_of(request)
    with platform.store.read() as conn:
        platform.addresses.require_recorder(conn, actor)
    path = await save_upload(platform.settings.data_dir, file, f"addresses-{uuid.uuid4().hex}.csv", MAX_UPLOAD)
    return job_json(platform.jobs.submit(actor, IMPORT_ADDRESSES_JOB, job_params(actor, path)))


@router.get("/export", summary="The whole address tree as an interchange CSV (one row per node)")
def export_endpoint(
    request: Request, actor: ActorDep, encoding: Annotated[str, Query(pattern="^(utf-8|gbk)$")] = "utf-8"
) -> FileResponse:
    if actor.kind == "anonymous":
        raise AuthenticationError("log in or send an API key to export addresses")
    actor.require(Permission.READ)
    platform = platform_of(request)
    exports = platform.settings.data_dir / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    path = exports / f"addresses-{uuid.uuid4().hex}.csv"
    export_file(platform.addresses, path, encoding)
    return FileResponse(
        path,
        media_type=f"text/csv; charset={encoding}",
        filename="addresses.csv",
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


# --- naming workflows ------------------------------------------------------------------------------


class WorkflowBody(BaseModel):
    kind: str
    parent_id: int
    payload: dict[str, Any]


class StepBody(BaseModel):
    note: str | None = Field(None, max_length=500)


@router.get("/workflows", summary="Naming workflows, newest first")
def workflows_endpoint(
    request: Request,
    actor: ActorDep,
    state: str | None = None,
    kind: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    actor.require(Permission.READ)
    items = platform_of(request).addresses.workflows.list(state=state, kind=kind, limit=limit)
    return {"items": [workflow_json(w) for w in items]}


@router.get("/workflows/{workflow_id}", summary="One naming workflow with its steps")
def workflow_endpoint(workflow_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    actor.require(Permission.READ)
    return workflow_json(platform_of(request).addresses.workflows.get(workflow_id))


@router.post("/workflows", status_code=201, summary="Propose a road name, a compound name or door plates")
def propose_endpoint(body: WorkflowBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    wf = platform_of(request).addresses.workflows.propose(actor, body.kind, body.parent_id, body.payload)
    return workflow_json(wf)


@router.post("/workflows/{workflow_id}/{step}", summary="Take a step: review (住建), approve (民政) or reject")
def step_endpoint(
    workflow_id: int, step: str, request: Request, actor: ActorDep, body: StepBody | None = None
) -> dict[str, Any]:
    wf = platform_of(request).addresses.workflows.act(actor, workflow_id, step, body.note if body else None)
    return workflow_json(wf)
