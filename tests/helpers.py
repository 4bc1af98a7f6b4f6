"""Readable helpers that build test data and drive the app in-process."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from shapely.geometry import Point, box

from citybase.domains.access import SYSTEM, Department
from citybase.domains.objects import CityObject, NewObject
from citybase.platform import Platform

ADMIN_PASSWORD = "admin-pass-123"
# A spot in 襄城区, Xiangyang.
ORIGIN = (112.14, 32.01)


class Api:
    """A synchronous client over httpx's ASGI transport (the real app, in-process, no server)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers: dict[str, str] = {}
        self._portal_cm: Any = None
        self._portal: BlockingPortal | None = None
        self._client: httpx.AsyncClient | None = None

    def __enter__(self) -> Api:
        self._portal_cm = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://citybase.test")
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._portal is not None and self._client is not None
        self._portal.call(self._client.aclose)
        self._portal_cm.__exit__(*exc)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        assert self._portal is not None and self._client is not None
        headers = {**self.headers, **kwargs.pop("headers", {})}
        client = self._client

        async def send() -> httpx.Response:
            return await client.request(method, url, headers=headers, **kwargs)

        return self._portal.call(send)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", url, **kw)

    def login(self, username: str, password: str) -> dict[str, Any]:
        r = self.post("/api/auth/login", json={"username": username, "password": password})
        assert r.status_code == 200, r.text
        self.headers["Authorization"] = f"Bearer {r.json()['token']}"
        return r.json()

    def as_key(self, secret: str) -> Api:
        self.headers = {"X-API-Key": secret}
        return self

    def anonymous(self) -> Api:
        self.headers = {}
        return self


def add_department(platform: Platform, code: str = "zjj", name: str = "住房和城乡建设局") -> Department:
    return platform.access.create_department(SYSTEM, code, name)


def add_user(
    platform: Platform, username: str, role: str, department: str | None, password: str = "user-pass-123"
) -> None:
    platform.access.create_user(SYSTEM, username, password, role, department)


def building_footprint(dx: float = 0.0, dy: float = 0.0, size: float = 0.0003) -> Any:
    x, y = ORIGIN[0] + dx, ORIGIN[1] + dy
    return box(x, y, x + size, y + size * 0.5)


def add_building(
    platform: Platform,
    name: str = "1号楼",
    *,
    dx: float = 0.0,
    dy: float = 0.0,
    floors: int = 6,
    department_id: int | None = None,
    **attrs: Any,
) -> CityObject:
    return platform.objects.create(
        SYSTEM,
        NewObject(
            class_code="050101",
            name=name,
            geometry=building_footprint(dx, dy),
            attributes={"floors": floors, **attrs},
            department_id=department_id,
        ),
    )


def add_lamp(
    platform: Platform, name: str = "路灯", *, dx: float = 0.0, dy: float = 0.0, department_id: int | None = None
) -> CityObject:
    return platform.objects.create(
        SYSTEM,
        NewObject(
            class_code="010301",
            name=name,
            geometry=Point(ORIGIN[0] + dx, ORIGIN[1] + dy),
            attributes={"lamp_type": "LED", "power_w": 120},
            department_id=department_id,
        ),
    )


def point_at(dx: float, dy: float) -> Point:
    return Point(ORIGIN[0] + dx, ORIGIN[1] + dy)


__all__ = [
    "ADMIN_PASSWORD",
    "ORIGIN",
    "Api",
    "add_building",
    "add_department",
    "add_lamp",
    "add_user",
    "anyio",
    "building_footprint",
    "point_at",
]
