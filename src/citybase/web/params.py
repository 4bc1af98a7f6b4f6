"""Request parameters parsed once, at the edge, into typed values."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import QueryParams

from citybase.domains.objects import ObjectQuery
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.kernel.geo import BBox

OBJECT_QUERY_PARAMS = {
    "class",
    "code",
    "name",
    "q",
    "bbox",
    "department_id",
    "parent_id",
    "state",
    "as_of",
    "limit",
    "offset",
    "count",
    "f",
}


def parse_time(value: str, field: str) -> datetime:
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            "bad time", issues=[Issue(field, "expected ISO 8601, e.g. 2026-01-31T08:00:00Z")]
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _int(params: QueryParams, name: str, default: int | None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInputError("bad parameter", issues=[Issue(name, "must be an integer")]) from None


def object_query(params: QueryParams) -> tuple[ObjectQuery, str]:
    """Parse ``GET /api/objects`` parameters; unknown parameters are an error, not silently ignored."""
    unknown = [k for k in params if k not in OBJECT_QUERY_PARAMS and not k.startswith("attr.")]
    if unknown:
        raise InvalidInputError(
            "unknown parameter",
            issues=[
                Issue(k, f"not a parameter of this endpoint; use {sorted(OBJECT_QUERY_PARAMS)} or attr.<name>")
                for k in unknown
            ],
        )
    fmt = params.get("f", "json")
    if fmt not in ("json", "geojson"):
        raise InvalidInputError("bad parameter", issues=[Issue("f", "json or geojson")])
    attrs = {k.removeprefix("attr."): v for k, v in params.items() if k.startswith("attr.")}
    kwargs: dict[str, Any] = {
        "class_code": params.get("class") or None,
        "code": params.get("code") or None,
        "name": params.get("name") or None,
        "text": params.get("q") or None,
        "bbox": BBox.parse(params["bbox"]) if params.get("bbox") else None,
        "department_id": _int(params, "department_id", None),
        "parent_id": _int(params, "parent_id", None),
        "state": params.get("state") or None,
        "attributes": attrs,
        "as_of": parse_time(params["as_of"], "as_of") if params.get("as_of") else None,
        "limit": _int(params, "limit", 100),
        "offset": _int(params, "offset", 0),
        "count": params.get("count", "false").lower() in ("1", "true", "yes"),
    }
    return ObjectQuery(**kwargs), fmt
