"""The ASGI fast path for cached tiles (``web/tile_fastpath.py``): the same response as the tile routes
(bytes, headers, gzip, 304), metered and counted per caller, never for published layers (their access
rules), callers with a credential, or misses; and fresh after a write. Runs on SQLite and PostGIS."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from typer.testing import CliRunner

from citybase.cli.serve import worker_app
from citybase.domains.access import SYSTEM
from citybase.domains.layers import NewLayer
from citybase.domains.objects import ObjectChanges
from citybase.kernel.settings import Settings
from citybase.platform import Platform
from citybase.standards.mvt import decode_tile
from citybase.web import create_app
from citybase.web.tile_fastpath import API_ROUTE, OGC_ROUTE, TileFastPath, parse_tile_path
from tests.helpers import Api, add_building, add_department
from tests.test_cli import cli, run
from tests.test_tiles import TILE, Z, features, url

__all__ = ["cli"]  # the fixture

OGC = f"/ogc/collections/050101/tiles/WebMercatorQuad/{Z}/{TILE[2]}/{TILE[1]}"
VOLATILE = {"x-request-id"}


def fastpath_of(app: FastAPI) -> TileFastPath:
    layer: Any = app.middleware_stack
    while layer is not None and not isinstance(layer, TileFastPath):
        layer = getattr(layer, "app", None)
    assert layer is not None, "the app has no tile fast path"
    return layer


@pytest.fixture
def plain(platform: Platform) -> Iterator[Api]:
    """The same app over the same platform (same tile cache) without the fast path: the reference."""
    app = create_app(platform, manage_lifecycle=False)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not TileFastPath]
    with Api(app) as client:
        yield client


@pytest.fixture
def fast(platform: Platform, api: Api) -> Api:
    platform.tiles.changes.interval_s = 3600  # other processes' log read once: hits stay hits however slow the test
    return api


def served(api: Api) -> int:
    api.get("/health")  # builds the middleware stack
    return fastpath_of(api.app).served


def same_response(a: Any, b: Any) -> None:
    assert a.status_code == b.status_code
    assert a.content == b.content
    assert {k: v for k, v in a.headers.items() if k not in VOLATILE} == {
        k: v for k, v in b.headers.items() if k not in VOLATILE
    }


def test_parse_tile_path() -> None:
    assert parse_tile_path("/api/tiles/basemap/3/4/5.mvt") == (API_ROUTE, "basemap", 3, 4, 5, "WebMercatorQuad")
    assert parse_tile_path("/ogc/collections/050101/tiles/CGCS2000Quad/3/5/4") == (
        OGC_ROUTE, "050101", 3, 4, 5, "CGCS2000Quad"
    )  # fmt: skip
    for path in (
        "/api/tiles/buildings/3/4/5.mvt",  # a published layer: its access rules are in the database
        "/api/tiles/basemap/3/4/-5.mvt",
        "/api/tiles/basemap/3/4/5.pbf",
        "/api/tiles/basemap/3/4/５.mvt",  # a full-width digit
        "/ogc/collections/basemap/tiles/WebMercatorQuad/3/5/4",
        "/ogc/collections/050101/tiles/NoSuchQuad/3/5/4",
        "/ogc/collections/050101/tiles/WebMercatorQuad/3/5",
    ):
        assert parse_tile_path(path) is None, path


@pytest.mark.parametrize("accept", ["gzip, deflate", "identity"])
def test_cached_tiles_answer_exactly_as_the_routes(platform: Platform, fast: Api, plain: Api, accept: str) -> None:
    for i in range(40):  # a tile above the gzip threshold (1 KB)
        add_building(platform, f"楼{i}", dx=0.00002 * (i % 8), dy=0.00002 * (i // 8))
    headers = {"Accept-Encoding": accept}
    for path in (url("basemap", TILE), url("050101", TILE), OGC):
        first = fast.get(path, headers=headers)  # a miss: rendered by the route, now cached
        assert first.status_code == 200 and len(first.content) >= 1024, path
        before = served(fast)
        hit = fast.get(path, headers=headers)
        assert served(fast) == before + 1, path
        reference = plain.get(path, headers=headers)
        same_response(hit, reference)
        same_response(first, reference)
        assert ("content-encoding" in hit.headers) == ("gzip" in accept)
        assert hit.headers["vary"] == "Accept-Encoding"
        assert decode_tile(hit.content)  # httpx decoded the gzip body: a real tile
        # (equal content-length headers above: the gzip stream is Starlette's, byte for byte)


def test_etag_304_and_empty_tiles(platform: Platform, fast: Api, plain: Api) -> None:
    add_building(platform, "A")
    path = url("basemap", TILE)
    etag = fast.get(path).headers["etag"]
    before = served(fast)
    for inm in (etag, f'"x", W/{etag}', "*"):
        r = fast.get(path, headers={"If-None-Match": inm})
        assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
        same_response(r, plain.get(path, headers={"If-None-Match": inm}))
    assert fast.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    empty = url("basemap", (Z, TILE[1] + 50, TILE[2]))
    assert fast.get(empty).status_code == 204
    hit = fast.get(empty)
    assert hit.status_code == 204 and hit.content == b""
    same_response(hit, plain.get(empty))
    assert served(fast) == before + 5


def test_hits_are_metered_and_counted(platform: Platform, fast: Api) -> None:
    add_building(platform, "A")
    day_calls = {r.route: r.calls for r in platform.meter.daily(SYSTEM)}
    before = served(fast)
    for _ in range(5):
        assert fast.get(url("basemap", TILE)).status_code == 200
    for _ in range(3):
        assert fast.get(OGC).status_code == 200
    assert served(fast) == before + 6  # the first of each was a miss
    rows = {(r.route, r.api_key_id, r.department_id): r.calls for r in platform.meter.daily(SYSTEM)}
    assert rows[(API_ROUTE.path, None, None)] - day_calls.get(API_ROUTE.path, 0) == 5
    assert rows[(OGC_ROUTE.path, None, None)] - day_calls.get(OGC_ROUTE.path, 0) == 3
    registry = fast.app.state.metrics.registry
    labels = {"method": "GET", "route": API_ROUTE.path, "status": "200"}
    assert registry.get_sample_value("citybase_http_requests_total", labels) == 5
    r = fast.get(url("basemap", TILE))
    assert len(r.headers["x-request-id"]) == 32
    assert fast.get(url("basemap", TILE), headers={"X-Request-ID": "abc"}).headers["x-request-id"] == "abc"


def test_credentials_layers_and_closed_reading_go_through_the_routes(platform: Platform, fast: Api) -> None:
    zjj = add_department(platform)
    add_building(platform, "A")
    platform.layers.create(
        SYSTEM, NewLayer("permits", "规划许可", "050101", access="restricted", allowed_departments=[zjj.id])
    )
    assert fast.get(url("050101", TILE)).status_code == 200  # the class tile is cached now
    before = served(fast)
    for path in (url("permits", TILE), f"/ogc/collections/permits/tiles/WebMercatorQuad/{Z}/{TILE[2]}/{TILE[1]}"):
        assert fast.get(path).status_code == 404, path  # a restricted layer, never to anonymous callers
    assert served(fast) == before

    key = platform.access.issue_api_key(SYSTEM, "zjj", "住建系统对接")
    r = fast.get(url("050101", TILE), headers={"X-API-Key": key.secret})
    assert r.status_code == 200 and served(fast) == before  # resolved by the route, metered to the key
    assert fast.get(url("permits", TILE), headers={"X-API-Key": key.secret}).status_code == 200
    calls = {(r.route, r.api_key_id) for r in platform.meter.daily(SYSTEM)}
    assert (API_ROUTE.path, key.key.id) in calls
    for bad in ("cbk_wrong_key", " "):
        assert fast.get(url("050101", TILE), headers={"X-API-Key": bad}).status_code == 401

    platform.settings.anonymous_read = False
    try:
        assert fast.get(url("050101", TILE)).status_code == 401
        assert served(fast) == before
    finally:
        platform.settings.anonymous_read = True
    assert fast.get(url("050101", TILE), params={"version": "1"}).status_code == 400  # a query: the route
    assert served(fast) == before


def test_a_write_is_visible_at_once_and_the_log_read_is_not_skipped(platform: Platform, fast: Api) -> None:
    a = add_building(platform, "A", floors=6)
    path = url("basemap", TILE)
    first = fast.get(path)
    assert fast.get(path).headers["etag"] == first.headers["etag"]
    platform.objects.update(SYSTEM, a.id, a.version, ObjectChanges(name="A改", attributes={"floors": 9}))
    before = served(fast)
    changed = fast.get(path)
    assert served(fast) == before  # dropped from the cache: rendered by the route
    assert changed.headers["etag"] != first.headers["etag"]
    assert features(changed.content, "050101")[a.id]["properties"]["name"] == "A改"
    assert fast.get(path).headers["etag"] == changed.headers["etag"] and served(fast) == before + 1

    checks = platform.tiles.changes.checks
    platform.tiles.changes._next_check = 0.0  # the log of other processes is due: the route reads it first
    assert fast.get(path).status_code == 200
    assert served(fast) == before + 1 and platform.tiles.changes.checks == checks + 1


def test_serve_workers_option(cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = run(cli, "serve", "--workers", "0", code=1)
    assert "workers" in out and "must be 1 to 64" in out
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr("uvicorn.run", lambda target, **kw: calls.append((target, kw)))  # no server in a test
    url = f"sqlite:///{tmp_path / 'other.db'}"
    run(cli, "--database-url", url, "serve", "--workers", "2", "--port", "18999")
    target, kw = calls[-1]
    assert target == "citybase.cli.serve:worker_app"
    assert (kw["factory"], kw["workers"], kw["port"], kw["timeout_worker_healthcheck"]) == (True, 2, 18999, 60)
    assert os.environ["CITYBASE_DATABASE_URL"] == url  # the workers build their platform from it
    monkeypatch.delenv("CITYBASE_DATABASE_URL")


def test_a_worker_builds_its_app_from_the_environment(
    platform: Platform, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_building(platform, "A")
    monkeypatch.setenv("CITYBASE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CITYBASE_DATA_DIR", str(settings.data_dir))
    app = worker_app()
    with Api(app) as client:
        r = client.get(url("basemap", TILE))
        assert r.status_code == 200 and features(r.content, "050101")
        assert client.get(url("basemap", TILE)).headers["etag"] == r.headers["etag"]
    app.state.platform.store.dispose()
