"""``citybase demo``: build the demo city (idempotent) and serve it."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import TaskID

from citybase.cli.common import console, handle_errors, progress_bar, state
from citybase.cli.serve import run_server
from citybase.demo import SCALES, build_demo, demo_status


@handle_errors
def demo_command(
    scale: Annotated[str, typer.Option(help=f"One of {', '.join(SCALES)}.")] = "demo",
    serve: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the platform afterwards.")] = True,
    host: Annotated[str | None, typer.Option()] = None,
    port: Annotated[int | None, typer.Option()] = None,
) -> None:
    """Build the demo city of Xiangyang (襄阳) into the database, then serve it.

    A second run finds the city already built and starts at once.
    """
    if scale not in SCALES:
        raise typer.BadParameter(f"scale must be one of {', '.join(SCALES)}")
    platform = state.platform()
    platform.init(admin_password="citybase-admin")
    built = demo_status(platform)
    if built is not None:
        console.print(f"demo city already built ({built}); reusing it")
    else:
        with progress_bar() as bar:
            tasks: dict[str, TaskID] = {}

            def progress(step: str, done: int, total: int | None) -> None:
                if step not in tasks:
                    tasks[step] = bar.add_task(step, total=total)
                bar.update(tasks[step], completed=done, total=total)

            report = build_demo(platform, scale, progress=progress)
        console.print(f"demo city built: {report}")
    console.print(
        "log in as [bold]admin[/] / [bold]citybase-admin[/] (demo only); department users are listed in docs/demo.md"
    )
    if serve:
        run_server(host, port)
