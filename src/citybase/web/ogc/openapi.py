"""The OpenAPI 3.0 document of the OGC endpoints, one set of paths per collection the caller can read."""

from __future__ import annotations

from typing import Any

from citybase import __version__
from citybase.domains.layers import Layer, LayerKind
from citybase.domains.objects import MAX_LIMIT
from citybase.web.ogc.common import CRS84_URI, SUPPORTED_CRS
from citybase.web.ogc.params import DEFAULT_LIMIT

_TYPES = {"integer": "integer", "number": "number", "boolean": "boolean"}


def _param(name: str, schema: dict[str, Any], description: str, *, in_: str = "query") -> dict[str, Any]:
    p: dict[str, Any] = {"name": name, "in": in_, "required": in_ == "path", "description": description}
    p["schema"] = schema
    if in_ == "query":
        p |= {"style": "form", "explode": False}
    return p


PARAMETERS: dict[str, dict[str, Any]] = {
    "f": _param("f", {"type": "string", "enum": ["json", "html"]}, "Response format (default: by Accept header)"),
    "limit": _param(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        "Most features in one page",
    ),
    "offset": _param("offset", {"type": "integer", "minimum": 0, "default": 0}, "Features to skip (paging)"),
    "bbox": _param(
        "bbox",
        {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        "minx,miny,maxx,maxy (or 6 numbers with heights) in bbox-crs (default CRS84)",
    ),
    "bbox-crs": _param("bbox-crs", {"type": "string", "format": "uri", "enum": list(SUPPORTED_CRS)}, "CRS of bbox"),
    "crs": _param("crs", {"type": "string", "format": "uri", "enum": list(SUPPORTED_CRS)}, "CRS of the response"),
    "filter": _param("filter", {"type": "string"}, "CQL2 filter (text or JSON, see filter-lang)"),
    "filter-lang": _param(
        "filter-lang", {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}, "Filter language"
    ),
    "filter-crs": _param(
        "filter-crs", {"type": "string", "format": "uri", "enum": list(SUPPORTED_CRS)}, "CRS of filter geometries"
    ),
    "datetime": _param(
        "datetime",
        {"type": "string"},
        "Instant or interval (start/end, ../end, start/..) met by the objects' validity",
    ),
    "version": _param(
        "version",
        {"type": "integer", "minimum": 1},
        "Layer version: the features as that version of the (imported) layer published them (default: now)",
    ),
}
_REF = {name: {"$ref": f"#/components/parameters/{name}"} for name in PARAMETERS}


def _responses(media: str, what: str) -> dict[str, Any]:
    return {
        "200": {"description": what, "content": {media: {"schema": {"type": "object"}}, "text/html": {}}},
        "400": {"description": "Invalid or unknown parameter (problem JSON)"},
        "404": {"description": "Not found"},
    }


def _get(summary: str, op_id: str, params: list[Any], media: str = "application/json") -> dict[str, Any]:
    return {
        "get": {"summary": summary, "operationId": op_id, "parameters": params, "responses": _responses(media, summary)}
    }


def _collection_paths(lyr: Layer, queryables: dict[str, str]) -> dict[str, Any]:
    root = f"/collections/{lyr.name}"
    props = [
        _param(k, {"type": _TYPES.get(t, "string")}, f"Only features whose {k} equals this")
        for k, t in queryables.items()
    ]
    item_params = [
        _REF[k]
        for k in ("f", "limit", "offset", "bbox", "bbox-crs", "datetime", "crs", "filter", "filter-lang", "filter-crs")
    ] + props
    versions = [_REF["version"]] if lyr.kind == LayerKind.DATASET else []  # only imported layers have versions
    fid = _param("featureId", {"type": "integer"}, "Feature (object) id", in_="path")
    key = lyr.name.replace("-", "_")
    return {
        root: _get(f"The collection {lyr.title}", f"describe_{key}", [_REF["f"]]),
        f"{root}/queryables": _get(
            f"Queryables of {lyr.title}", f"queryables_{key}", [_REF["f"]], "application/schema+json"
        ),
        f"{root}/items": _get(
            f"Features of {lyr.title}", f"items_{key}", item_params + versions, "application/geo+json"
        ),
        f"{root}/items/{{featureId}}": _get(
            f"One feature of {lyr.title}",
            f"item_{key}",
            [fid, _REF["f"], _REF["crs"], *versions],
            "application/geo+json",
        ),
    }


def openapi_document(server: str, layers: list[tuple[Layer, dict[str, str]]]) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/": _get("Landing page", "landing_page", [_REF["f"]]),
        "/conformance": _get("Conformance classes", "conformance", [_REF["f"]]),
        "/collections": _get("Collections (layers)", "collections", [_REF["f"]]),
        "/openapi": _get("This API definition", "openapi", [_REF["f"]], "application/vnd.oai.openapi+json;version=3.0"),
    }
    for lyr, queryables in layers:
        paths |= _collection_paths(lyr, queryables)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "citybase OGC API – Features",
            "version": __version__,
            "description": f"Layers of city objects. Geometries are in {CRS84_URI} unless crs asks otherwise.",
            "license": {"name": "Apache-2.0"},
        },
        "servers": [{"url": server}],
        "paths": paths,
        "components": {"parameters": PARAMETERS},
    }
