"""Layers: list and publish."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from citybase.cli.common import cli_actor, console, handle_errors, state
from citybase.domains.layers import NewLayer

app = typer.Typer(help="Layers (published views over object classes).", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_layers() -> None:
    """Every layer with its class, access level and owner department."""
    table = Table("name", "title", "class", "access", "department", "ogc items")
    for lyr in state.platform().layers.list(cli_actor()):
        dept = "" if lyr.department_id is None else str(lyr.department_id)
        table.add_row(lyr.name, lyr.title, lyr.class_code or "", lyr.access, dept, f"/ogc/collections/{lyr.name}/items")
    console.print(table)


@app.command("add")
@handle_errors
def add_layer(
    name: Annotated[str, typer.Argument(help="Slug used in URLs, e.g. night-lamps.")],
    class_code: Annotated[str, typer.Option("--class", help="Object class the layer publishes.")],
    title: Annotated[str, typer.Option(help="Title (Chinese is fine).")],
    description: Annotated[str, typer.Option(help="Description.")] = "",
    access: Annotated[str, typer.Option(help="public | internal | restricted.")] = "public",
    department: Annotated[str | None, typer.Option(help="Owner department code.")] = None,
    allow: Annotated[list[str] | None, typer.Option(help="Department code allowed to read (restricted).")] = None,
    style: Annotated[str | None, typer.Option(help="MapLibre style layer fragment as JSON.")] = None,
) -> None:
    """Publish a class of objects as a layer."""
    platform = state.platform()
    dept_id = platform.access.department(department).id if department else None
    allowed = [platform.access.department(code).id for code in allow or []]
    lyr = platform.layers.create(
        cli_actor(),
        NewLayer(
            name=name,
            title=title,
            class_code=class_code,
            description=description,
            department_id=dept_id,
            style=json.loads(style) if style else {},
            access=access,
            allowed_departments=allowed,
        ),
    )
    typer.echo(f"layer {lyr.name} published: /ogc/collections/{lyr.name}/items")
