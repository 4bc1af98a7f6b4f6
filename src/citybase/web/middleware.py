"""Request ids, structured access logs, Prometheus metrics and per-caller call metering."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram

log = logging.getLogger("citybase.access")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "citybase_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "citybase_http_request_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
        )


def route_template(request: Request) -> str:
    route = request.scope.get("route")
    return getattr(route, "path", None) or "(unmatched)"


def make_middleware(
    metrics: Metrics,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = request_id
        started = time.perf_counter()
        response = await call_next(request)
        elapsed = time.perf_counter() - started
        route = route_template(request)
        response.headers["X-Request-ID"] = request_id
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(request.method, route).observe(elapsed)
        actor = getattr(request.state, "actor", None)
        if route.startswith("/api/") or route.startswith("/ogc"):
            request.app.state.platform.meter.record(
                api_key_id=getattr(actor, "api_key_id", None),
                department_id=getattr(actor, "department_id", None),
                route=route,
                method=request.method,
                ms=elapsed * 1000,
                error=response.status_code >= 500,
            )
        if log.isEnabledFor(logging.INFO):
            record = {
                "event": "request",
                "request_id": request_id,
                "method": request.method,
                "path": request.url.path,
                "route": route,
                "status": response.status_code,
                "ms": round(elapsed * 1000, 2),
                "actor": getattr(actor, "name", None),
            }
            if request.app.state.platform.settings.log_json:
                log.info(json.dumps(record, ensure_ascii=False))
            else:
                log.info(" ".join(f"{k}={v}" for k, v in record.items()))
        return response

    return middleware
