"""The FastAPI app factory: a thin adaptor over the platform."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from citybase import __version__
from citybase.domains.addresses import warm as warm_address_parser
from citybase.platform import Platform
from citybase.web import errors, ogc
from citybase.web.middleware import Metrics, RequestMiddleware
from citybase.web.routes import (
    address_tree,
    addresses,
    admin,
    auth,
    classes,
    codes,
    collect,
    grids,
    houses,
    imports,
    layers,
    object_stats,
    objects,
    operations,
    orgs,
    people,
    plates,
    registry_search,
    system,
    tiles,
    tiles3d,
)
from citybase.web.tile_fastpath import TileFastPath

DESCRIPTION = """城市数字公共基础设施基础平台 (citybase) — one shared base for every department:
city objects with unified codes and full history, layers, standard addresses and registries.

Authenticate with `Authorization: Bearer <token>` (from `/api/auth/login`) or `X-API-Key: <key>`.
Errors are RFC 9457 problem JSON with an `issues` list naming record, field and reason."""


def portal_dir() -> Path:
    return Path(str(resources.files("citybase.portal").joinpath("static")))


def create_app(platform: Platform, *, manage_lifecycle: bool = True) -> FastAPI:
    """Build the app. With ``manage_lifecycle`` the app starts and stops the platform's background work."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_lifecycle:
            platform.start()
            # The address parser's model and compiled kernels before the first request (a geocode would
            # otherwise wait for them: seconds on a new installation, while numba compiles).
            await asyncio.to_thread(warm_address_parser)
        try:
            yield
        finally:
            if manage_lifecycle:
                platform.stop()

    app = FastAPI(
        title="citybase",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.platform = platform
    app.state.metrics = Metrics()
    errors.install(app)
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(TileFastPath)  # cached tiles without FastAPI; inside the request middleware (ids, metering)
    app.add_middleware(RequestMiddleware, metrics=app.state.metrics)  # outermost: times and ids everything
    if platform.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=platform.settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["ETag", "X-Request-ID"],
        )
    # tiles first: routes are matched in order, and tiles are the most frequent request (a map view asks
    # for dozens at once); their paths (/api/tiles/…, /ogc/tileMatrixSets…, /ogc/collections/{id}/tiles…)
    # overlap no other router's
    for module in (
        tiles,
        system,
        auth,
        admin,
        classes,
        operations,
        object_stats,
        objects,
        codes,
        layers,
        imports,
        ogc,
        tiles3d,
        addresses,
        address_tree,
        grids,
        plates,
        collect,
        people,
        houses,
        orgs,
        registry_search,
    ):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/portal/")

    app.mount("/portal", StaticFiles(directory=portal_dir(), html=True), name="portal")
    return app
