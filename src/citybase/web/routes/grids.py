"""Management grids (网格): list, tree, one grid with members, GeoJSON, locate, create, assign (``/api/grids``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from citybase.domains.access import Actor, Permission
from citybase.domains.grids import Grid, GridTree, Member, NewGrid
from citybase.web.auth import current_actor, platform_of
from citybase.web.serialize import geojson_geometry, iso

router = APIRouter(prefix="/api/grids", tags=["grids"])
ActorDep = Annotated[Actor, Depends(current_actor)]


class GridBody(BaseModel):
    level: str = Field(description="district | street | community | grid | micro (one below the parent's)")
    name: str
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, CGCS2000 lon/lat")
    parent_id: int | None = Field(None, description="Required except for districts")
    code: str | None = Field(None, description="Default: the division code (division levels) or parent code + serial")
    division_code: str | None = Field(None, description="Required for district, street and community grids")


class MemberBody(BaseModel):
    user_id: int
    duty: str = Field("worker", description="worker (网格员) | reviewer (审核员)")


class RetireBody(BaseModel):
    version: int = Field(description="The version you read (optimistic locking)")


def grid_json(g: Grid, *, geometry: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": g.id,
        "parent_id": g.parent_id,
        "level": g.level,
        "code": g.code,
        "name": g.name,
        "division_code": g.division_code,
        "state": g.state,
        "version": g.version,
        "created_at": iso(g.created_at),
        "created_by": g.created_by,
        "updated_at": iso(g.updated_at),
        "updated_by": g.updated_by,
    }
    if geometry:
        out["geometry"] = geojson_geometry(g.geom)
    return out


def member_json(m: Member) -> dict[str, Any]:
    return {
        "id": m.id,
        "grid_id": m.grid_id,
        "user_id": m.user_id,
        "username": m.username,
        "display_name": m.display_name,
        "duty": m.duty,
        "since": iso(m.since),
        "until": iso(m.until),
        "assigned_by": m.assigned_by,
    }


def tree_json(node: GridTree) -> dict[str, Any]:
    return {**grid_json(node.grid), "children": [tree_json(c) for c in node.children]}


def feature(g: Grid) -> dict[str, Any]:
    props = grid_json(g)
    return {"type": "Feature", "id": g.id, "geometry": geojson_geometry(g.geom), "properties": props}


@router.get("", summary="Grids: flat (filter by level, parent, code) or as a tree (?tree=true, from root, depth)")
def list_grids_endpoint(
    request: Request,
    actor: ActorDep,
    level: str | None = None,
    parent_id: int | None = None,
    code: str | None = None,
    tree: bool = False,
    root: int | None = None,
    depth: Annotated[int | None, Query(ge=1, le=5)] = None,
    include_retired: bool = False,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> dict[str, Any]:
    actor.require(Permission.READ)
    grids = platform_of(request).grids
    if tree:
        return {"tree": [tree_json(n) for n in grids.tree(root, depth)]}
    items = grids.find(level=level, parent_id=parent_id, code=code, include_retired=include_retired, limit=limit)
    return {"items": [grid_json(g) for g in items]}


@router.get("/locate", summary="The deepest grid containing a point (lon/lat, CGCS2000)")
def locate_endpoint(
    request: Request,
    actor: ActorDep,
    lon: Annotated[float, Query(ge=-180, le=180)],
    lat: Annotated[float, Query(ge=-90, le=90)],
) -> dict[str, Any]:
    actor.require(Permission.READ)
    g = platform_of(request).grids.locate(lon, lat)
    return {"grid": None if g is None else grid_json(g)}


@router.get("/{grid_id:int}.geojson", summary="One grid as a GeoJSON Feature")
def grid_geojson_endpoint(grid_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    actor.require(Permission.READ)
    return feature(platform_of(request).grids.grid(grid_id))


@router.get("/{grid_id:int}", summary="One grid with its polygon and current members (?f=geojson: a Feature)")
def get_grid_endpoint(grid_id: int, request: Request, actor: ActorDep, f: str | None = None) -> dict[str, Any]:
    actor.require(Permission.READ)
    grids = platform_of(request).grids
    g = grids.grid(grid_id)
    if f == "geojson":
        return feature(g)
    out = grid_json(g, geometry=True)
    # who works where is for signed-in users only
    out["members"] = [] if actor.kind == "anonymous" else [member_json(m) for m in grids.members(grid_id)]
    out["children"] = [grid_json(c) for c in grids.children(grid_id)]
    return out


@router.post("", status_code=201, summary="Create a grid under its parent (grids.manage)")
def create_grid_endpoint(body: GridBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    new = NewGrid(
        level=body.level,
        name=body.name,
        geom=body.geometry,
        parent_id=body.parent_id,
        code=body.code,
        division_code=body.division_code,
    )
    return grid_json(platform_of(request).grids.create(actor, new), geometry=True)


@router.post("/{grid_id:int}/retire", summary="Retire a grid without active children (grids.manage)")
def retire_grid_endpoint(grid_id: int, body: RetireBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return grid_json(platform_of(request).grids.retire(actor, grid_id, body.version))


@router.post("/{grid_id:int}/members", status_code=201, summary="Assign a worker or reviewer (grids.manage)")
def assign_endpoint(grid_id: int, body: MemberBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return member_json(platform_of(request).grids.assign(actor, grid_id, body.user_id, body.duty))


@router.delete("/{grid_id:int}/members/{user_id:int}", status_code=204, summary="End an assignment (grids.manage)")
def unassign_endpoint(grid_id: int, user_id: int, request: Request, actor: ActorDep, duty: str = "worker") -> None:
    platform_of(request).grids.unassign(actor, grid_id, user_id, duty)
