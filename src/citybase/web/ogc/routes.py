"""OGC API – Features endpoints under ``/ogc``: landing page, conformance, collections, items."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from citybase.domains.access import Actor
from citybase.domains.layers import Layer
from citybase.kernel.errors import NotFoundError
from citybase.web.auth import current_actor, platform_of
from citybase.web.ogc import html
from citybase.web.ogc.common import (
    CONFORMANCE,
    CRS84_URI,
    GEOJSON,
    HTML,
    JSON,
    OPENAPI_JSON,
    QUERYABLES_REL,
    SCHEMA_JSON,
    STORAGE_CRS,
    SUPPORTED_CRS,
    base,
    check_params,
    link,
    self_links,
    wants_html,
)
from citybase.web.ogc.geojson import feature, geometry_fragments, output_geometry, properties
from citybase.web.ogc.openapi import openapi_document
from citybase.web.ogc.params import items_params, parse_crs_uri, parse_version
from citybase.web.serialize import iso

router = APIRouter(prefix="/ogc", include_in_schema=False)
ActorDep = Annotated[Actor, Depends(current_actor)]
ONLY_F = {"f"}


def _json(body: dict[str, Any], media: str = JSON, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, media_type=media, headers=headers)


@router.get("")
@router.get("/")
def landing_page_endpoint(request: Request, actor: ActorDep) -> Response:
    check_params(request, ONLY_F)
    root = base(request)
    links = [
        *self_links(request, JSON, "landing page"),
        link(f"{root}/openapi?f=json", "service-desc", OPENAPI_JSON, "the API definition (OpenAPI 3.0)"),
        link(f"{root}/openapi?f=html", "service-doc", HTML, "the API documentation"),
        link(f"{root}/conformance?f=json", "conformance", JSON, "conformance classes"),
        link(f"{root}/collections?f=json", "data", JSON, "collections (layers)"),
    ]
    title = "citybase 城市数字公共基础设施 — OGC API Features"
    description = "Layers of the city's objects (一张图), as OGC API – Features collections."
    body = {"title": title, "description": description, "links": links}
    if wants_html(request):
        return html.page(title, f"<p>{escape(description)}</p>" + html.links_list(links), root)
    return _json(body)


@router.get("/conformance")
def conformance_endpoint(request: Request, actor: ActorDep) -> Response:
    check_params(request, ONLY_F)
    if wants_html(request):
        return html.page(
            "Conformance", "<ul>" + "".join(f"<li>{escape(c)}</li>" for c in CONFORMANCE) + "</ul>", base(request)
        )
    return _json({"conformsTo": CONFORMANCE})


def _layers_with_queryables(request: Request, actor: Actor) -> list[tuple[Layer, dict[str, str]]]:
    platform = platform_of(request)
    return [(lyr, platform.layers.queryables(lyr)) for lyr in platform.layers.list(actor)]


@router.get("/openapi")
def openapi_endpoint(request: Request, actor: ActorDep) -> Response:
    check_params(request, ONLY_F)
    doc = openapi_document(base(request), _layers_with_queryables(request, actor))
    if wants_html(request):
        rows = [
            [
                escape(path),
                escape(", ".join(p.get("name", p.get("$ref", "").rsplit("/", 1)[-1]) for p in op["get"]["parameters"])),
                escape(op["get"]["summary"]),
            ]
            for path, op in doc["paths"].items()
        ]
        body = html.a(f"{base(request)}/openapi?f=json", "OpenAPI 3.0 JSON") + html.table(
            ["path", "parameters", "summary"], rows
        )
        return html.page("API definition", body, base(request))
    return _json(doc, OPENAPI_JSON)


def collection_json(request: Request, lyr: Layer) -> dict[str, Any]:
    url = f"{base(request)}/collections/{lyr.name}"
    return {
        "id": lyr.name,
        "title": lyr.title,
        "description": lyr.description,
        "itemType": "feature",
        "crs": list(SUPPORTED_CRS),
        "storageCrs": STORAGE_CRS,
        "links": [
            link(f"{url}?f=json", "self", JSON, lyr.title),
            link(f"{url}?f=html", "alternate", HTML, f"{lyr.title} as HTML"),
            link(f"{url}/items?f=json", "items", GEOJSON, f"features of {lyr.title}"),
            link(f"{url}/items?f=html", "items", HTML, f"features of {lyr.title} as HTML"),
            link(f"{url}/queryables", QUERYABLES_REL, SCHEMA_JSON, f"what {lyr.title} can be filtered on"),
        ],
    }


@router.get("/collections")
def collections_endpoint(request: Request, actor: ActorDep) -> Response:
    check_params(request, ONLY_F)
    layers = platform_of(request).layers.list(actor)
    body = {
        "links": self_links(request, JSON, "collections"),
        "collections": [collection_json(request, lyr) for lyr in layers],
        "crs": list(SUPPORTED_CRS),
    }
    if wants_html(request):
        root = base(request)
        rows = [
            [
                html.a(f"{root}/collections/{lyr.name}?f=html", lyr.name),
                escape(lyr.title),
                escape(lyr.class_code or ""),
                html.a(f"{root}/collections/{lyr.name}/items?f=html", "items"),
            ]
            for lyr in layers
        ]
        return html.page("Collections", html.table(["id", "title", "class", "features"], rows), root)
    return _json(body)


@router.get("/collections/{collection_id}")
def collection_endpoint(collection_id: str, request: Request, actor: ActorDep) -> Response:
    check_params(request, ONLY_F)
    lyr = platform_of(request).layers.get(actor, collection_id)
    body = collection_json(request, lyr)
    if wants_html(request):
        return html.page(lyr.title, f"<p>{escape(lyr.description)}</p>" + html.links_list(body["links"]), base(request))
    return _json(body)


_JSON_TYPES = {"integer": "integer", "number": "number", "boolean": "boolean"}


@router.get("/collections/{collection_id}/queryables")
def queryables_endpoint(collection_id: str, request: Request, actor: ActorDep) -> Response:
    check_params(request, ONLY_F)
    platform = platform_of(request)
    lyr = platform.layers.get(actor, collection_id)
    props: dict[str, Any] = {"geometry": {"format": "geometry-any", "title": "geometry"}}
    props |= {k: {"type": _JSON_TYPES.get(t, "string"), "title": k} for k, t in platform.layers.queryables(lyr).items()}
    body = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{base(request)}/collections/{lyr.name}/queryables",
        "type": "object",
        "title": lyr.title,
        "properties": props,
        "additionalProperties": False,
    }
    if wants_html(request):
        rows = [[escape(k), escape(str(v.get("type", v.get("format"))))] for k, v in props.items()]
        return html.page(f"{lyr.title}: queryables", html.table(["property", "type"], rows), base(request))
    return _json(body, SCHEMA_JSON)


def _page_link(request: Request, rel: str, offset: int, title: str) -> dict[str, Any]:
    url = request.url.remove_query_params("f").include_query_params(offset=offset, f="json")
    return link(str(url), rel, GEOJSON, title)


@router.get("/collections/{collection_id}/items")
def items_endpoint(collection_id: str, request: Request, actor: ActorDep) -> Response:
    platform = platform_of(request)
    lyr = platform.layers.get(actor, collection_id)
    params = items_params(
        request.query_params,
        set(platform.layers.queryables(lyr)),
        lambda text, lang, reproject: platform.layers.filter_clause(lyr, text, lang, reproject),
    )
    as_html = wants_html(request)
    page = platform.layers.features(lyr, actor, params.query)
    q = params.query
    links = [
        *self_links(request, GEOJSON, f"features of {lyr.title}"),
        link(f"{base(request)}/collections/{lyr.name}?f=json", "collection", JSON, lyr.title),
    ]
    if page.has_more:
        links.append(_page_link(request, "next", q.offset + q.limit, "next page"))
    if q.offset > 0:
        links.append(_page_link(request, "prev", max(0, q.offset - q.limit), "previous page"))
    if as_html:
        at = "" if q.version is None else f"&version={q.version}"
        title = lyr.title if q.version is None else f"{lyr.title} (v{q.version})"
        rows = [
            [
                html.a(f"{base(request)}/collections/{lyr.name}/items/{o.id}?f=html{at}", str(o.id)),
                escape(o.name),
                escape(o.code or ""),
                escape(o.geometry.geom_type if o.geometry is not None else ""),
            ]
            for o in page.items
        ]
        nav = " ".join(
            html.a(lk["href"].replace("f=json", "f=html"), lk["rel"]) for lk in links if lk["rel"] in ("prev", "next")
        )
        info = f"<p>{len(page.items)} of {page.matched if page.matched is not None else '?'} features. {nav}</p>"
        return html.page(
            f"{title}: features", info + html.table(["id", "name", "code", "geometry"], rows), base(request)
        )
    geometries = geometry_fragments([o.geometry for o in page.items], params.crs)
    body: dict[str, Any] = {
        "type": "FeatureCollection",
        "features": [feature(o, params.crs, geometry=g) for o, g in zip(page.items, geometries, strict=True)],
        "links": links,
        "timeStamp": iso(datetime.now(UTC).replace(microsecond=0)),
        "numberReturned": len(page.items),
    }
    if page.matched is not None:
        body["numberMatched"] = page.matched
    headers = {"Content-Crs": f"<{params.crs}>"}
    try:
        return Response(orjson.dumps(body), media_type=GEOJSON, headers=headers)
    except orjson.JSONEncodeError:  # what orjson refuses (an integer attribute beyond 64 bits): the plain encoder
        body["features"] = [feature(o, params.crs) for o in page.items]
        return _json(body, GEOJSON, headers)


@router.get("/collections/{collection_id}/items/{feature_id}")
def item_endpoint(collection_id: str, feature_id: str, request: Request, actor: ActorDep) -> Response:
    check_params(request, {"f", "crs", "version"})
    platform = platform_of(request)
    lyr = platform.layers.get(actor, collection_id)
    if not feature_id.isdigit():
        raise NotFoundError(f"no feature {feature_id!r} in layer {lyr.name!r}")
    crs = parse_crs_uri(request.query_params.get("crs"), "crs")
    version = parse_version(request.query_params)
    obj = platform.layers.feature(lyr, actor, int(feature_id), version)
    items_url = f"{base(request)}/collections/{lyr.name}/items"
    body = feature(obj, crs, items_url, "" if version is None else f"&version={version}")
    if wants_html(request):
        rows = [[escape(k), escape("" if v is None else str(v))] for k, v in properties(obj).items()]
        geo = html.json_block(output_geometry(obj.geometry, CRS84_URI))
        return html.page(f"{lyr.title} {obj.name}", html.table(["property", "value"], rows) + geo, base(request))
    return _json(body, GEOJSON, {"Content-Crs": f"<{crs}>"})
