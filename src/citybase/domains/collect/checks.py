"""Input checks of the collection loop: each problem names the record, the field and the reason."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from citybase.domains.collect.model import KINDS, SOURCES
from citybase.kernel.errors import InvalidInputError, Issue

MAX_DETAIL_BYTES = 16_000
MAX_ANONYMOUS_DETAIL_BYTES = 2_000  # a citizen's report from the public QR page
MAX_REASON = 1_000


def bad(record: str, field: str, reason: str) -> InvalidInputError:
    return InvalidInputError(f"{record}: {field} {reason}", issues=[Issue(field, reason, record=record)])


def check_kind(kind: Any, record: str = "task") -> str:
    if kind not in KINDS:
        raise bad(record, "kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    return str(kind)


def check_source(source: Any, record: str = "task") -> str:
    if source not in SOURCES:
        raise bad(record, "source", f"{source!r} is not one of {', '.join(SOURCES)}")
    return str(source)


def check_title(title: Any, record: str = "task") -> str:
    if not isinstance(title, str) or not title.strip():
        raise bad(record, "title", "is required")
    if len(title) > 200:
        raise bad(record, "title", "is longer than 200 characters")
    return title.strip()


def check_doc(doc: Any, field: str, record: str, limit: int = MAX_DETAIL_BYTES) -> dict[str, Any]:
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise bad(record, field, "must be a JSON object")
    try:
        size = len(json.dumps(doc, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError) as exc:
        raise bad(record, field, f"is not JSON: {exc}") from exc
    if size > limit:
        raise bad(record, field, f"is {size:,} bytes; at most {limit:,} are accepted")
    return doc


def check_point(point: Any, record: str = "task") -> tuple[float, float] | None:
    if point is None:
        return None
    try:
        lon, lat = (float(v) for v in point)
    except (TypeError, ValueError) as exc:
        raise bad(record, "point", "must be [lon, lat]") from exc
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise bad(record, "point", f"({lon}, {lat}) is not a lon/lat position")
    return lon, lat


def check_reason(reason: Any, action: str, record: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise bad(record, "reason", f"is required to {action} a task")
    if len(reason) > MAX_REASON:
        raise bad(record, "reason", f"is longer than {MAX_REASON} characters")
    return reason.strip()


def check_due(due_at: Any, record: str = "task") -> datetime | None:
    if due_at is None:
        return None
    if not isinstance(due_at, datetime) or due_at.tzinfo is None:
        raise bad(record, "due_at", "must be a time with its zone, e.g. 2026-12-31T18:00:00+08:00")
    return due_at
