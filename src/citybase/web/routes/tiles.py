"""Vector tiles: XYZ MVT per class and the composite basemap, TileJSON 3.0, OGC API – Tiles (minimal).

Empty tiles answer ``204 No Content``; tiles outside the tile matrix (zoom > 22, column or row outside
0..2^zoom − 1) answer ``404`` problem JSON; non-integer indices ``400``. Tiles carry a strong ETag (a
hash of their bytes) and ``If-None-Match`` gives ``304``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from citybase.domains.access import Actor
from citybase.domains.tiles import TILE_MATRIX_SETS, Tile
from citybase.kernel.errors import NotFoundError
from citybase.standards.mvt import MIME_TYPE
from citybase.web.auth import current_actor, platform_of

router = APIRouter(tags=["tiles"])
ActorDep = Annotated[Actor, Depends(current_actor)]
CACHE_CONTROL = "public, max-age=60, must-revalidate"


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def tile_response(request: Request, tile: Tile) -> Response:
    headers = {"ETag": tile.etag, "Cache-Control": CACHE_CONTROL}
    if _matches(request.headers.get("if-none-match"), tile.etag):
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


@router.get("/api/tiles/{tileset}.json", summary="TileJSON 3.0 of a tileset ('basemap' or a class code)")
def tilejson_endpoint(tileset: str, request: Request, actor: ActorDep) -> dict[str, Any]:
    return platform_of(request).tiles.tilejson(tileset, _base(request))


@router.get(
    "/api/tiles/{tileset}/{z}/{x}/{y}.mvt",
    summary="A Mapbox Vector Tile (WebMercatorQuad z/x/y); 204 when empty",
    response_class=Response,
    responses={200: {"content": {MIME_TYPE: {}}}, 204: {"description": "empty tile"}},
)
def tile_endpoint(tileset: str, z: int, x: int, y: int, request: Request, actor: ActorDep) -> Response:
    return tile_response(request, platform_of(request).tiles.tile(tileset, z, x, y))


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
    layers = getattr(platform_of(request), "layers", None)
    if layers is None:
        raise NotFoundError(f"no collection {collection_id!r}")
    layer = layers.get(actor, collection_id)
    if not layer.class_code:
        raise NotFoundError(f"collection {collection_id!r} has no vector tiles")
    return str(layer.class_code)


def _check_tms(tms_id: str) -> None:
    if tms_id != "WebMercatorQuad":
        raise NotFoundError(f"tiles are served in WebMercatorQuad only, not {tms_id!r}")


@router.get("/ogc/collections/{collection_id}/tiles", summary="Vector tilesets of a collection")
def collection_tilesets_endpoint(collection_id: str, request: Request, actor: ActorDep) -> JSONResponse:
    _collection_class(request, actor, collection_id)
    base = _base(request)
    href = f"{base}/ogc/collections/{collection_id}/tiles/WebMercatorQuad"
    return JSONResponse(
        {
            "tilesets": [
                {
                    "title": f"{collection_id} (WebMercatorQuad)",
                    "dataType": "vector",
                    "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
                    "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
                    "links": [{"rel": "self", "type": "application/json", "href": href}],
                }
            ]
        }
    )


@router.get("/ogc/collections/{collection_id}/tiles/{tms_id}", summary="A vector tileset of a collection")
def collection_tileset_endpoint(collection_id: str, tms_id: str, request: Request, actor: ActorDep) -> JSONResponse:
    _check_tms(tms_id)
    class_code = _collection_class(request, actor, collection_id)
    base = _base(request)
    tilejson = platform_of(request).tiles.tilejson(class_code, base)
    own = f"{base}/ogc/collections/{collection_id}/tiles/WebMercatorQuad"
    return JSONResponse(
        {
            "title": tilejson["description"],
            "dataType": "vector",
            "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
            "tileMatrixSetURI": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
            "tileMatrixSetLimits": [
                {
                    "tileMatrix": str(z),
                    "minTileRow": 0,
                    "maxTileRow": (1 << z) - 1,
                    "minTileCol": 0,
                    "maxTileCol": (1 << z) - 1,
                }
                for z in range(tilejson["minzoom"], tilejson["maxzoom"] + 1)
            ],
            "layers": [
                {
                    "id": v["id"],
                    "dataType": "vector",
                    "minTileMatrix": str(v["minzoom"]),
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
                {"rel": "self", "type": "application/json", "href": own},
                _tms_link(base, "WebMercatorQuad"),
                {
                    "rel": "item",
                    "type": MIME_TYPE,
                    "templated": True,
                    "href": f"{own}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}",
                },
            ],
        }
    )


@router.get(
    "/ogc/collections/{collection_id}/tiles/{tms_id}/{tile_matrix}/{tile_row}/{tile_col}",
    summary="A vector tile of a collection (OGC order: matrix/row/col)",
    response_class=Response,
)
def collection_tile_endpoint(
    collection_id: str, tms_id: str, tile_matrix: int, tile_row: int, tile_col: int, request: Request, actor: ActorDep
) -> Response:
    _check_tms(tms_id)
    class_code = _collection_class(request, actor, collection_id)
    return tile_response(request, platform_of(request).tiles.tile(class_code, tile_matrix, tile_col, tile_row))
