"""Shared pieces of the OGC API: conformance classes, supported CRSs, format negotiation, links."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from citybase.kernel.errors import InvalidInputError, Issue

CONF = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
CONFORMANCE = [
    CONF + "core",
    CONF + "oas30",
    CONF + "geojson",
    CONF + "html",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    # Part 3: filtering with CQL2 (comparison, LIKE/BETWEEN/IN, AND/OR/NOT, S_INTERSECTS/S_WITHIN/S_CONTAINS)
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
]
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA_JSON = "application/schema+json"
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CRS84H_URI = "http://www.opengis.net/def/crs/OGC/0/CRS84h"
CGCS2000_URI = "http://www.opengis.net/def/crs/EPSG/0/4490"
WEB_MERCATOR_URI = "http://www.opengis.net/def/crs/EPSG/0/3857"
# URI -> the name kernel.crs knows; the first is the default (Part 1 requires CRS84 first).
SUPPORTED_CRS = {CRS84_URI: "OGC:CRS84", CGCS2000_URI: "EPSG:4490", WEB_MERCATOR_URI: "EPSG:3857"}
STORAGE_CRS = CGCS2000_URI

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"


def wants_html(request: Request) -> bool:
    """``f=json|html`` wins; else the Accept header (a browser asks for text/html first)."""
    f = request.query_params.get("f")
    if f is not None:
        if f not in ("json", "html"):
            raise InvalidInputError("bad parameter", issues=[Issue("f", "json or html")])
        return f == "html"
    accept = request.headers.get("accept", "").lower()
    return "text/html" in accept and "json" not in accept.split("text/html")[0]


def check_params(request: Request, allowed: set[str]) -> None:
    unknown = sorted(k for k in request.query_params if k not in allowed)
    if unknown:
        raise InvalidInputError(
            "unknown parameter",
            issues=[Issue(k, f"not a parameter of this endpoint; use {sorted(allowed)}") for k in unknown],
        )


def base(request: Request) -> str:
    """The absolute URL of the OGC API root, without a trailing slash."""
    return str(request.base_url).rstrip("/") + "/ogc"


def link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, Any]:
    out = {"href": href, "rel": rel, "type": type_}
    if title:
        out["title"] = title
    return out


def with_format(url: str, f: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}f={f}"


def self_links(request: Request, json_type: str, title: str = "") -> list[dict[str, Any]]:
    """self (this response as JSON) and alternate (HTML), keeping the query but not ``f``."""
    url = request.url.remove_query_params("f")
    return [
        link(str(url.include_query_params(f="json")), "self", json_type, title or "this document"),
        link(str(url.include_query_params(f="html")), "alternate", HTML, (title or "this document") + " as HTML"),
    ]
