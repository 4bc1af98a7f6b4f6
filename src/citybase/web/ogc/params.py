"""The query parameters of ``/ogc/collections/{id}/items``, parsed once into :class:`ItemsParams`."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry
from starlette.datastructures import QueryParams

from citybase.domains.layers import FeatureQuery, TimeInterval
from citybase.domains.objects import MAX_LIMIT
from citybase.kernel.crs import transform_geometry
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.kernel.geo import BBox
from citybase.web.ogc.common import CRS84_URI, CRS84H_URI, SUPPORTED_CRS

ITEMS_PARAMS = {
    "f",
    "limit",
    "offset",
    "bbox",
    "bbox-crs",
    "datetime",
    "crs",
    "filter",
    "filter-lang",
    "filter-crs",
    "version",  # dataset layers: the layer as it was in that layer version
}
DEFAULT_LIMIT = 10
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class ItemsParams:
    query: FeatureQuery
    crs: str  # URI of the response CRS


def _bad(field: str, reason: str) -> InvalidInputError:
    return InvalidInputError("bad parameter", issues=[Issue(field, reason)])


def parse_int(params: QueryParams, name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad(name, f"must be an integer between {lo} and {hi}") from None
    if not lo <= value <= hi:
        raise _bad(name, f"must be between {lo} and {hi}")
    return value


def parse_version(params: QueryParams) -> int | None:
    """``version=N``: a dataset layer as it was in its layer version N (None: as it is now)."""
    if "version" not in params:
        return None
    return parse_int(params, "version", 1, 1, 2**31 - 1)


def parse_crs_uri(value: str | None, field: str) -> str:
    """One of the supported CRS URIs (default CRS84); ``EPSG:4490``-style short names are accepted too."""
    if value is None or value == "":
        return CRS84_URI
    v = value.strip().strip("[]")
    if v == CRS84H_URI:
        return CRS84_URI
    for uri, name in SUPPORTED_CRS.items():
        if v in (uri, name) or v.replace("https://", "http://") == uri:
            return uri
    raise _bad(field, f"unsupported CRS {value!r}; use one of {list(SUPPORTED_CRS)}")


def parse_bbox(raw: str, crs_uri: str) -> BBox:
    """4 or 6 numbers in ``crs_uri`` axis order, returned as a CGCS2000 lon/lat box."""
    parts = raw.split(",")
    if len(parts) not in (4, 6):
        raise _bad("bbox", "4 or 6 comma-separated numbers")
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise _bad("bbox", "values must be numbers") from None
    if not all(math.isfinite(n) for n in nums):
        raise _bad("bbox", "values must be finite")
    x1, y1, x2, y2 = (nums[0], nums[1], nums[3], nums[4]) if len(nums) == 6 else nums
    name = SUPPORTED_CRS[crs_uri]
    if name == "EPSG:4490":  # authority axis order: latitude first
        x1, y1, x2, y2 = y1, x1, y2, x2
    if x1 > x2 or y1 > y2:
        raise _bad("bbox", "lower corner first: minx,miny,maxx,maxy (boxes across the antimeridian are not supported)")
    if name == "OGC:CRS84" and not (x1 >= -180 and x2 <= 180 and y1 >= -90 and y2 <= 90):
        raise _bad("bbox", "longitude within -180..180, latitude within -90..90")
    if name == "EPSG:3857":
        minx, miny, maxx, maxy = shapely.bounds(transform_geometry(shapely.box(x1, y1, x2, y2), "EPSG:3857"))
        return BBox(float(minx), float(miny), float(maxx), float(maxy))
    return BBox(x1, y1, x2, y2)


def _instant(text: str, *, end: bool) -> datetime:
    if _DATE.match(text):  # a date is the whole day
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return day + timedelta(days=1) - timedelta(microseconds=1) if end else day
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _bad("datetime", "RFC 3339 instant or interval, e.g. 2024-01-01T00:00:00Z or 2024-01-01/..") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def parse_datetime(raw: str) -> TimeInterval:
    if "/" not in raw:
        if _DATE.match(raw):
            return TimeInterval(_instant(raw, end=False), _instant(raw, end=True))
        t = _instant(raw, end=False)
        return TimeInterval(t, t)
    start_s, _, end_s = raw.partition("/")
    start = None if start_s in ("", "..") else _instant(start_s, end=False)
    end = None if end_s in ("", "..") else _instant(end_s, end=True)
    if start is None and end is None:
        raise _bad("datetime", "an interval needs at least one bound (start/.., ../end or start/end)")
    if start is not None and end is not None and start > end:
        raise _bad("datetime", "the interval starts after it ends")
    return TimeInterval(start, end)


def to_storage(crs_uri: str) -> Callable[[BaseGeometry], BaseGeometry]:
    """A function that brings a geometry given in ``crs_uri`` (its axis order) to CGCS2000 lon/lat."""
    name = SUPPORTED_CRS[crs_uri]
    if name == "EPSG:4490":
        return lambda g: shapely.transform(g, lambda c: c[:, ::-1])
    if name == "EPSG:3857":
        return lambda g: transform_geometry(g, "EPSG:3857")
    return lambda g: g


FilterMaker = Callable[[str, str, Callable[[BaseGeometry], BaseGeometry]], Any]


def items_params(params: QueryParams, queryables: set[str], make_filter: FilterMaker | None = None) -> ItemsParams:
    """Parse and check every parameter; an unknown one (not a parameter, not a queryable) is an error."""
    allowed = ITEMS_PARAMS | queryables
    unknown = sorted(k for k in params if k not in allowed)
    if unknown:
        raise InvalidInputError(
            "unknown parameter",
            issues=[Issue(k, f"not a parameter of this endpoint; use {sorted(allowed)}") for k in unknown],
        )
    for k in params:
        if len(params.getlist(k)) > 1:
            raise _bad(k, "given more than once")
    bbox_crs = parse_crs_uri(params.get("bbox-crs"), "bbox-crs")
    if "bbox-crs" in params and "bbox" not in params:
        raise _bad("bbox-crs", "only with bbox")
    for k in ("filter-lang", "filter-crs"):
        if k in params and "filter" not in params:
            raise _bad(k, "only with filter")
    where = None
    if "filter" in params:
        if make_filter is None:
            raise _bad("filter", "filtering is not available here")
        lang = params.get("filter-lang", "cql2-text")
        where = make_filter(params["filter"], lang, to_storage(parse_crs_uri(params.get("filter-crs"), "filter-crs")))
    query = FeatureQuery(
        where=where,
        bbox=parse_bbox(params["bbox"], bbox_crs) if "bbox" in params else None,
        datetime=parse_datetime(params["datetime"]) if "datetime" in params else None,
        properties={k: v for k, v in params.items() if k in queryables},
        limit=parse_int(params, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT),
        offset=parse_int(params, "offset", 0, 0, 2**31 - 1),
        version=parse_version(params),
    )
    return ItemsParams(query=query, crs=parse_crs_uri(params.get("crs"), "crs"))
