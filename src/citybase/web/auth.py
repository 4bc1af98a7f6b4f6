"""Who is calling: a bearer token (portal login or API key) or an ``X-API-Key`` header."""

from __future__ import annotations

from fastapi import Request

from citybase.domains.access import ANONYMOUS, Actor
from citybase.kernel.errors import AuthenticationError
from citybase.platform import Platform


def _credential(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def current_actor(request: Request) -> Actor:
    """FastAPI dependency: the caller, also kept on ``request.state`` for metering and logs."""
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    platform: Platform = request.app.state.platform
    credential = _credential(request)
    if credential is None:
        if not platform.settings.anonymous_read:
            raise AuthenticationError("log in or send an API key")
        actor = ANONYMOUS
    else:
        actor = platform.access.actor_for_token(credential)
    request.state.actor = actor
    return actor


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform
