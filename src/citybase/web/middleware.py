"""Request ids, structured access logs, Prometheus metrics and per-caller call metering."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
        # labelled children by label values: ``labels()`` hashes and locks on every call; the routes are
        # templates, so these stay small (routes x methods x statuses)
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._latencies: dict[tuple[str, str], Any] = {}

    def observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        count = self._counts.get((method, route, status))
        if count is None:
            count = self._counts[(method, route, status)] = self.requests.labels(method, route, str(status))
        latency = self._latencies.get((method, route))
        if latency is None:
            latency = self._latencies[(method, route)] = self.latency.labels(method, route)
        count.inc()
        latency.observe(elapsed)


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "path", None) or "(unmatched)"


class RequestMiddleware:
    """Plain ASGI middleware (no ``BaseHTTPMiddleware``: that one costs a task and a stream per request).

    Gives each request an id (``X-Request-ID``, echoed or new), then counts it in the Prometheus
    metrics, meters API calls per caller and writes one access-log line.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500  # unless a response starts

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", request_id.encode())]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, state, request_id, status, time.perf_counter() - started)

    def _record(self, scope: Scope, state: dict[str, Any], request_id: str, status: int, elapsed: float) -> None:
        method, route = scope["method"], route_template(scope)
        self.metrics.observe(method, route, status, elapsed)
        actor = state.get("actor")
        platform = scope["app"].state.platform
        if route.startswith("/api/") or route.startswith("/ogc"):
            platform.meter.record(
                api_key_id=getattr(actor, "api_key_id", None),
                department_id=getattr(actor, "department_id", None),
                route=route,
                method=method,
                ms=elapsed * 1000,
                error=status >= 500,
            )
        if log.isEnabledFor(logging.INFO):
            record = {
                "event": "request",
                "request_id": request_id,
                "method": method,
                "path": scope["path"],
                "route": route,
                "status": status,
                "ms": round(elapsed * 1000, 2),
                "actor": getattr(actor, "name", None),
            }
            if platform.settings.log_json:
                log.info(json.dumps(record, ensure_ascii=False))
            else:
                log.info(" ".join(f"{k}={v}" for k, v in record.items()))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
