"""Standard addresses: parsing, matching, geocoding, reverse geocoding, type-ahead, review queue."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from citybase.domains.access import Actor, Permission
from citybase.domains.addresses import MATCH_FILE_JOB, Matched, ReviewItem, parse, result_json
from citybase.kernel.errors import CityBaseError, InvalidInputError, Issue, NotFoundError
from citybase.web.auth import current_actor, platform_of
from citybase.web.routes.operations import job_json
from citybase.web.serialize import iso
from citybase.web.uploads import save_upload

router = APIRouter(prefix="/api/addresses", tags=["addresses"])
ActorDep = Annotated[Actor, Depends(current_actor)]
MAX_BATCH = 1000
MAX_UPLOAD = 50 * 1024 * 1024


# --- serialisation ---------------------------------------------------------------------------------


def record_json(rec: Any) -> dict[str, Any]:
    return {
        "node_id": rec.id,
        "source_id": rec.source_id,
        "level": rec.level,
        "full_address": rec.full_address,
        "display_code": rec.display_code,
        "parts": rec.parts,
        "lon": rec.lon,
        "lat": rec.lat,
        "community": rec.community,
        "grid": rec.grid,
    }


def error_json(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, CityBaseError):
        return {"title": exc.title, "detail": exc.detail, "issues": [i.as_dict() for i in exc.issues]}
    return {"title": "Error", "detail": str(exc), "issues": []}


def matched_json(m: Matched, *, candidates: bool = False) -> dict[str, Any]:
    r = m.result
    out: dict[str, Any] = {
        "input": m.text,
        "status": r.status,
        "score": round(r.score, 4),
        "level": r.level,
        "matched_id": m.matched_id,
        "node_id": r.best.node_id if r.best else None,
        "full_address": m.record.full_address if m.record is not None else None,
        "lon": r.best.lon if r.best else None,
        "lat": r.best.lat if r.best else None,
        "explanation": r.explanation,
        "query": r.query,
    }
    if candidates:
        out["candidates"] = result_json(r)["candidates"]
    return out


def review_json(item: ReviewItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "text": item.text,
        "status": item.status,
        "score": item.score,
        "level": item.level,
        "node_id": item.node_id,
        "explanation": item.explanation,
        "candidates": item.candidates,
        "source": item.source,
        "state": item.state,
        "resolved_node_id": item.resolved_node_id,
        "note": item.note,
        "created_at": iso(item.created_at),
        "created_by": item.created_by,
        "closed_at": iso(item.closed_at),
        "closed_by": item.closed_by,
    }


def _batch(values: list[Any], field: str) -> None:
    if not values:
        raise InvalidInputError("empty batch", issues=[Issue(field, "give at least one address")])
    if len(values) > MAX_BATCH:
        raise InvalidInputError(
            "batch too large",
            issues=[Issue(field, f"{len(values)} items, at most {MAX_BATCH}; use a match job for files")],
        )


# --- parsing ---------------------------------------------------------------------------------------


class ParseBody(BaseModel):
    text: str | None = Field(None, description="One address")
    texts: list[Any] | None = Field(None, description=f"Or a batch (at most {MAX_BATCH}); a bad row gives its error")


@router.post("/parse", summary="Split free-text Chinese addresses into elements and standard-address levels")
def parse_endpoint(body: ParseBody, actor: ActorDep) -> dict[str, Any]:
    actor.require(Permission.READ)
    if body.texts is None:
        if body.text is None:
            raise InvalidInputError("nothing to parse", issues=[Issue("text", "give text or texts")])
        return parse(body.text).as_dict()
    _batch(body.texts, "texts")
    items: list[dict[str, Any]] = []
    for i, t in enumerate(body.texts):
        try:
            items.append({"row": i, **parse(t).as_dict()})
        except CityBaseError as exc:
            items.append({"row": i, "error": error_json(exc)})
    return {"items": items}


# --- matching and geocoding ------------------------------------------------------------------------


class MatchBody(BaseModel):
    addresses: list[Any] = Field(description=f"Addresses to match (at most {MAX_BATCH})")
    candidates: bool = Field(False, description="Also list the other candidates of each")


@router.post("/match", summary="Match a batch of addresses to the standard address registry")
def match_endpoint(body: MatchBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    actor.require(Permission.READ)
    _batch(body.addresses, "addresses")
    answers = platform_of(request).address_matcher.match_many(body.addresses, limit=5 if body.candidates else 1)
    items = []
    for i, (text, a) in enumerate(zip(body.addresses, answers, strict=True)):
        if isinstance(a, Exception):
            items.append({"row": i, "input": text, "status": "error", "error": error_json(a)})
        else:
            items.append({"row": i, **matched_json(a, candidates=body.candidates)})
    return {"items": items}


@router.get("/geocode", summary="Best standard addresses for a free-text address, with scores and points")
def geocode_endpoint(
    request: Request,
    actor: ActorDep,
    q: Annotated[str, Query(description="The address")],
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> dict[str, Any]:
    actor.require(Permission.READ)
    matcher = platform_of(request).address_matcher
    m = matcher.match(q, limit=limit)
    found = matcher.records([c.node_id for c in m.result.candidates])  # one read; a retired node drops out
    items = [
        {**record_json(found[c.node_id]), "score": c.score, "explanation": c.explanation}
        for c in m.result.candidates
        if c.node_id in found
    ]
    return {"query": q, "status": m.result.status, "parsed": m.result.query, "items": items}


@router.get("/reverse", summary="Nearest door plates / buildings to a point, with distance, community and grid")
def reverse_endpoint(
    request: Request,
    actor: ActorDep,
    lon: float,
    lat: float,
    k: Annotated[int, Query(ge=1, le=50)] = 1,
    levels: Annotated[str, Query(description="Comma-separated levels")] = "door_number,building",
) -> dict[str, Any]:
    actor.require(Permission.READ)
    wanted = tuple(x.strip() for x in levels.split(",") if x.strip())
    near = platform_of(request).address_matcher.reverse(lon, lat, k=k, levels=wanted)
    return {
        "lon": lon,
        "lat": lat,
        "items": [{**record_json(n.record), "distance_m": round(n.distance_m, 2)} for n in near],
    }


@router.get("/suggest", summary="Type-ahead: standard addresses that continue what was typed")
def suggest_endpoint(
    request: Request, actor: ActorDep, q: str, limit: Annotated[int, Query(ge=1, le=50)] = 10
) -> dict[str, Any]:
    actor.require(Permission.READ)
    found = platform_of(request).address_matcher.suggest(q, limit=limit)
    return {
        "query": q,
        "items": [{"node_id": s.node_id, "level": s.level, "text": s.text, "lon": s.lon, "lat": s.lat} for s in found],
    }


# --- batch matching of files (a job) ---------------------------------------------------------------


@router.post("/match/jobs", status_code=202, summary="Match a file (text lines or CSV with an address column) as a job")
async def match_file_endpoint(request: Request, actor: ActorDep, file: UploadFile) -> dict[str, Any]:
    actor.require(Permission.RUN_JOBS)
    platform = platform_of(request)
    name = Path(file.filename or "addresses.txt").name
    stem = uuid.uuid4().hex
    path = await save_upload(platform.settings.data_dir, file, f"{stem}{Path(name).suffix[:8]}", MAX_UPLOAD)
    output = platform.settings.data_dir / "exports" / f"address-match-{stem}.csv"
    job = platform.jobs.submit(
        actor, MATCH_FILE_JOB, {"input": str(path), "output": str(output), "name": name, "source": f"upload {name}"}
    )
    return job_json(job)


@router.get("/match/jobs/{job_id}/result.csv", summary="The result CSV of a finished match job")
def match_result_endpoint(job_id: int, request: Request, actor: ActorDep) -> FileResponse:
    job = platform_of(request).jobs.visible_to(actor, job_id)
    if job.kind != MATCH_FILE_JOB:
        raise NotFoundError(f"job {job_id} is not an address match job")
    if job.state != "succeeded" or not job.result:
        raise NotFoundError(f"job {job_id} is {job.state}; the result appears when it has succeeded")
    return FileResponse(
        job.result["output"], media_type="text/csv; charset=utf-8", filename=f"address-match-{job_id}.csv"
    )


# --- review queue ----------------------------------------------------------------------------------


class ReviewBody(BaseModel):
    addresses: list[Any] = Field(description="Addresses to match; those not matched confidently are queued")
    source: str = Field("api", description="Where they come from (a system or file name)")


class CloseBody(BaseModel):
    node_id: int | None = Field(None, description="The standard address meant (resolves); none dismisses")
    note: str | None = None


@router.post("/review", status_code=201, summary="Match addresses and queue the unmatched or ambiguous for review")
def review_send_endpoint(body: ReviewBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    platform = platform_of(request)
    actor.require(Permission.RUN_JOBS)
    _batch(body.addresses, "addresses")
    answers = platform.address_matcher.match_many(body.addresses, limit=5)
    issues = [
        Issue("address", error_json(a)["detail"], record=i) for i, a in enumerate(answers) if isinstance(a, Exception)
    ]
    if issues:
        raise InvalidInputError("some addresses cannot be read", issues=issues)
    queued = [(m.text, m.result) for m in answers if isinstance(m, Matched) and m.result.status != "matched"]
    ids = platform.address_review.send(actor, queued, source=body.source) if queued else []
    return {"queued": ids, "matched": len(answers) - len(ids)}


@router.get("/review", summary="The review queue (open items by default)")
def review_list_endpoint(
    request: Request,
    actor: ActorDep,
    state: str | None = "open",
    after_id: int = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    items, total = platform_of(request).address_review.list(actor, state=state or None, after_id=after_id, limit=limit)
    return {
        "total": total,
        "items": [review_json(i) for i in items],
        "next_after_id": items[-1].id if len(items) == limit else None,
    }


@router.post("/review/{item_id}/close", summary="Resolve a review item to a node, or dismiss it")
def review_close_endpoint(item_id: int, body: CloseBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    platform = platform_of(request)
    if body.node_id is not None:
        platform.address_matcher.record(body.node_id)  # NotFoundError for a node that does not exist
    return review_json(platform.address_review.close(actor, item_id, node_id=body.node_id, note=body.note))
