"""The classification table."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from citybase.domains.access import Actor
from citybase.web.auth import current_actor, platform_of

router = APIRouter(prefix="/api/classes", tags=["classes"])
ActorDep = Annotated[Actor, Depends(current_actor)]


@router.get("", summary="All object classes with their attribute definitions and object counts")
def list_classes_endpoint(request: Request, actor: ActorDep) -> dict[str, Any]:
    platform = platform_of(request)
    counts = platform.objects.count_by_class()
    return {"items": [{**c.as_dict(), "objects": counts.get(c.code, 0)} for c in platform.classes.all()]}


@router.get("/{code}", summary="One class")
def get_class_endpoint(code: str, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).classes.find(code).as_dict()


@router.post("", status_code=201, summary="Add a class (platform admins)")
def create_class_endpoint(request: Request, actor: ActorDep, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    return platform_of(request).classes.create(actor, body).as_dict()
