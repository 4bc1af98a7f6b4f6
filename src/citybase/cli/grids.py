"""Management grids (网格): generate from the division objects, list, assign, refresh the address map."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from citybase.cli.common import cli_actor, console, handle_errors, state
from citybase.domains.grids import LEVELS, generate_from_communities

app = typer.Typer(
    help="Management grids (网格): district → street → community → grid → micro-grid.", no_args_is_help=True
)


@app.command("generate")
@handle_errors
def generate() -> None:
    """Generate the grids from the district, street and community objects (into an empty grid table)."""
    platform = state.platform()
    with platform.store.write() as conn:
        counts = generate_from_communities(conn, cli_actor())
    typer.echo(", ".join(f"{n:,} {level}" for level, n in counts.items()))


@app.command("list")
@handle_errors
def list_grids(
    level: Annotated[str | None, typer.Option(help=f"One of {', '.join(LEVELS)}.")] = None,
    parent: Annotated[str | None, typer.Option(help="Code of the parent grid.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 200,
) -> None:
    """Grids with their code, level, name and current members."""
    grids = state.platform().grids
    parent_id = grids.by_code(parent).id if parent else None
    table = Table("id", "code", "level", "name", "workers", "reviewers")
    for g in grids.find(level=level, parent_id=parent_id, limit=limit):
        members = grids.members(g.id)
        table.add_row(
            str(g.id),
            g.code,
            g.level,
            g.name,
            ", ".join(m.username for m in members if m.duty == "worker"),
            ", ".join(m.username for m in members if m.duty == "reviewer"),
        )
    console.print(table)


@app.command("assign")
@handle_errors
def assign(
    code: Annotated[str, typer.Argument(help="The grid's code.")],
    username: Annotated[str, typer.Argument(help="The user to assign.")],
    duty: Annotated[str, typer.Option(help="worker (网格员) | reviewer (审核员).")] = "worker",
    end: Annotated[bool, typer.Option("--end", help="End the assignment instead.")] = False,
) -> None:
    """Make a user the worker or reviewer of a grid (or end it with --end)."""
    platform = state.platform()
    g = platform.grids.by_code(code)
    user = platform.access.user(username)
    if end:
        platform.grids.unassign(cli_actor(), g.id, user.id, duty)
        typer.echo(f"{username} is no longer {duty} of {g.code} {g.name}")
        return
    platform.grids.assign(cli_actor(), g.id, user.id, duty)
    typer.echo(f"{username} is {duty} of {g.code} {g.name}")


@app.command("refresh")
@handle_errors
def refresh(
    changed: Annotated[bool, typer.Option("--changed", help="Only nodes changed since the last run.")] = False,
) -> None:
    """Recompute the deepest grid of every standard address node (after bulk address or grid changes)."""
    grids = state.platform().grids
    n = grids.sync_addresses() if changed else grids.refresh_address_grids()
    typer.echo(f"{n:,} address nodes mapped to grids")
