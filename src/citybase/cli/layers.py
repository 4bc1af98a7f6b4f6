"""Layers: list and publish."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from citybase.cli.common import cli_actor, console, exit_unless_succeeded, handle_errors, run_job, state
from citybase.domains.layers import NewLayer
from citybase.domains.tiles3d import EXPORT_JOB

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


@app.command("export-3dtiles")
@handle_errors
def export_3dtiles(
    name: Annotated[str, typer.Argument(help="A layer of buildings, e.g. buildings.")],
    out_dir: Annotated[Path, typer.Argument(help="New or empty directory for tileset.json and content/.")],
    background: Annotated[bool, typer.Option(help="Only queue the job (a server or job worker runs it).")] = False,
) -> None:
    """Export a building layer as 3D Tiles 1.1 white models (glTF content), as a job with progress."""
    platform = state.platform()
    lyr = platform.layers.get(cli_actor(), name)
    platform.tiles3d.building_class(lyr)  # a layer that is not buildings fails here, before a job exists
    job = platform.jobs.submit(cli_actor(), EXPORT_JOB, {"layer": name, "out_dir": str(out_dir.resolve())})
    if background:
        typer.echo(f"job {job.id} queued: export of layer {name} to {out_dir}")
        return

    current = run_job(job.id, f"3D tiles of {name}")
    exit_unless_succeeded(current)
    r = current.result or {}
    console.print(
        f"{r.get('buildings', 0)} building(s) in {r.get('tiles', 0)} tile(s), {r.get('levels', 0)} level(s), "
        f"{r.get('bytes', 0) / 1e6:.1f} MB: {out_dir / 'tileset.json'}"
    )
    if r.get("defaulted_heights") or r.get("skipped_footprints"):
        console.print(
            f"[yellow]{r.get('defaulted_heights', 0)} height(s) defaulted to 3 m, "
            f"{r.get('skipped_footprints', 0)} footprint(s) skipped:[/]"
        )
        for e in (r.get("issues") or [])[:50]:
            console.print(f"  - record {e.get('record')}, field {e.get('field')!r}: {e.get('reason')}", markup=False)
