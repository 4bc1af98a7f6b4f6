"""Statistics of the objects inside a drawn area (the portal's polygon tool)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from citybase.domains.access import Actor
from citybase.domains.objects import stats_in_area
from citybase.kernel.geo import geometry_from_geojson
from citybase.web.auth import current_actor, platform_of

router = APIRouter(prefix="/api/objects", tags=["objects"])
ActorDep = Annotated[Actor, Depends(current_actor)]


class StatsBody(BaseModel):
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon, CGCS2000 lon/lat")
    classes: list[str] = Field(default_factory=list, description="Only these 6-digit class codes (default: all)")


@router.post("/stats", summary="Count the objects that intersect a polygon, per class")
def object_stats_endpoint(body: StatsBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    platform = platform_of(request)
    geometry = geometry_from_geojson(body.geometry)
    stats = stats_in_area(platform.store, platform.classes, geometry, body.classes)
    return {
        "area_m2": round(stats.area_m2, 1),
        "total": stats.total,
        "classes": [
            {"class_code": c.class_code, "name": c.name, "name_en": c.name_en, "count": c.count} for c in stats.classes
        ],
    }
