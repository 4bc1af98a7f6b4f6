"""The one table from domain error to HTTP status, and RFC 9457 problem JSON."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from citybase.domains.jobs import JobFailed
from citybase.kernel.errors import (
    AuthenticationError,
    CityBaseError,
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UnavailableError,
)

log = logging.getLogger(__name__)

# Most specific first: the first matching class decides the status.
ERROR_STATUS: list[tuple[type[CityBaseError], int, str]] = [
    (InvalidInputError, 400, "invalid-input"),
    (AuthenticationError, 401, "authentication-required"),
    (PermissionDeniedError, 403, "permission-denied"),
    (NotFoundError, 404, "not-found"),
    (ConflictError, 409, "conflict"),
    (RateLimitedError, 429, "too-many-requests"),
    (JobFailed, 422, "job-failed"),
    (UnavailableError, 503, "unavailable"),
    (ConfigurationError, 500, "configuration"),
    (CityBaseError, 400, "error"),
]
PROBLEM = "application/problem+json"


def status_for(exc: CityBaseError) -> tuple[int, str]:
    for cls, status, slug in ERROR_STATUS:
        if isinstance(exc, cls):
            return status, slug
    return 500, "internal"


def problem(
    request: Request, status: int, slug: str, title: str, detail: str, issues: list[dict[str, Any]] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:citybase:problem:{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": getattr(request.state, "request_id", None),
    }
    if issues:
        body["issues"] = issues
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(CityBaseError)
    async def _domain(request: Request, exc: CityBaseError) -> JSONResponse:
        status, slug = status_for(exc)
        resp = problem(request, status, slug, exc.title, exc.detail, [i.as_dict() for i in exc.issues])
        if isinstance(exc, RateLimitedError):
            resp.headers["Retry-After"] = str(exc.retry_after)
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        issues = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header")]
            reason = err.get("msg", "invalid")
            if err.get("type") == "json_invalid":
                position = ".".join(loc)
                reason = f"malformed JSON at character {position}: {err.get('ctx', {}).get('error', reason)}"
                loc = ["body"]
            issues.append({"field": ".".join(loc) or "body", "reason": reason})
        return problem(request, 400, "invalid-input", "Invalid input", "the request does not fit the API", issues)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(request, exc.status_code, "http", "HTTP error", str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem(
            request,
            500,
            "internal",
            "Internal error",
            "an unexpected error occurred; quote the request id when reporting it",
        )
