"""Call metering and jobs."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, UploadFile

from citybase.domains.access import Actor
from citybase.domains.jobs import Job
from citybase.domains.objects import IMPORT_GEOJSON_JOB
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.web.auth import current_actor, platform_of
from citybase.web.serialize import iso

router = APIRouter(tags=["operations"])
ActorDep = Annotated[Actor, Depends(current_actor)]


@router.get("/api/metering/daily", summary="Calls per day x API key x department x route")
def metering_daily_endpoint(
    request: Request,
    actor: ActorDep,
    start: date | None = None,
    end: date | None = None,
    department_id: int | None = None,
    api_key_id: int | None = None,
    route: str | None = None,
) -> dict[str, Any]:
    rows = platform_of(request).meter.daily(
        actor, start=start, end=end, department_id=department_id, api_key_id=api_key_id, route=route
    )
    return {"items": [{**asdict(r), "day": r.day.isoformat(), "mean_ms": round(r.mean_ms, 3)} for r in rows]}


@router.get("/api/metering/departments", summary="Total calls per department")
def metering_departments_endpoint(request: Request, actor: ActorDep, day: date | None = None) -> dict[str, Any]:
    totals = platform_of(request).meter.totals_by_department(actor, day)
    return {"items": [{"department_id": d, "calls": n} for d, n in sorted(totals.items(), key=lambda x: -x[1])]}


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "done": job.done,
        "total": job.total,
        "progress": round(job.done / job.total, 4) if job.total else None,
        "message": job.message,
        "result": job.result,
        "errors": job.errors,
        "attempts": job.attempts,
        "created_by": job.created_by,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
    }


@router.get("/api/jobs", summary="Recent jobs")
def list_jobs_endpoint(
    request: Request, actor: ActorDep, state: str | None = None, kind: str | None = None
) -> dict[str, Any]:
    return {"items": [job_json(j) for j in platform_of(request).jobs.list(state=state, kind=kind, actor=actor)]}


@router.get("/api/jobs/{job_id}", summary="One job with progress, result and error report")
def get_job_endpoint(job_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return job_json(platform_of(request).jobs.visible_to(actor, job_id))


@router.post("/api/jobs/{job_id}/cancel", summary="Cancel a queued or running job")
def cancel_job_endpoint(job_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return job_json(platform_of(request).jobs.cancel(actor, job_id))


@router.post(
    "/api/objects/import",
    status_code=202,
    tags=["objects"],
    summary="Import a GeoJSON FeatureCollection of objects as a job (resumable, all-or-nothing validation)",
)
async def import_objects_endpoint(
    request: Request, actor: ActorDep, file: UploadFile, class_code: str | None = None, department_id: int | None = None
) -> dict[str, Any]:
    platform = platform_of(request)
    platform.objects.require_write(actor)
    data = await file.read()
    try:
        json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError("bad upload", issues=[Issue("file", f"not UTF-8 GeoJSON: {exc}")]) from None
    uploads = platform.settings.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    path = uploads / f"{uuid.uuid4().hex}.geojson"
    path.write_bytes(data)
    job = platform.jobs.submit(
        actor,
        IMPORT_GEOJSON_JOB,
        {
            "path": str(path),
            "class_code": class_code,
            "department_id": department_id,
            "role": actor.role.value if actor.role else ("platform_admin" if actor.kind == "system" else "viewer"),
            "actor_department_id": actor.department_id,
        },
    )
    return job_json(job)
