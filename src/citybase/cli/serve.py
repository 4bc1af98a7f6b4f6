"""``citybase serve``.

One process by default. ``--workers N`` starts N server processes on the same port (uvicorn's
supervisor); each builds its own platform from the same settings (the global ``--data-dir`` and
``--database-url`` reach the workers as ``CITYBASE_*`` environment variables). That is safe because
the tile caches of the processes share invalidations through the change log
(``domains/tiles/changes.py``: another process's write shows within about a second), jobs are claimed
with a guarded update, and metering adds its counts. uvicorn uses uvloop and httptools when they are
installed (dependencies of citybase), else asyncio and h11.
"""

from __future__ import annotations

import inspect
import os
from typing import TYPE_CHECKING, Annotated, Any

import typer

from citybase.cli.common import configure_logging, handle_errors, state
from citybase.kernel.errors import InvalidInputError, Issue

if TYPE_CHECKING:
    from fastapi import FastAPI

MAX_WORKERS = 64
HEALTHCHECK_S = 60


def worker_app() -> FastAPI:
    """The app of one worker process (``--workers`` > 1): settings from the environment."""
    from citybase.kernel.settings import load_settings
    from citybase.platform import Platform
    from citybase.web import create_app

    settings = load_settings()
    configure_logging(settings.log_level)
    return create_app(Platform(settings))


def run_server(host: str | None, port: int | None, workers: int = 1) -> None:
    import uvicorn

    extra: dict[str, Any] = {}
    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidInputError(
            "bad option", issues=[Issue("workers", f"must be 1 to {MAX_WORKERS}, got {workers}", "--workers")]
        )
    if workers == 1:
        from citybase.web import create_app

        platform = state.platform()
        settings = platform.settings
        configure_logging(settings.log_level)
        target: object = create_app(platform)
    else:
        settings = state.settings()  # checked here, so a bad setting fails before any worker starts
        configure_logging(settings.log_level)
        if state.data_dir is not None:
            os.environ["CITYBASE_DATA_DIR"] = str(state.data_dir)
        if state.database_url is not None:
            os.environ["CITYBASE_DATABASE_URL"] = state.database_url
        target = "citybase.cli.serve:worker_app"
        # a worker answers the supervisor's health pings only once it has imported the CLI (its main
        # module) — seconds on a busy machine; uvicorn's default of 5 s then kills it in a loop
        if "timeout_worker_healthcheck" in inspect.signature(uvicorn.Config).parameters:
            extra["timeout_worker_healthcheck"] = HEALTHCHECK_S
    uvicorn.run(
        target,  # type: ignore[arg-type]
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        **extra,
    )


@handle_errors
def serve_command(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings: 8000).")] = None,
    workers: Annotated[
        int, typer.Option(help="Server processes on the same port (e.g. one per core); each has its own caches.")
    ] = 1,
) -> None:
    """Serve the platform: portal at /portal/, API at /api/, OpenAPI docs at /api/docs."""
    run_server(host, port, workers)
