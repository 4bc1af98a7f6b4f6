"""QR door plates: the public address page, the public report endpoint, printable plate sheets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from citybase.domains.access import Actor, Permission
from citybase.domains.collect import PublicReports, RateLimiter, check_report
from citybase.domains.registry import (
    PublicAddress,
    one_plate_svg,
    plate_sheet,
    plate_sheet_pdf,
    plate_sheet_svg,
    plate_url,
    public_address,
    single_plate,
)
from citybase.kernel.errors import InvalidInputError, Issue, NotFoundError
from citybase.platform import Platform
from citybase.web.auth import current_actor, platform_of
from citybase.web.plate_page import CSP, address_page, not_found_page

router = APIRouter(tags=["door plates"])
ActorDep = Annotated[Actor, Depends(current_actor)]
MAX_BODY = 8 * 1024  # bytes of a public report request
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class ReportBody(BaseModel):
    """A citizen's report; lengths are checked again, with clear reasons, by ``check_report``."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=100, description="display code of the plate (from the QR URL)")
    kind: str = Field(max_length=40, description="new_shop | moved_out | wrong_plate | other")
    description: str = Field(max_length=2000, description="what changed (at most 500 characters)")
    phone: str | None = Field(None, max_length=40, description="optional contact phone, stored encrypted")


def _reports(request: Request) -> PublicReports:
    """One report service (and so one rate limiter) per app, built on first use."""
    found: PublicReports | None = getattr(request.app.state, "public_reports", None)
    if found is not None:
        return found
    platform: Platform = platform_of(request)
    # the contact phone is encrypted with the population registry's key (outside the database)
    reports = PublicReports(platform.addresses, platform.collect, platform.people.personal, RateLimiter())
    request.app.state.public_reports = reports
    return reports


def public_json(a: PublicAddress, base_url: str) -> dict[str, Any]:
    return {
        "display_code": a.display_code,
        "url": plate_url(base_url, a.display_code),
        "name": a.name,
        "level": a.level,
        "full_address": a.full_address,
        "state": a.state,
        "object_code": a.object_code,
        "lon": a.lon,
        "lat": a.lat,
        "approximate": a.approximate,
        "community": a.community,
        "children": [
            {"name": c.name, "level": c.level, "display_code": c.display_code, "lon": c.lon, "lat": c.lat}
            for c in a.children
        ],
    }


@router.get("/a/{display_code}", response_class=HTMLResponse, include_in_schema=False)
def public_page_endpoint(display_code: str, request: Request) -> HTMLResponse:
    """The page a door-plate QR code opens. Public: no login, whatever ``anonymous_read`` says."""
    try:
        a = public_address(platform_of(request).addresses, display_code)
    except NotFoundError:
        return HTMLResponse(not_found_page(display_code), status_code=404, headers=PAGE_HEADERS)
    return HTMLResponse(address_page(a), headers=PAGE_HEADERS)


@router.get("/api/public/addresses/{display_code}", summary="The public view of an address (what its QR shows)")
def public_address_endpoint(display_code: str, request: Request) -> dict[str, Any]:
    platform = platform_of(request)
    return public_json(public_address(platform.addresses, display_code), platform.settings.public_base_url)


@router.post("/api/public/reports", status_code=201, summary="A citizen's report from a door plate (anonymous)")
def public_report_endpoint(body: ReportBody, request: Request) -> Any:
    """JSON only (a cross-site HTML form cannot send it without a CORS preflight), size-limited, rate-limited."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise InvalidInputError("report too large", issues=[Issue("body", f"at most {MAX_BODY} bytes")])
    report = check_report(body.code, body.kind, body.description, body.phone)
    client = request.client.host if request.client else "unknown"
    receipt = _reports(request).submit(report, client)  # RateLimitedError → 429 with Retry-After (web.errors)
    return JSONResponse(
        {"task_id": receipt.task_id, "reference": receipt.reference, "kind": receipt.kind, "state": "open"},
        status_code=201,
    )


def _sheet(request: Request, actor: Actor, parent: int) -> Any:
    actor.require(Permission.READ)
    platform = platform_of(request)
    return plate_sheet(platform.addresses, platform.settings.public_base_url, parent)


@router.get(
    "/api/plates/sheet.svg",
    summary="Printable door plates of a road or compound (A4 pages, SVG)",
    response_class=Response,
)
def plate_sheet_svg_endpoint(request: Request, actor: ActorDep, parent: Annotated[int, Query(ge=1)]) -> Response:
    return Response(plate_sheet_svg(_sheet(request, actor, parent)), media_type="image/svg+xml")


@router.get(
    "/api/plates/sheet.pdf",
    summary="Printable door plates of a road or compound (A4 pages, PDF)",
    response_class=Response,
)
def plate_sheet_pdf_endpoint(request: Request, actor: ActorDep, parent: Annotated[int, Query(ge=1)]) -> Response:
    sheet = _sheet(request, actor, parent)
    headers = {"Content-Disposition": f'inline; filename="plates-{parent}.pdf"'}
    return Response(plate_sheet_pdf(sheet), media_type="application/pdf", headers=headers)


@router.get(
    "/api/plates/{node_id}.svg", summary="The plate of one door plate or building (SVG)", response_class=Response
)
def one_plate_svg_endpoint(node_id: int, request: Request, actor: ActorDep) -> Response:
    actor.require(Permission.READ)
    platform = platform_of(request)
    plate = single_plate(platform.addresses, platform.settings.public_base_url, node_id)
    return Response(one_plate_svg(plate), media_type="image/svg+xml")
