"""Imports (``/api/imports``) and the versions of dataset layers (``/api/layers/{name}/versions``)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, Field

from citybase.domains.access import Actor
from citybase.domains.imports import ImportOptions, ImportRun, LayerVersion
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.web.auth import current_actor, platform_of
from citybase.web.serialize import iso

router = APIRouter(tags=["imports"])
ActorDep = Annotated[Actor, Depends(current_actor)]


def import_json(run: ImportRun, request: Request) -> dict[str, Any]:
    job = platform_of(request).jobs.get(run.job_id) if run.job_id else None
    return {
        "id": run.id,
        "layer": run.layer_name,
        "file": run.file_name,
        "state": run.state if run.state != "queued" or job is None else job.state,
        "options": run.options,
        "progress": None
        if job is None
        else {
            "job_id": job.id,
            "state": job.state,
            "done": job.done,
            "total": job.total,
            "fraction": round(job.done / job.total, 4) if job.total else None,
            "message": job.message,
        },
        "report": run.report,
        "layer_version": run.layer_version,
        "created_by": run.created_by,
        "created_at": iso(run.created_at),
        "finished_at": iso(run.finished_at),
        "links": {
            "self": f"/api/imports/{run.id}",
            "job": f"/api/jobs/{run.job_id}",
            "layer": f"/api/layers/{run.layer_name}",
        },
    }


def version_json(v: LayerVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "change": v.change,
        "import_id": v.import_id,
        "rolled_back_to": v.rolled_back_to,
        "counts": v.counts,
        "created_at": iso(v.created_at),
        "created_by": v.created_by,
        "current": v.current,
    }


def _mapping(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    try:
        found = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInputError("bad mapping", issues=[Issue("mapping", f"not JSON: {exc.msg}")]) from None
    if not isinstance(found, dict):
        raise InvalidInputError("bad mapping", issues=[Issue("mapping", "a JSON object {column: attribute}")])
    return found


@router.post("/api/imports", status_code=202, summary="Upload a file and import it into a dataset layer (a job)")
def create_import_endpoint(
    request: Request,
    actor: ActorDep,
    file: Annotated[list[UploadFile], File(description="The file; a Shapefile as .zip or as its parts")],
    layer: Annotated[str, Form(description="Dataset layer (a new name creates it)")],
    class_code: Annotated[str | None, Form(description="Object class (needed for a new layer)")] = None,
    crs: Annotated[str | None, Form(description="EPSG:4490, cgcs2000, wgs84, gk3:38, gcj02, bd09…")] = None,
    department: Annotated[str | None, Form(description="Owner department code of a new layer")] = None,
    mapping: Annotated[str | None, Form(description='JSON {"column": attribute | name | key | address | -}')] = None,
    unknown: Annotated[str, Form(description="keep | drop | reject columns that are no attribute")] = "keep",
    source_layer: Annotated[str | None, Form(description="Layer or sheet inside the file")] = None,
    where: Annotated[str | None, Form(description="OGR SQL filter on the file")] = None,
    lon_column: Annotated[str | None, Form()] = None,
    lat_column: Annotated[str | None, Form()] = None,
    all_or_nothing: Annotated[bool, Form()] = False,
    title: Annotated[str | None, Form(description="Title of a new layer")] = None,
    assign_codes: Annotated[bool, Form(description="Give new objects their unified codes")] = False,
) -> dict[str, Any]:
    platform = platform_of(request)
    opts = ImportOptions(
        layer=layer, class_code=class_code or None, crs=crs or None, department=department or None,
        mapping=_mapping(mapping), unknown=unknown, source_layer=source_layer or None, where=where or None,
        lon_column=lon_column or None, lat_column=lat_column or None, all_or_nothing=all_or_nothing,
        title=title or None, assign_codes=assign_codes,
    )  # fmt: skip
    platform.imports.target_layer(actor, opts)  # refuse bad options before storing the upload
    path = platform.imports.stage([(f.filename or "upload", f.file) for f in file])
    run = platform.imports.submit(actor, path, opts, file_name=path.name)
    return import_json(run, request)


@router.get("/api/imports", summary="Recent imports the caller may see (newest first)")
def list_imports_endpoint(
    request: Request, actor: ActorDep, layer: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> dict[str, Any]:
    runs = platform_of(request).imports.recent(actor, layer=layer, limit=limit)
    return {"items": [import_json(r, request) for r in runs]}


@router.get("/api/imports/mappings/{class_code}", summary="The saved column mapping of a department and class")
def get_mapping_endpoint(
    class_code: str, request: Request, actor: ActorDep, department: str | None = None
) -> dict[str, Any]:
    platform = platform_of(request)
    platform.classes.get(class_code)
    dept = platform.imports.department_id(department) if department else actor.department_id
    return {
        "department_id": dept,
        "class_code": class_code,
        "mapping": platform.imports.saved_mapping(dept, class_code),
    }


@router.get("/api/imports/{import_id}", summary="An import: state, progress and validation report")
def get_import_endpoint(import_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return import_json(platform_of(request).imports.get(actor, import_id), request)


@router.get("/api/layers/{name}/versions", tags=["layers"], summary="Versions of a dataset layer")
def list_versions_endpoint(name: str, request: Request, actor: ActorDep) -> dict[str, Any]:
    return {"items": [version_json(v) for v in platform_of(request).imports.versions(actor, name)]}


@router.get("/api/layers/{name}/compare", tags=["layers"], summary="Objects added, changed, retired between versions")
def compare_versions_endpoint(
    name: str,
    request: Request,
    actor: ActorDep,
    v1: Annotated[int, Query(alias="from", description="Older version")],
    v2: Annotated[int, Query(alias="to", description="Newer version")],
) -> dict[str, Any]:
    d = platform_of(request).imports.compare(actor, name, v1, v2)
    return {
        "layer": d.layer,
        "from": d.from_version,
        "to": d.to_version,
        "added": d.added,
        "changed": d.changed,
        "retired": d.retired,
        "unchanged": d.unchanged,
    }


class RollbackBody(BaseModel):
    version: int = Field(description="The version to return to")


@router.post("/api/layers/{name}/rollback", tags=["layers"], summary="Roll a dataset layer back (a new version)")
def rollback_endpoint(name: str, body: RollbackBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return version_json(platform_of(request).imports.rollback(actor, name, body.version))
