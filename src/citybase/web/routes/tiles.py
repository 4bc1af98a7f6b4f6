"""Vector tiles: XYZ MVT per class, per published layer and the composite basemap, TileJSON 3.0, OGC API –
Tiles (minimal) in WebMercatorQuad and the geographic CGCS2000Quad.

A dataset layer's tiles hold only its members; ``?version=N`` draws the layer as it was in version N
(``404`` for a version it does not have, ``400`` for a bad value or a layer without versions).

Empty tiles answer ``204 No Content``; tiles outside the tile matrix (zoom > 22, column or row outside
0..2^zoom − 1) answer ``404`` problem JSON; non-integer indices ``400``. Tiles carry a strong ETag (a
hash of their bytes) and ``If-None-Match`` gives ``304``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from citybase.domains.access import Actor
from citybase.domains.layers import Layer
from citybase.domains.tiles import TILE_MATRIX_SETS, Tile
from citybase.domains.tiles.tms import matrix_size, web_mercator_zoom
from citybase.kernel.errors import InvalidInputError, Issue, NotFoundError
from citybase.standards.mvt import MIME_TYPE
from citybase.web.auth import current_actor, platform_of

router = APIRouter(tags=["tiles"])
ActorDep = Annotated[Actor, Depends(current_actor)]
CACHE_CONTROL = "public, max-age=60, must-revalidate"


async def tile_actor(request: Request) -> Actor:
    """The caller, for the tile routes. Tiles are the hot path: a sync dependency and a sync endpoint
    cost two thread-pool hops per request, so the tile routes are async. Without a credential the
    caller is known without I/O (anonymous, or 401) and is resolved inline; a key or token is checked
    against the database in the thread pool. ``current_actor`` keeps the caller on ``request.state``,
    so the middleware meters the call per caller as for every route."""
    if request.headers.get("x-api-key") or request.headers.get("authorization"):
        return await run_in_threadpool(current_actor, request)
    return current_actor(request)


TileActorDep = Annotated[Actor, Depends(tile_actor)]
VersionQuery = Annotated[
    int | None, Query(ge=1, description="a layer version of a dataset layer (its members and objects then)")
]


def _is_tileset(name: str) -> bool:
    """``basemap`` or a class code; anything else names a published layer (layer names start with a letter)."""
    return name == "basemap" or (len(name) == 6 and name.isdigit())


def _layer(request: Request, actor: Actor, name: str) -> Layer:
    """A published layer the caller may read (else 404), with vector tiles (a geometry class)."""
    layers = getattr(platform_of(request), "layers", None)
    if layers is None:
        raise NotFoundError(f"no layer {name!r}")
    lyr: Layer = layers.get(actor, name)
    if not lyr.class_code:
        raise NotFoundError(f"layer {name!r} has no vector tiles")
    return lyr


def _no_version_here(version: int | None, name: str) -> None:
    if version is not None:
        raise InvalidInputError(
            "no versions", issues=[Issue("version", f"{name!r} is not a dataset layer; only those have versions")]
        )


async def _tile(request: Request, tileset: str, z: int, x: int, y: int, tms: str) -> Tile:
    """A memory-cache hit answers on the event loop; a miss renders (database, disk) in the thread pool."""
    service = platform_of(request).tiles
    hit = service.cached(tileset, z, x, y, tms)
    if hit is not None:
        return hit
    return await run_in_threadpool(service.tile, tileset, z, x, y, tms)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def tile_response(request: Request, tile: Tile) -> Response:
    headers = {"ETag": tile.etag, "Cache-Control": CACHE_CONTROL}
    if etag_matches(request.headers.get("if-none-match"), tile.etag):
        return Response(status_code=304, headers=headers)
    if not tile.data:
        return Response(status_code=204, headers=headers)
    return Response(tile.data, media_type=MIME_TYPE, headers=headers)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get("/api/tiles", summary="Tilesets: the basemap and one per object class")
def tilesets_endpoint(request: Request, actor: ActorDep) -> dict[str, Any]:
    base = _base(request)
    return {
        "tilesets": [
            {
                "name": ts.name,
                "title": ts.title,
                "minzoom": ts.minzoom,
                "maxzoom": ts.maxzoom,
                "layers": [d.class_code for d in ts.layers],
                "tilejson": f"{base}/api/tiles/{ts.name}.json",
            }
            for ts in platform_of(request).tiles.tilesets()
        ]
    }


@router.get("/api/tiles/{tileset}.json", summary="TileJSON 3.0 of a tileset ('basemap', a class code or a layer name)")
def tilejson_endpoint(tileset: str, request: Request, actor: ActorDep, version: VersionQuery = None) -> dict[str, Any]:
    service = platform_of(request).tiles
    if _is_tileset(tileset):
        _no_version_here(version, tileset)
        return service.tilejson(tileset, _base(request))
    return service.layer_tilejson(_layer(request, actor, tileset), _base(request), version)


@router.get(
    "/api/tiles/{tileset}/{z}/{x}/{y}.mvt",
    summary="A Mapbox Vector Tile (WebMercatorQuad z/x/y); 204 when empty",
    response_class=Response,
    responses={200: {"content": {MIME_TYPE: {}}}, 204: {"description": "empty tile"}},
)
async def tile_endpoint(
    tileset: str, z: int, x: int, y: int, request: Request, actor: TileActorDep, version: VersionQuery = None
) -> Response:
    if _is_tileset(tileset):
        _no_version_here(version, tileset)
        return tile_response(request, await _tile(request, tileset, z, x, y, "WebMercatorQuad"))

    def render() -> Tile:  # the layer's access rules and its current version are read from the database
        lyr = _layer(request, actor, tileset)
        return platform_of(request).tiles.layer_tile(lyr, z, x, y, "WebMercatorQuad", version)

    return tile_response(request, await run_in_threadpool(render))


# --- OGC API – Tiles (core, tileset, tilematrixset) ---------------------------------------------------


def _tms_link(base: str, tms_id: str) -> dict[str, Any]:
    return {
        "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
        "type": "application/json",
        "href": f"{base}/ogc/tileMatrixSets/{tms_id}",
    }


@router.get("/ogc/tileMatrixSets", summary="OGC tile matrix sets")
def tile_matrix_sets_endpoint(request: Request, actor: ActorDep) -> JSONResponse:
    base = _base(request)
    sets = []
    for tms_id, build in TILE_MATRIX_SETS.items():
        doc = build(0)
        sets.append(
            {
                "id": tms_id,
                "title": doc["title"],
                "crs": doc["crs"],
                **({"uri": doc["uri"]} if "uri" in doc else {}),
                "links": [{**_tms_link(base, tms_id), "rel": "self"}],
            }
        )
    return JSONResponse({"tileMatrixSets": sets})


@router.get("/ogc/tileMatrixSets/{tms_id}", summary="One OGC tile matrix set")
def tile_matrix_set_endpoint(tms_id: str, request: Request, actor: ActorDep) -> JSONResponse:
    build = TILE_MATRIX_SETS.get(tms_id)
    if build is None:
        raise NotFoundError(f"no tile matrix set {tms_id!r}: use one of {sorted(TILE_MATRIX_SETS)}")
    return JSONResponse(build())


def _collection_class(request: Request, actor: Actor, collection_id: str) -> str:
    """A collection is a class code or the name of a layer over a class (access rules of layers apply)."""
    if len(collection_id) == 6 and collection_id.isdigit():
        platform_of(request).classes.find(collection_id)
        return collection_id
    return str(_layer(request, actor, collection_id).class_code)


def _collection_layer(request: Request, actor: Actor, collection_id: str, version: int | None) -> Layer | None:
    """The layer a collection names (None for a class code), its ``version`` checked (400 / 404)."""
    if len(collection_id) == 6 and collection_id.isdigit():
        platform_of(request).classes.find(collection_id)
        _no_version_here(version, collection_id)
        return None
    lyr = _layer(request, actor, collection_id)
    platform_of(request).tiles.check_version(lyr, version)
    return lyr


def _check_tms(tms_id: str) -> dict[str, Any]:
    """The tile matrix set's description (zoom 0 only), or 404."""
    build = TILE_MATRIX_SETS.get(tms_id)
    if build is None:
        raise NotFoundError(f"no tile matrix set {tms_id!r}: use one of {sorted(TILE_MATRIX_SETS)}")
    return build(0)


def _tms_ref(base: str, tms_id: str) -> dict[str, Any]:
    """``tileMatrixSetURI`` for registered OGC sets, ``tileMatrixSetDefinition`` (our own URL) otherwise."""
    doc = _check_tms(tms_id)
    if "uri" in doc:
        return {"crs": doc["crs"], "tileMatrixSetURI": doc["uri"]}
    return {"crs": doc["crs"], "tileMatrixSetDefinition": f"{base}/ogc/tileMatrixSets/{tms_id}"}


@router.get("/ogc/collections/{collection_id}/tiles", summary="Vector tilesets of a collection")
def collection_tilesets_endpoint(
    collection_id: str, request: Request, actor: ActorDep, version: VersionQuery = None
) -> JSONResponse:
    _collection_layer(request, actor, collection_id, version)
    base = _base(request)
    query = "" if version is None else f"?version={version}"
    return JSONResponse(
        {
            "tilesets": [
                {
                    "title": f"{collection_id} ({tms_id})",
                    "dataType": "vector",
                    **_tms_ref(base, tms_id),
                    "links": [
                        {
                            "rel": "self",
                            "type": "application/json",
                            "href": f"{base}/ogc/collections/{collection_id}/tiles/{tms_id}{query}",
                        }
                    ],
                }
                for tms_id in TILE_MATRIX_SETS
            ]
        }
    )


@router.get("/ogc/collections/{collection_id}/tiles/{tms_id}", summary="A vector tileset of a collection")
def collection_tileset_endpoint(
    collection_id: str, tms_id: str, request: Request, actor: ActorDep, version: VersionQuery = None
) -> JSONResponse:
    _check_tms(tms_id)
    lyr = _collection_layer(request, actor, collection_id, version)
    class_code = collection_id if lyr is None else str(lyr.class_code)
    query = "" if version is None else f"?version={version}"
    base = _base(request)
    tilejson = platform_of(request).tiles.tilejson(class_code, base)
    own = f"{base}/ogc/collections/{collection_id}/tiles/{tms_id}"
    # TileJSON zooms are WebMercatorQuad's; a CGCS2000Quad level z draws like Web Mercator z + 1
    levels = [z for z in range(tilejson["maxzoom"] + 1) if web_mercator_zoom(tms_id, z) >= tilejson["minzoom"]]

    def level(wm_zoom: int) -> str:
        return str(min(z for z in levels if web_mercator_zoom(tms_id, z) >= wm_zoom) if levels else wm_zoom)

    return JSONResponse(
        {
            "title": tilejson["description"],
            "dataType": "vector",
            **_tms_ref(base, tms_id),
            "tileMatrixSetLimits": [
                {
                    "tileMatrix": str(z),
                    "minTileRow": 0,
                    "maxTileRow": matrix_size(tms_id, z)[1] - 1,
                    "minTileCol": 0,
                    "maxTileCol": matrix_size(tms_id, z)[0] - 1,
                }
                for z in levels
            ],
            "layers": [
                {
                    "id": v["id"],
                    "dataType": "vector",
                    "minTileMatrix": level(v["minzoom"]),
                    "maxTileMatrix": str(v["maxzoom"]),
                    "propertiesSchema": {
                        "type": "object",
                        "properties": {
                            k: {"type": t.lower() if t != "Number" else "number"} for k, t in v["fields"].items()
                        },
                    },
                }
                for v in tilejson["vector_layers"]
            ],
            "links": [
                {"rel": "self", "type": "application/json", "href": own + query},
                _tms_link(base, tms_id),
                {
                    "rel": "item",
                    "type": MIME_TYPE,
                    "templated": True,
                    "href": f"{own}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}{query}",
                },
            ],
        }
    )


@router.get(
    "/ogc/collections/{collection_id}/tiles/{tms_id}/{tile_matrix}/{tile_row}/{tile_col}",
    summary="A vector tile of a collection (OGC order: matrix/row/col)",
    response_class=Response,
)
async def collection_tile_endpoint(
    collection_id: str,
    tms_id: str,
    tile_matrix: int,
    tile_row: int,
    tile_col: int,
    request: Request,
    actor: TileActorDep,
    version: VersionQuery = None,
) -> Response:
    _check_tms(tms_id)
    service = platform_of(request).tiles
    if len(collection_id) == 6 and collection_id.isdigit():
        _no_version_here(version, collection_id)
        hit = service.cached(collection_id, tile_matrix, tile_col, tile_row, tms_id)
        if hit is not None:  # a cached tile of a class: the class was found when it was rendered
            return tile_response(request, hit)

    def render() -> Tile:  # a layer's access rules and the class registry may read the database
        if len(collection_id) == 6 and collection_id.isdigit():
            return service.tile(
                _collection_class(request, actor, collection_id), tile_matrix, tile_col, tile_row, tms_id
            )
        lyr = _layer(request, actor, collection_id)
        return service.layer_tile(lyr, tile_matrix, tile_col, tile_row, tms_id, version)

    return tile_response(request, await run_in_threadpool(render))
