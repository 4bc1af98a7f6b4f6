"""Actual organisations (实有单位): registration by USCC, search, binding to standard addresses (with the
shopfront photo), the legal representative for allowed roles, cross-checks and CSV import."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, UploadFile

from citybase.domains.access import Actor
from citybase.domains.registry.crosschecks import DEFAULT_MAX_REGISTRATIONS
from citybase.domains.registry.org_service import MAX_PHOTO
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.web.auth import current_actor, platform_of

router = APIRouter(prefix="/api/orgs", tags=["organisations"])
ActorDep = Annotated[Actor, Depends(current_actor)]
Payload = Annotated[dict[str, Any], Body()]
MAX_CSV = 50 * 1024 * 1024


async def _read(upload: UploadFile, limit: int, field: str) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise InvalidInputError("file too large", issues=[Issue(field, f"at most {limit // 2**20} MB")])
    return data


@router.get("", summary="Search organisations by USCC, name or registered address")
def search_endpoint(
    request: Request, actor: ActorDep, q: str, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> dict[str, Any]:
    return {"items": platform_of(request).orgs.search(actor, q, limit=limit)}


@router.post("", status_code=201, summary="Register an organisation (USCC checked; duplicate -> 409)")
def register_endpoint(body: Payload, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).orgs.register(actor, body)


@router.get("/cross-checks", summary="Suspected problem companies: nonexistent, non-commercial, crowded addresses")
def cross_checks_endpoint(
    request: Request,
    actor: ActorDep,
    max_registrations: Annotated[int, Query(ge=1, le=10_000)] = DEFAULT_MAX_REGISTRATIONS,
) -> dict[str, Any]:
    return platform_of(request).orgs.cross_checks(actor, max_registrations=max_registrations)


@router.post("/bind", summary="Bind an organisation (uscc) to a standard address (step 5 of two scans, five steps)")
def bind_endpoint(body: Payload, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).orgs.bind(actor, body)


@router.post("/photos", status_code=201, summary="Upload a shopfront photo; bind refers to it by photo_path")
async def photo_endpoint(photo: UploadFile, request: Request, actor: ActorDep) -> dict[str, Any]:
    data = await _read(photo, MAX_PHOTO, "photo")
    return {"photo_path": platform_of(request).orgs.save_photo(actor, data)}


@router.post("/import", summary="Register organisations from a CSV (UTF-8 or GBK); a report line per bad row")
async def import_endpoint(file: UploadFile, request: Request, actor: ActorDep) -> dict[str, Any]:
    data = await _read(file, MAX_CSV, "file")
    return platform_of(request).orgs.import_csv(actor, data)


@router.get("/by-uscc/{uscc}", summary="One organisation by its USCC")
def by_uscc_endpoint(uscc: str, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).orgs.by_uscc(actor, uscc)


@router.get("/{org_id}", summary="One organisation with its bindings and history (legal representative masked)")
def get_endpoint(org_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).orgs.get(actor, org_id)


@router.patch("/{org_id}", summary="Change an organisation; send the version you read (409 when stale)")
def update_endpoint(org_id: int, body: Payload, request: Request, actor: ActorDep) -> dict[str, Any]:
    version = body.pop("version", None)
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidInputError("version required", issues=[Issue("version", "the version you read (an integer)")])
    return platform_of(request).orgs.update(actor, org_id, version, body)


@router.post("/{org_id}/legal-rep", summary="The unmasked legal representative (personal-data readers; audited)")
def legal_rep_endpoint(org_id: int, body: Payload, request: Request, actor: ActorDep) -> dict[str, Any]:
    purpose = body.get("purpose")
    return {
        "legal_rep": platform_of(request).orgs.legal_rep(actor, org_id, purpose if isinstance(purpose, str) else "")
    }
