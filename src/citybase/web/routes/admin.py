"""Departments, users, API keys and the audit log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from citybase.domains.access import Actor, audit_entries
from citybase.web.auth import current_actor, platform_of
from citybase.web.serialize import iso

router = APIRouter(prefix="/api/admin", tags=["administration"])
ActorDep = Annotated[Actor, Depends(current_actor)]


class DepartmentBody(BaseModel):
    code: str
    name: str
    name_en: str | None = None
    division_code: str | None = None


class UserBody(BaseModel):
    username: str
    password: str
    role: str
    department: str | None = None
    display_name: str | None = None


class ApiKeyBody(BaseModel):
    department: str
    name: str
    role: str = "department_user"


@router.get("/departments", summary="Departments")
def list_departments_endpoint(request: Request, actor: ActorDep) -> dict[str, Any]:
    return {"items": [asdict(d) for d in platform_of(request).access.departments()]}


@router.post("/departments", status_code=201, summary="Add a department (platform admins)")
def create_department_endpoint(body: DepartmentBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return asdict(
        platform_of(request).access.create_department(actor, body.code, body.name, body.name_en, body.division_code)
    )


@router.get("/users", summary="Users (department admins: their own department)")
def list_users_endpoint(request: Request, actor: ActorDep) -> dict[str, Any]:
    return {"items": [{**asdict(u), "role": u.role.value} for u in platform_of(request).access.users(actor)]}


@router.post("/users", status_code=201, summary="Add a user")
def create_user_endpoint(body: UserBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    user = platform_of(request).access.create_user(
        actor, body.username, body.password, body.role, body.department, body.display_name
    )
    return {**asdict(user), "role": user.role.value}


def _key_json(key: Any) -> dict[str, Any]:
    return {
        "id": key.id,
        "prefix": key.prefix,
        "name": key.name,
        "role": key.role.value,
        "department_id": key.department_id,
        "created_at": iso(key.created_at),
        "revoked_at": iso(key.revoked_at),
    }


@router.get("/api-keys", summary="API keys (never their secrets)")
def list_api_keys_endpoint(request: Request, actor: ActorDep) -> dict[str, Any]:
    return {"items": [_key_json(k) for k in platform_of(request).access.api_keys(actor)]}


@router.post("/api-keys", status_code=201, summary="Issue an API key; the secret is shown only in this response")
def issue_api_key_endpoint(body: ApiKeyBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    issued = platform_of(request).access.issue_api_key(actor, body.department, body.name, body.role)
    return {**_key_json(issued.key), "secret": issued.secret}


@router.delete("/api-keys/{key_id}", summary="Revoke an API key")
def revoke_api_key_endpoint(key_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return _key_json(platform_of(request).access.revoke_api_key(actor, key_id))


@router.get("/audit", summary="The audit log, newest first")
def audit_endpoint(
    request: Request,
    actor: ActorDep,
    target_type: str | None = None,
    target_id: str | None = None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    entries = audit_entries(
        platform_of(request).store,
        actor,
        target_type=target_type,
        target_id=target_id,
        action=action,
        limit=min(max(limit, 1), 1000),
        offset=max(offset, 0),
    )
    return {"items": [{**asdict(e), "at": iso(e.at)} for e in entries]}
