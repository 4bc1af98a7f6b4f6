"""3D Tiles 1.1 white models of a building layer (``/api/layers/{name}/3dtiles/``), see docs/3dtiles.md.

tileset.json is checked against the layer's data on every request (``no-cache`` with an ETag); content
URLs carry the data version, so a .glb never changes under its URL and may be cached for long.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from citybase.domains.access import Actor
from citybase.domains.tiles import etag_of
from citybase.domains.tiles3d import MIME_TYPE
from citybase.web.auth import current_actor, platform_of

router = APIRouter(prefix="/api/layers", tags=["3D tiles"])
ActorDep = Annotated[Actor, Depends(current_actor)]
TILESET_TYPE = "application/json"


def _matches(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match") or ""
    return any(tag.strip().removeprefix("W/") in (etag, "*") for tag in header.split(",") if tag.strip())


def _answer(request: Request, data: bytes, media_type: str, etag: str, cache_control: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if _matches(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


@router.get(
    "/{name}/3dtiles/tileset.json",
    summary="3D Tiles 1.1 tileset of a building layer (white models, glTF content)",
    response_class=Response,
    responses={200: {"content": {TILESET_TYPE: {}}}},
)
def tileset_endpoint(name: str, request: Request, actor: ActorDep) -> Response:
    doc = platform_of(request).tiles3d.tileset(actor, name)
    data = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    return _answer(request, data, TILESET_TYPE, etag_of(data), "no-cache")


@router.get(
    "/{name}/3dtiles/content/{token}/{level}/{x}/{y}.glb",
    summary="glTF 2.0 binary content of one 3D tile (from tileset.json)",
    response_class=Response,
    responses={200: {"content": {MIME_TYPE: {}}}},
)
def content_endpoint(name: str, token: str, level: int, x: int, y: int, request: Request, actor: ActorDep) -> Response:
    tile = platform_of(request).tiles3d.content(actor, name, token, level, x, y)
    return _answer(request, tile.data, MIME_TYPE, tile.etag, "private, max-age=86400")
