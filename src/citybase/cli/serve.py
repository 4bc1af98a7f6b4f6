"""``citybase serve``."""

from __future__ import annotations

from typing import Annotated

import typer

from citybase.cli.common import configure_logging, handle_errors, state


def run_server(host: str | None, port: int | None) -> None:
    import uvicorn

    from citybase.web import create_app

    platform = state.platform()
    settings = platform.settings
    configure_logging(settings.log_level)
    app = create_app(platform)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


@handle_errors
def serve_command(
    host: Annotated[str | None, typer.Option(help="Bind address (default from settings: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings: 8000).")] = None,
) -> None:
    """Serve the platform: portal at /portal/, API at /api/, OpenAPI docs at /api/docs."""
    run_server(host, port)
