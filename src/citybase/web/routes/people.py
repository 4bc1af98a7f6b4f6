"""Actual population (实有人口): people, households, population statistics and personal-data grants.

Everything is masked unless the caller may see more (see ``domains/registry/remit.py``); an unmasked
read needs ``unmasked=true`` and a ``purpose`` and is written to the audit log.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from pydantic import BaseModel, Field

from citybase.domains.access import Actor, Permission
from citybase.domains.registry.people_import_job import JOB_KIND as IMPORT_PEOPLE_JOB
from citybase.domains.registry.people_import_job import job_params
from citybase.web.auth import current_actor, platform_of
from citybase.web.routes.operations import job_json
from citybase.web.uploads import save_upload

router = APIRouter(tags=["population"])
ActorDep = Annotated[Actor, Depends(current_actor)]
MAX_UPLOAD = 200 * 1024 * 1024  # about 2 million rows


class PersonBody(BaseModel):
    id_number: str | None = None
    name: str | None = None
    phone: str | None = None
    residence_type: str | None = None
    address_node_id: int | None = None
    household_id: int | None = None
    relation: str | None = None
    move_in: str | None = None


class PersonPatch(BaseModel):
    version: int
    name: str | None = None
    phone: str | None = None
    residence_type: str | None = None


class MoveBody(BaseModel):
    kind: str = Field("move", description="move | move_in | move_out")
    address_node_id: int | None = None
    household_id: int | None = None
    relation: str | None = None
    residence_type: str | None = None
    date: str | None = Field(None, description="the day of a move (default today)")
    move_in: str | None = None
    move_out: str | None = None
    leaves_city: bool = True
    version: int | None = Field(None, description="the person's version you read (409 if it moved)")


class HouseholdBody(BaseModel):
    address_node_id: int
    number: str | None = None


class GrantBody(BaseModel):
    department_id: int
    scope: str = "all"
    purpose: str


class ZoneBody(BaseModel):
    code: str
    name: str
    school: str | None = None
    node_ids: list[int]


# --- people ---------------------------------------------------------------------------------------
@router.post("/api/people", status_code=201, summary="Register a person (and move them in with address_node_id)")
def register_endpoint(body: PersonBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).people.register(actor, body.model_dump(exclude_none=True))


@router.get("/api/people", summary="Search people (masked) by ID number, exact name or address subtree")
def search_endpoint(
    request: Request,
    actor: ActorDep,
    id_number: str | None = None,
    name: str | None = None,
    node_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    found = platform_of(request).people.search(
        actor, id_number=id_number, name=name, node_id=node_id, limit=limit, offset=offset
    )
    return {"people": found, "count": len(found)}


@router.get("/api/people/{person_id}", summary="One person: masked, or in full with unmasked=true and a purpose")
def person_endpoint(
    person_id: int, request: Request, actor: ActorDep, unmasked: bool = False, purpose: str | None = None
) -> dict[str, Any]:
    return platform_of(request).people.get(actor, person_id, unmasked=unmasked, purpose=purpose)


@router.get("/api/people/{person_id}/history", summary="A person's versions and residences (masked)")
def history_endpoint(person_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).people.history(actor, person_id)


@router.patch("/api/people/{person_id}", summary="Change name, phone or residence type (optimistic locking)")
def patch_endpoint(person_id: int, body: PersonPatch, request: Request, actor: ActorDep) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    version = changes.pop("version")
    return platform_of(request).people.update(actor, person_id, version, changes)


@router.post("/api/people/{person_id}/move", summary="Move in, move out or move (one transaction; history kept)")
def move_endpoint(person_id: int, body: MoveBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).people.move(actor, person_id, body.model_dump(exclude_none=True))


# --- households -----------------------------------------------------------------------------------
@router.post("/api/households", status_code=201, summary="A new household (户) at a dwelling")
def household_create_endpoint(body: HouseholdBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).households.create(actor, body.address_node_id, body.number)


@router.get("/api/households", summary="The households at one address node")
def households_endpoint(request: Request, actor: ActorDep, node_id: int) -> dict[str, Any]:
    return {"households": platform_of(request).households.at_node(actor, node_id)}


@router.get("/api/households/{household_id}", summary="One household with its current members (masked)")
def household_endpoint(household_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).households.get(actor, household_id)


class HouseholdMoveBody(BaseModel):
    version: int = Field(description="the household's version you read (409 if it moved)")
    address_node_id: int
    date: str | None = Field(None, description="the day of the move (default today)")


class HouseholdDissolveBody(BaseModel):
    version: int = Field(description="the household's version you read (409 if it moved)")
    members: str = Field("stay", description="stay (at the dwelling, without a household) | leave (the city)")
    date: str | None = None


@router.post("/api/households/{household_id}/move", summary="Move a household and all its members (one transaction)")
def household_move_endpoint(
    household_id: int, body: HouseholdMoveBody, request: Request, actor: ActorDep
) -> dict[str, Any]:
    return platform_of(request).households.move(actor, household_id, body.model_dump())


@router.post("/api/households/{household_id}/dissolve", summary="Dissolve a household (members stay or leave)")
def household_dissolve_endpoint(
    household_id: int, body: HouseholdDissolveBody, request: Request, actor: ActorDep
) -> dict[str, Any]:
    return platform_of(request).households.dissolve(actor, household_id, body.model_dump())


@router.get("/api/households/{household_id}/history", summary="A household's versions (create, head, move, dissolve)")
def household_history_endpoint(household_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return {"versions": platform_of(request).households.history(actor, household_id)}


# --- statistics (no personal data) ----------------------------------------------------------------
STATS = "/api/stats/population"


@router.get(f"{STATS}/communities", summary="Current residents per community, by residence type")
def by_community_endpoint(request: Request, actor: ActorDep) -> dict[str, Any]:
    return {"communities": platform_of(request).population.by_community(actor)}


@router.get(f"{STATS}/grids", summary="Current residents per grid of a level (district … micro; default grid)")
def by_grid_endpoint(request: Request, actor: ActorDep, level: str = "grid") -> dict[str, Any]:
    return {"grids": platform_of(request).population.by_grid(actor, level)}


@router.get(f"{STATS}/age-bands", summary="Current residents per age band at a date (default today)")
def by_age_endpoint(
    request: Request, actor: ActorDep, at: date | None = None, node_id: int | None = None
) -> dict[str, Any]:
    return {"bands": platform_of(request).population.by_age_band(actor, at, node_id)}


@router.get(f"{STATS}/residence-types", summary="People per residence type")
def by_type_endpoint(request: Request, actor: ActorDep) -> dict[str, Any]:
    return {"types": platform_of(request).population.by_residence_type(actor)}


@router.get(f"{STATS}/households-per-building", summary="Households per building (optionally under a node)")
def households_per_building_endpoint(request: Request, actor: ActorDep, node_id: int | None = None) -> dict[str, Any]:
    return {"buildings": platform_of(request).population.households_per_building(actor, node_id)}


@router.get(f"{STATS}/school-age", summary="Children aged 6-14 per enrolment zone at a date (default today)")
def school_age_endpoint(request: Request, actor: ActorDep, at: date | None = None) -> dict[str, Any]:
    return {"zones": platform_of(request).population.school_age_by_zone(actor, at)}


@router.post("/api/enrolment-zones", status_code=201, summary="An enrolment zone (学区) over address subtrees")
def zone_endpoint(body: ZoneBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    zid = platform_of(request).population.create_zone(actor, body.code, body.name, body.node_ids, body.school)
    return {"id": zid, "code": body.code}


# --- personal-data grants (platform admins) -------------------------------------------------------
@router.get("/api/personal-data-grants", summary="Grants (platform admins: all; departments: their own)")
def grants_endpoint(request: Request, actor: ActorDep, department_id: int | None = None) -> dict[str, Any]:
    return {"grants": platform_of(request).personal_grants.list(actor, department_id)}


@router.post("/api/personal-data-grants", status_code=201, summary="Grant a department unmasked personal data")
def grant_endpoint(body: GrantBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).personal_grants.grant(actor, body.department_id, body.scope, body.purpose)


@router.post("/api/personal-data-grants/{grant_id}/revoke", summary="Revoke a personal-data grant")
def revoke_endpoint(grant_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).personal_grants.revoke(actor, grant_id)


@router.post("/api/people/imports", status_code=202, summary="Import a people CSV (UTF-8 or GBK) as a job")
async def import_people_endpoint(request: Request, actor: ActorDep, file: UploadFile) -> dict[str, Any]:
    """The CSV of ``citybase people import``; follow the job at ``GET /api/jobs/{id}`` (progress, then the
    counts and the rejected rows with their line, field and reason)."""
    actor.require(Permission.RUN_JOBS)
    actor.require(Permission.WRITE_REGISTRY)
    platform = platform_of(request)
    name = f"people-{uuid.uuid4().hex}.csv"  # personal data: private, and removed when the job ends
    path = await save_upload(platform.settings.data_dir, file, name, MAX_UPLOAD, private=True)
    return job_json(platform.jobs.submit(actor, IMPORT_PEOPLE_JOB, job_params(actor, path)))
