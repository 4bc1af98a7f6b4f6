"""Collection tasks: list them, run the quality rules, print the errors-and-gaps list (错误、缺漏数据库)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from citybase.cli.common import cli_actor, console, handle_errors, state
from citybase.domains.collect import RULES, run_rules, tasks_from_address_review

app = typer.Typer(help="Collection tasks (采集 → 初审 → 复审) and the errors-and-gaps list.", no_args_is_help=True)


@app.command("list")
@handle_errors
def list_tasks(
    task_state: Annotated[str | None, typer.Option("--state", help="open, submitted, first_approved, ...")] = None,
    queue: Annotated[str | None, typer.Option(help="first (awaiting 初审), second (复审) or open.")] = None,
    grid: Annotated[int | None, typer.Option(help="Only tasks of this grid id.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only tasks of this kind, e.g. address.rename.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Tasks in id order, with their state, grid, department and assignee."""
    tasks, total = state.platform().collect.list_tasks(
        cli_actor(), state=task_state, queue=queue, grid_id=grid, kind=kind, limit=limit
    )
    if as_json:
        for t in tasks:
            row = {"id": t.id, "kind": t.kind, "title": t.title, "state": t.state, "version": t.version,
                   "grid_id": t.grid_id, "department_id": t.department_id, "assignee_id": t.assignee_id,
                   "source": t.source, "created_at": t.created_at.isoformat()}  # fmt: skip
            console.print_json(json.dumps(row, ensure_ascii=False))
        return
    table = Table("id", "kind", "title", "state", "grid", "dept", "assignee", "created", title=f"{total:,} tasks")
    for t in tasks:
        table.add_row(str(t.id), t.kind, t.title, t.state, str(t.grid_id or ""), str(t.department_id or ""),
                      str(t.assignee_id or ""), t.created_at.strftime("%Y-%m-%d"))  # fmt: skip
    console.print(table)


@app.command("reassign")
@handle_errors
def reassign(
    task_id: Annotated[int, typer.Argument(help="The task's id.")],
    reason: Annotated[str, typer.Option(help="Why the task moves (kept in its history).")],
    to: Annotated[str | None, typer.Option(help="Username of the collector to take it.")] = None,
    pool: Annotated[bool, typer.Option("--pool", help="Back to the grid's pool (no assignee).")] = False,
) -> None:
    """Reassign an open or returned task (改派) to another collector, or back to its grid's pool."""
    if (to is None) == (not pool):
        raise typer.BadParameter("give either --to USERNAME or --pool")
    platform = state.platform()
    assignee = platform.access.user(to).id if to is not None else None
    task = platform.collect.get(cli_actor(), task_id)
    moved = platform.collect.reassign(cli_actor(), task_id, version=task.version, assignee_id=assignee, reason=reason)
    console.print(f"task {moved.id} ({moved.state}, version {moved.version}) is now with {to or 'the grid pool'}")


@app.command("rules")
@handle_errors
def rules(
    rule: Annotated[list[str] | None, typer.Option(help=f"Rule to run (repeatable): {', '.join(RULES)}.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many new tasks per rule.")] = 1000,
) -> None:
    """Run the quality rules and turn open address reviews into tasks; running twice adds no duplicates."""
    collect = state.platform().collect
    for run in run_rules(collect, cli_actor(), rule or None, limit=limit):
        console.print(f"{run.rule}: {run.found:,} found, {run.created:,} new tasks")
    made = tasks_from_address_review(collect, cli_actor(), limit=limit)
    console.print(f"address review: {made:,} new tasks")


@app.command("gaps")
@handle_errors
def gaps(
    by: Annotated[str, typer.Option(help="grid or department.")] = "grid",
) -> None:
    """Open tasks per grid (or department): counts by kind and by age (≤7 d, 8–30 d, >30 d)."""
    rows = state.platform().collect.gaps(cli_actor(), by=by)
    table = Table(by, "open", "≤7 d", "8–30 d", ">30 d", "by kind", title="错误、缺漏数据库 errors and gaps")
    for g in rows:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(g.by_kind.items()))
        table.add_row("—" if g.id is None else f"{g.id} {g.name or ''}".strip(), str(g.total), str(g.ages["le_7d"]),
                      str(g.ages["d8_30"]), str(g.ages["gt_30d"]), kinds)  # fmt: skip
    console.print(table)
