"""Unified codes: resolution, assignment, lifecycle and lineage, crosswalk, labels, health; Beidou codes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from citybase.domains.access import Actor
from citybase.domains.codes import CodeCard, CrosswalkEntry, HealthReport, LineageLink, Part, Selection
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.kernel.geo import BBox, geometry_from_geojson
from citybase.standards import beidou, beidou3d
from citybase.web.auth import current_actor, platform_of
from citybase.web.routes.operations import job_json
from citybase.web.serialize import geojson_geometry, iso

router = APIRouter(tags=["codes"])
ActorDep = Annotated[Actor, Depends(current_actor)]
SVG, PNG = "image/svg+xml", "image/png"


# --- serialisation ---------------------------------------------------------------------------------


def _link(link: LineageLink) -> dict[str, Any]:
    return {
        "from_code": link.from_code,
        "to_code": link.to_code,
        "kind": link.kind,
        "at": iso(link.at),
        "actor": link.actor,
    }


def card_json(card: CodeCard) -> dict[str, Any]:
    bd = card.beidou
    return {
        "code": card.code,
        "code_state": card.code_state,
        "issued_at": iso(card.issued_at),
        "retired_at": iso(card.retired_at),
        "replaced_by": card.replaced_by,
        "division": {"code": card.division, "name": card.division_name},
        "object": {
            "id": card.object_id,
            "class_code": card.class_code,
            "class_name": card.class_name,
            "name": card.name,
            "state": card.state,
            "version": card.version,
            "attributes": card.attributes,
        },
        "department": None
        if card.department_id is None
        else {"id": card.department_id, "code": card.department_code, "name": card.department_name},
        "geometry": geojson_geometry(card.geometry),
        "beidou": None
        if bd is None
        else {"code2d": bd.code2d, "code3d": bd.code3d, "height_m": bd.height_m, "computed_at": iso(bd.computed_at)},
        "lineage": {"came_from": [_link(x) for x in card.came_from], "went_to": [_link(x) for x in card.went_to]},
        "address": card.address,
        "warnings": list(card.warnings),
        "links": {
            "label_svg": f"/api/codes/{card.code}/label.svg",
            "label_png": f"/api/codes/{card.code}/label.png",
            "object": f"/api/objects/{card.object_id}",
            "portal": f"/portal/code.html?code={card.code}",
        },
    }


def crosswalk_json(e: CrosswalkEntry) -> dict[str, Any]:
    return {
        "department": {"id": e.department_id, "code": e.department_code},
        "legacy_id": e.legacy_id,
        "code": e.code,
        "code_state": e.code_state,
        "created_at": iso(e.created_at),
        "created_by": e.created_by,
    }


def health_json(r: HealthReport) -> dict[str, Any]:
    return {
        "department_id": r.department_id,
        "generated_at": iso(r.generated_at),
        "objects": r.objects,
        "coded": r.coded,
        "problems": [
            {"kind": p.kind, "description": p.description, "count": p.count, "samples": p.samples} for p in r.problems
        ],
    }


# --- request bodies --------------------------------------------------------------------------------


class AssignBody(BaseModel):
    object_ids: list[int] | None = Field(None, description="Code these objects now, in one transaction")
    class_code: str | None = Field(None, description="Or code every uncoded object of this class ... (as a job)")
    department: str | None = Field(None, description="... of this department (code or id) ...")
    bbox: str | None = Field(None, description="... in this box: minx,miny,maxx,maxy")
    legacy_attribute: str | None = Field(None, description="Attribute holding the department's own id (crosswalk)")
    height: float | None = Field(None, description="Ellipsoidal height in metres for a 3D Beidou code (one object)")


class PartBody(BaseModel):
    name: str
    class_code: str | None = None
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON geometry, CGCS2000 lon/lat")
    attributes: dict[str, Any] | None = None

    def part(self) -> Part:
        geometry = None if self.geometry is None else geometry_from_geojson(self.geometry)
        return Part(self.name, geometry, self.attributes, self.class_code)


class MergeBody(PartBody):
    with_codes: list[str] = Field(alias="with", description="The other codes merged with this one")


class SplitBody(BaseModel):
    parts: list[PartBody]


class CrosswalkBody(BaseModel):
    code: str


class PermitBody(PartBody):
    permit_no: str
    permit_date: str = Field(description="YYYY-MM-DD")
    department_id: int | None = None


class SurveyBody(BaseModel):
    area_m2: float
    survey_date: str
    geometry: dict[str, Any] | None = None


class AcceptanceBody(BaseModel):
    acceptance_date: str


# --- fixed paths first (they would otherwise match /api/codes/{code}) -------------------------------


@router.post("/api/codes/assign", summary="Assign codes: given objects now, or a class/department/bbox as a job")
def assign_codes_endpoint(body: AssignBody, request: Request, response: Response, actor: ActorDep) -> dict[str, Any]:
    codes = platform_of(request).codes
    if body.object_ids is not None:
        if body.height is not None:
            if len(body.object_ids) != 1:
                raise InvalidInputError("bad height", issues=[Issue("height", "give a height for one object only")])
            done = [codes.assign(actor, body.object_ids[0], height=body.height)]
        else:
            done = codes.assign_many(actor, body.object_ids)
        return {"assigned": [{"object_id": a.object_id, "code": a.code, "beidou": a.beidou} for a in done]}
    dept = (
        None
        if body.department is None
        else codes.access.department(int(body.department) if body.department.isdigit() else body.department).id
    )
    selection = Selection(body.class_code, dept, BBox.parse(body.bbox) if body.bbox else None, body.legacy_attribute)
    response.status_code = 202
    return job_json(codes.submit_bulk(actor, selection))


@router.get("/api/codes/health", summary="Code health report of a department (or of all)")
def code_health_endpoint(request: Request, actor: ActorDep, department: str | None = None) -> dict[str, Any]:
    ref: str | int | None = int(department) if department and department.isdigit() else department
    return health_json(platform_of(request).codes.health(actor, ref))


@router.get(
    "/api/codes/labels.svg",
    summary="A sheet of QR labels for the coded objects of a class in a box",
    response_class=Response,
)
def label_sheet_endpoint(
    request: Request, actor: ActorDep, class_code: Annotated[str, Query(alias="class")], bbox: str
) -> Response:
    svg = platform_of(request).codes.label_sheet(class_code, BBox.parse(bbox))
    return Response(svg, media_type=SVG)


@router.get("/api/codes/validate/{code}", summary="Check any code (also one not issued here)")
def validate_code_endpoint(code: str, request: Request, actor: ActorDep) -> dict[str, Any]:
    u = platform_of(request).codes.validate(code)
    return {
        "code": u.text,
        "division": u.division,
        "class_code": u.class_code,
        "serial": u.serial,
        "check": u.check,
        "warnings": list(u.warnings),
        "valid": True,
    }


@router.put("/api/codes/crosswalk/{department}/{legacy_id:path}", summary="Map a department's own id to a code")
def put_crosswalk_endpoint(
    department: str, legacy_id: str, body: CrosswalkBody, request: Request, actor: ActorDep
) -> dict[str, Any]:
    return crosswalk_json(platform_of(request).codes.map_legacy(actor, department, legacy_id, body.code))


@router.get("/api/codes/crosswalk/{department}/{legacy_id:path}", summary="Look a code up by a department's own id")
def get_crosswalk_endpoint(department: str, legacy_id: str, request: Request, actor: ActorDep) -> dict[str, Any]:
    return crosswalk_json(platform_of(request).codes.lookup_legacy(department, legacy_id))


@router.delete(
    "/api/codes/crosswalk/{department}/{legacy_id:path}",
    status_code=204,
    summary="Remove a wrong crosswalk entry",
    response_class=Response,
)
def delete_crosswalk_endpoint(department: str, legacy_id: str, request: Request, actor: ActorDep) -> Response:
    platform_of(request).codes.unmap_legacy(actor, department, legacy_id)
    return Response(status_code=204)


@router.post(
    "/api/codes/buildings/planning-permit",
    status_code=201,
    summary="工程规划许可: register a planned building and give it its code",
)
def planning_permit_endpoint(body: PermitBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    card = platform_of(request).codes.planning_permit(
        actor, body.part(), permit_no=body.permit_no, permit_date=body.permit_date, department_id=body.department_id
    )
    return card_json(card)


# --- one code --------------------------------------------------------------------------------------


@router.get("/api/codes/{code}", summary="Resolve a code: the object card, Beidou code and lineage")
def resolve_code_endpoint(code: str, request: Request, actor: ActorDep) -> dict[str, Any]:
    return card_json(platform_of(request).codes.resolve(code))


@router.get("/api/codes/{code}/label.svg", summary="QR label of a code (SVG)", response_class=Response)
def label_svg_endpoint(code: str, request: Request, actor: ActorDep) -> Response:
    return Response(platform_of(request).codes.label_svg(code), media_type=SVG)


@router.get("/api/codes/{code}/label.png", summary="QR code of a code's URL (PNG)", response_class=Response)
def label_png_endpoint(code: str, request: Request, actor: ActorDep, scale: int = 8) -> Response:
    if not 1 <= scale <= 40:
        raise InvalidInputError("bad scale", issues=[Issue("scale", "1-40 pixels per module")])
    return Response(platform_of(request).codes.label_png(code, scale=scale), media_type=PNG)


@router.get("/api/codes/{code}/crosswalk", summary="Every department's legacy ids of a code")
def code_crosswalk_endpoint(code: str, request: Request, actor: ActorDep) -> dict[str, Any]:
    return {"items": [crosswalk_json(e) for e in platform_of(request).codes.legacy_ids(code)]}


@router.post("/api/codes/{code}/activate", summary="planned -> active")
def activate_code_endpoint(code: str, request: Request, actor: ActorDep) -> dict[str, Any]:
    return card_json(platform_of(request).codes.activate(actor, code))


@router.post("/api/codes/{code}/retire", summary="Retire a code with its object (the code is never reused)")
def retire_code_endpoint(code: str, request: Request, actor: ActorDep) -> dict[str, Any]:
    return card_json(platform_of(request).codes.retire(actor, code))


@router.post("/api/codes/{code}/merge", status_code=201, summary="Merge this and other codes into one new object")
def merge_code_endpoint(code: str, body: MergeBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    return card_json(platform_of(request).codes.merge(actor, [code, *body.with_codes], body.part()))


@router.post("/api/codes/{code}/split", status_code=201, summary="Split a code into new objects, one code each")
def split_code_endpoint(code: str, body: SplitBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    cards = platform_of(request).codes.split(actor, code, [p.part() for p in body.parts])
    return {"items": [card_json(c) for c in cards]}


@router.post("/api/codes/{code}/area-survey", summary="房屋面积测绘: record the surveyed floor area")
def area_survey_endpoint(code: str, body: SurveyBody, request: Request, actor: ActorDep) -> dict[str, Any]:
    geometry = None if body.geometry is None else geometry_from_geojson(body.geometry)
    card = platform_of(request).codes.area_survey(
        actor, code, area_m2=body.area_m2, survey_date=body.survey_date, geometry=geometry
    )
    return card_json(card)


@router.post("/api/codes/{code}/completion-acceptance", summary="竣工验收备案: the building becomes active")
def completion_acceptance_endpoint(
    code: str, body: AcceptanceBody, request: Request, actor: ActorDep
) -> dict[str, Any]:
    return card_json(
        platform_of(request).codes.completion_acceptance(actor, code, acceptance_date=body.acceptance_date)
    )


# --- Beidou grid codes -----------------------------------------------------------------------------


def _cell_json(cell: beidou.Cell) -> dict[str, Any]:
    return {"level": cell.level, "bounds": list(cell.bounds), "center": list(cell.center), "corner": list(cell.corner)}


@router.get("/api/beidou/encode", summary="Beidou grid location code (GB/T 39409) of a point; 3D with height")
def beidou_encode_endpoint(
    request: Request, actor: ActorDep, lng: float, lat: float, level: int = 10, height: float | None = None
) -> dict[str, Any]:
    code = beidou.encode(lng, lat, level)
    out = {"code": code, **_cell_json(beidou.decode(code))}
    if height is not None:
        out["code3d"] = beidou3d.encode3d(lng, lat, height, level)
    return out


@router.get("/api/beidou/decode/{code}", summary="The cell a 2D or 3D Beidou code names")
def beidou_decode_endpoint(code: str, request: Request, actor: ActorDep) -> dict[str, Any]:
    try:
        return {"code": code.upper(), "dimensions": 2, **_cell_json(beidou.decode(code))}
    except InvalidInputError as as_2d:
        try:
            c3 = beidou3d.decode3d(code)
        except InvalidInputError as as_3d:
            raise InvalidInputError(
                f"not a Beidou grid code: {code!r}",
                issues=[Issue(i.field, f"as a 2D code: {i.reason}") for i in as_2d.issues]
                + [Issue(i.field, f"as a 3D code: {i.reason}") for i in as_3d.issues],
            ) from None
    return {
        "code": c3.code,
        "dimensions": 3,
        **_cell_json(c3.cell),
        "bottom_m": c3.bottom,
        "top_m": c3.top,
        "layers": list(c3.layers),
    }
