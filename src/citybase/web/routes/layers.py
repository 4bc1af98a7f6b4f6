"""Layers: list, read, create, change (``/api/layers``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from citybase.domains.access import Actor
from citybase.domains.layers import Layer, LayerChanges, NewLayer
from citybase.web.auth import current_actor, platform_of
from citybase.web.serialize import iso

router = APIRouter(prefix="/api/layers", tags=["layers"])
ActorDep = Annotated[Actor, Depends(current_actor)]


class LayerBody(BaseModel):
    name: str = Field(description="Slug used in URLs, e.g. buildings")
    title: str
    class_code: str = Field(description="The object class the layer publishes")
    description: str = ""
    department_id: int | None = Field(None, description="Owner department (default: the caller's)")
    kind: str = "class"
    style: dict[str, Any] = Field(default_factory=dict, description="MapLibre style layer fragment")
    access: str = Field("public", description="public | internal | restricted")
    allowed_departments: list[int] = Field(default_factory=list)


class LayerPatch(BaseModel):
    title: str | None = None
    description: str | None = None
    department_id: int | None = None
    style: dict[str, Any] | None = None
    access: str | None = None
    allowed_departments: list[int] | None = None


def layer_json(lyr: Layer) -> dict[str, Any]:
    return {
        "id": lyr.id,
        "name": lyr.name,
        "title": lyr.title,
        "description": lyr.description,
        "department_id": lyr.department_id,
        "kind": lyr.kind,
        "class_code": lyr.class_code,
        "style": lyr.style,
        "access": lyr.access,
        "allowed_departments": lyr.allowed_departments,
        "created_at": iso(lyr.created_at),
        "updated_at": iso(lyr.updated_at),
        "links": {"features": f"/ogc/collections/{lyr.name}/items"},
    }


@router.get("", summary="Layers the caller may read")
def list_layers_endpoint(request: Request, actor: ActorDep) -> dict[str, Any]:
    return {"items": [layer_json(lyr) for lyr in platform_of(request).layers.list(actor)]}


@router.get("/{name}", summary="One layer")
def get_layer_endpoint(name: str, request: Request, actor: ActorDep) -> dict[str, Any]:
    return layer_json(platform_of(request).layers.get(actor, name))


@router.post("", status_code=201, summary="Publish a class of objects as a layer (platform and department admins)")
def create_layer_endpoint(body: LayerBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return layer_json(platform_of(request).layers.create(actor, NewLayer(**body.model_dump())))


@router.patch("/{name}", summary="Change a layer's title, description, style or access")
def update_layer_endpoint(name: str, body: LayerPatch, request: Request, actor: ActorDep) -> dict[str, Any]:
    changes = LayerChanges(**body.model_dump(exclude_unset=True))
    return layer_json(platform_of(request).layers.update(actor, name, changes))
