"""Portal login sessions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from citybase.domains.access import Actor
from citybase.web.auth import _credential, current_actor, platform_of

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginBody(BaseModel):
    username: str
    password: str


@router.post("/login", summary="Log in; returns a bearer token")
def login_endpoint(body: LoginBody, request: Request) -> dict[str, Any]:
    token, user = platform_of(request).access.login(body.username, body.password)
    return {
        "token": token,
        "token_type": "bearer",
        "user": {
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.value,
            "department_id": user.department_id,
        },
    }


@router.post("/logout", summary="End the session of the bearer token", status_code=204)
def logout_endpoint(request: Request) -> None:
    token = _credential(request)
    if token:
        platform_of(request).access.logout(token)


@router.get("/me", summary="Who the caller is")
def me_endpoint(actor: Annotated[Actor, Depends(current_actor)]) -> dict[str, Any]:
    return {
        "name": actor.name,
        "kind": actor.kind,
        "role": actor.role.value if actor.role else None,
        "department_id": actor.department_id,
        "permissions": sorted(p.value for p in actor.permissions),
    }
