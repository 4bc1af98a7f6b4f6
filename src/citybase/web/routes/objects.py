"""City objects: CRUD, history, as-of reads and search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, Field

from citybase.domains.access import Actor
from citybase.domains.objects import UNSET, NewObject, ObjectChanges
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.kernel.geo import geometry_from_geojson
from citybase.web.auth import current_actor, platform_of
from citybase.web.params import object_query, parse_time
from citybase.web.serialize import object_feature, object_json, version_json

router = APIRouter(prefix="/api/objects", tags=["objects"])
ActorDep = Annotated[Actor, Depends(current_actor)]


class ObjectBody(BaseModel):
    class_code: str = Field(description="6-digit class code from /api/classes")
    name: str
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON geometry, CGCS2000 lon/lat")
    attributes: dict[str, Any] = Field(default_factory=dict)
    department_id: int | None = None
    parent_id: int | None = None
    state: str = "active"


class ObjectPatch(BaseModel):
    version: int | None = Field(None, description="The version you read (or send If-Match)")
    name: str | None = None
    geometry: dict[str, Any] | None = None
    attributes: dict[str, Any] | None = None
    state: str | None = None
    parent_id: int | None = None


def _expected_version(body_version: int | None, if_match: str | None) -> int:
    raw = if_match.strip('W/"') if if_match else body_version
    try:
        return int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidInputError(
            "version required",
            issues=[Issue("version", "send the version you read, in the body or as If-Match, so no update is lost")],
        ) from None


def _etag(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


@router.post("", status_code=201, summary="Create a city object")
def create_object_endpoint(body: ObjectBody, actor: ActorDep, request: Request, response: Response) -> dict[str, Any]:
    geometry = geometry_from_geojson(body.geometry) if body.geometry is not None else None
    obj = platform_of(request).objects.create(
        actor,
        NewObject(
            class_code=body.class_code,
            name=body.name,
            geometry=geometry,
            attributes=body.attributes,
            department_id=body.department_id,
            parent_id=body.parent_id,
            state=body.state,
        ),
    )
    _etag(response, obj.version)
    response.headers["Location"] = f"/api/objects/{obj.id}"
    return object_json(obj)


@router.get("", summary="Search objects by class, code, name, text, bbox, attribute; f=geojson for maps")
def search_objects_endpoint(request: Request, actor: ActorDep) -> dict[str, Any]:
    query, fmt = object_query(request.query_params)
    page = platform_of(request).objects.search(query)
    links = {}
    if page.has_more:
        links["next"] = str(request.url.include_query_params(offset=page.offset + page.limit))
    if fmt == "geojson":
        return {
            "type": "FeatureCollection",
            "features": [object_feature(o) for o in page.items],
            "numberReturned": len(page.items),
            "numberMatched": page.total,
            "links": [{"rel": "next", "href": links["next"], "type": "application/geo+json"}] if links else [],
        }
    return {
        "items": [object_json(o) for o in page.items],
        "limit": page.limit,
        "offset": page.offset,
        "total": page.total,
        "links": links,
    }


@router.get("/{object_id}", summary="One object; as_of gives it as it was at that time")
def get_object_endpoint(
    object_id: int, request: Request, response: Response, actor: ActorDep, as_of: str | None = None
) -> dict[str, Any]:
    when = parse_time(as_of, "as_of") if as_of else None
    obj = platform_of(request).objects.get(object_id, as_of=when)
    _etag(response, obj.version)
    return object_json(obj)


@router.get("/{object_id}/history", summary="Every version of an object, oldest first")
def object_history_endpoint(object_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    versions = platform_of(request).objects.history(object_id)
    return {"object_id": object_id, "versions": [version_json(v) for v in versions]}


@router.patch("/{object_id}", summary="Change an object (optimistic locking: send the version you read)")
def update_object_endpoint(
    object_id: int,
    body: ObjectPatch,
    request: Request,
    response: Response,
    actor: ActorDep,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    expected = _expected_version(body.version, if_match)
    given = body.model_dump(exclude_unset=True)
    changes = ObjectChanges(
        name=given.get("name", UNSET),
        geometry=(geometry_from_geojson(body.geometry) if body.geometry is not None else None)
        if "geometry" in given
        else UNSET,
        attributes=given.get("attributes", UNSET),
        state=given.get("state", UNSET),
        parent_id=given.get("parent_id", UNSET),
    )
    obj = platform_of(request).objects.update(actor, object_id, expected, changes)
    _etag(response, obj.version)
    return object_json(obj)


@router.delete("/{object_id}", summary="Retire an object (nothing is physically deleted)")
def retire_object_endpoint(
    object_id: int,
    request: Request,
    response: Response,
    actor: ActorDep,
    version: int | None = None,
    if_match: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    obj = platform_of(request).objects.retire(actor, object_id, _expected_version(version, if_match))
    _etag(response, obj.version)
    return object_json(obj)
