"""Health, readiness, metrics and the API index."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from citybase import __version__
from citybase.store import current_revision, head_revision
from citybase.web.auth import platform_of

router = APIRouter(tags=["system"])


@router.get("/health", summary="Liveness: the process answers")
def health_endpoint() -> dict[str, str]:
    return {"status": "ok", "version": __version__}


@router.get("/ready", summary="Readiness: the database answers and its schema is current")
def ready_endpoint(request: Request, response: Response) -> dict[str, Any]:
    platform = platform_of(request)
    try:
        platform.store.ping()
        current, head = current_revision(platform.store), head_revision()
    except Exception as exc:
        response.status_code = 503
        return {"status": "unavailable", "database": platform.store.name, "detail": str(exc)}
    ok = current == head
    if not ok:
        response.status_code = 503
    return {
        "status": "ready" if ok else "migrations pending",
        "database": platform.store.name,
        "schema": current,
        "expected_schema": head,
    }


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics_endpoint(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
