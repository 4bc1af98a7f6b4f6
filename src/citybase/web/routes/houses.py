"""Actual houses (实有房屋): the house card, writes with optimistic locking, safety inspections, and the
door-plate scan the phone page ("two scans, five steps") starts from."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from citybase.domains.access import Actor
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.web.auth import current_actor, platform_of

router = APIRouter(prefix="/api/houses", tags=["houses"])
ActorDep = Annotated[Actor, Depends(current_actor)]
Payload = Annotated[dict[str, Any], Body()]


def _version(body: dict[str, Any]) -> int:
    version = body.pop("version", None)
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidInputError("version required", issues=[Issue("version", "the version you read (an integer)")])
    return version


@router.get("/scan", summary="A scanned door-plate QR, display code or node id -> the address and its buildings")
def scan_endpoint(request: Request, actor: ActorDep, q: str) -> dict[str, Any]:
    return platform_of(request).houses.resolve_scan(actor, q)


@router.get("/by-address/{node_id}", summary="The house card of the house at an address node")
def card_by_node_endpoint(node_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).houses.card(actor, node_id=node_id)


@router.get("/{house_id}", summary="The house card: address, codes, attributes, people, organisations, history")
def card_endpoint(house_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).houses.card(actor, house_id=house_id)


@router.post("", status_code=201, summary="Record the house at a building, unit, floor or room address")
def create_endpoint(body: Payload, request: Request, actor: ActorDep) -> dict[str, Any]:
    node_id = body.pop("address_node_id", None)
    if not isinstance(node_id, int) or isinstance(node_id, bool):
        raise InvalidInputError("address required", issues=[Issue("address_node_id", "the id of an address node")])
    return platform_of(request).houses.create(actor, node_id, body)


@router.patch("/{house_id}", summary="Change house attributes; send the version you read (409 when stale)")
def update_endpoint(house_id: int, body: Payload, request: Request, actor: ActorDep) -> dict[str, Any]:
    version = _version(body)
    return platform_of(request).houses.update(actor, house_id, version, body)


@router.get("/{house_id}/inspections", summary="Safety inspections of a house, newest first")
def inspections_endpoint(house_id: int, request: Request, actor: ActorDep) -> dict[str, Any]:
    return {"items": platform_of(request).houses.inspections(actor, house_id)}


@router.post("/{house_id}/inspections", status_code=201, summary="Record a safety inspection (房屋安全鉴定)")
def inspect_endpoint(house_id: int, body: Payload, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).houses.add_inspection(actor, house_id, body)
