"""CLI of the standard address tree: import / export the interchange CSV, browse, edit, naming workflows.

Registered on the ``citybase addresses`` Typer app of ``cli/addresses.py``.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from citybase.cli.common import cli_actor, console, exit_unless_succeeded, handle_errors, progress_bar, run_job, state
from citybase.domains.access import Actor
from citybase.domains.addresses import IMPORT_ADDRESSES_JOB, NAMING_KINDS, Workflow, export_file, job_params
from citybase.kernel.errors import InvalidInputError, Issue

workflows_app = typer.Typer(help="Naming workflows: road names, compound names, door plates.", no_args_is_help=True)
AsUser = Annotated[
    str | None, typer.Option("--as", help="Act as this user (the step's department); default: the system.")
]


def _actor(username: str | None) -> Actor:
    if username is None:
        return cli_actor()
    u = state.platform().access.user(username)
    return Actor(name=u.username, kind="user", role=u.role, department_id=u.department_id, user_id=u.id)


def _run_job(job_id: int, what: str) -> dict[str, Any]:
    job = run_job(job_id, what)
    exit_unless_succeeded(job, record="row", field="column")
    return job.result or {}


@handle_errors
def import_command(
    file: Annotated[Path, typer.Argument(help="Interchange CSV (UTF-8 or GBK).")],
    as_user: AsUser = None,
) -> None:
    """Import an interchange CSV into the address tree as a job, with a progress bar; bad rows are reported."""
    if not file.is_file():
        raise InvalidInputError("no such file", issues=[Issue("FILE", str(file))])
    platform = state.platform()
    actor = _actor(as_user)
    uploads = platform.settings.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    target = uploads / f"addresses-{uuid.uuid4().hex}.csv"
    shutil.copyfile(file, target)
    job = platform.jobs.submit(actor, IMPORT_ADDRESSES_JOB, job_params(actor, target))
    result = _run_job(job.id, "importing addresses")
    console.print(
        f"{result['rows']:,} rows ({result['encoding']}): {result['created']:,} nodes created, "
        f"{result['updated']:,} rows updated, {result['unchanged']:,} unchanged, {result['failed']:,} failed"
    )
    for e in result.get("errors", [])[:50]:
        where = f"row {e['record']}, " if e.get("record") is not None else ""
        console.print(f"  - {where}column {e.get('field')!r}: {e.get('reason')}", markup=False)


@handle_errors
def export_command(
    file: Annotated[Path, typer.Argument(help="Where to write the CSV.")],
    encoding: Annotated[str, typer.Option(help="utf-8 or gbk.")] = "utf-8",
) -> None:
    """Export the whole address tree as an interchange CSV (one row per node)."""
    platform = state.platform()
    with progress_bar() as bar:
        task = bar.add_task("exporting addresses", total=None)
        count = export_file(platform.addresses, file, encoding, progress=lambda n: bar.update(task, completed=n))
        bar.update(task, completed=count, total=count)
    console.print(f"{count:,} address nodes written to {file} ({encoding})")


@handle_errors
def tree_command(node: Annotated[int | None, typer.Argument(help="Node id (default: the roots).")] = None) -> None:
    """A node's children with their counts of children (the tree browser in a terminal)."""
    table = Table("id", "level", "name", "display code", "children")
    for c in state.platform().addresses.children(node):
        table.add_row(str(c.node.id), c.node.level, c.node.name, c.node.display_code, f"{c.children:,}")
    console.print(table)


@handle_errors
def show_command(node: int) -> None:
    """One node: full address, path, aliases and history (JSON)."""
    service = state.platform().addresses
    rec = service.record(node)
    data = {
        "full_address": rec.full_address,
        "display_code": rec.display_code,
        "level": rec.level,
        "lon": rec.lon,
        "lat": rec.lat,
        "grid": rec.grid,
        "source_id": rec.source_id,
        "path": [f"{p.level}:{p.name} ({p.id})" for p in service.path(node)],
        "aliases": service.aliases(node),
        "history": [
            f"v{v.version} {v.change} {v.name} {v.recorded_at:%Y-%m-%d %H:%M} {v.recorded_by}"
            for v in service.history(node)
        ],
    }
    console.print_json(json.dumps(data, ensure_ascii=False))


@handle_errors
def find_command(text: str, level: Annotated[str | None, typer.Option()] = None) -> None:
    """Search the tree by current, old or common name."""
    table = Table("id", "level", "full address", "display code")
    for r in state.platform().addresses.search(text, level=level):
        table.add_row(str(r.id), r.level, r.full_address, r.display_code or "")
    console.print(table)


@handle_errors
def rename_command(node: int, name: str, as_user: AsUser = None) -> None:
    """Rename a node (the old name stays searchable as an alias)."""
    n = state.platform().addresses.rename(_actor(as_user), node, name)
    console.print(f"node {n.id} is now {n.name!r} (version {n.version})")


@handle_errors
def retire_command(node: int, as_user: AsUser = None) -> None:
    """Retire a node that has no active children."""
    n = state.platform().addresses.retire(_actor(as_user), node)
    console.print(f"node {n.id} {n.name!r} retired")


def _show(w: Workflow) -> None:
    step = w.next_step
    nxt = "finished" if step is None else f"next: {step[0]} by {step[1]}"
    console.print(f"workflow {w.id} ({w.kind}) under node {w.parent_id}: {w.state}; {nxt}; result {w.result}")


@workflows_app.command("list")
@handle_errors
def workflows_list(wf_state: Annotated[str | None, typer.Option("--state")] = None) -> None:
    """List naming workflows, newest first."""
    table = Table("id", "kind", "state", "parent", "payload", "proposed by", "next step")
    for w in state.platform().addresses.workflows.list(state=wf_state):
        step = w.next_step
        table.add_row(
            str(w.id),
            w.kind,
            w.state,
            str(w.parent_id),
            json.dumps(w.payload, ensure_ascii=False),
            w.proposed_by,
            "-" if step is None else f"{step[0]} ({step[1]})",
        )
    console.print(table)


@workflows_app.command("propose")
@handle_errors
def workflows_propose(
    kind: Annotated[str, typer.Argument(help=f"One of {', '.join(NAMING_KINDS)}.")],
    parent: Annotated[int, typer.Argument(help="Node the new names go under.")],
    name: Annotated[str | None, typer.Option(help="The proposed road or compound name.")] = None,
    numbers: Annotated[str | None, typer.Option(help="Door numbers, comma separated (door_plates).")] = None,
    building: Annotated[int | None, typer.Option(help="Building object id (door_plates).")] = None,
    as_user: AsUser = None,
) -> None:
    """Propose a road name, a compound name or door plates for a building."""
    payload: dict[str, Any] = {"name": name} if name else {}
    if numbers:
        payload["numbers"] = [n.strip() for n in numbers.split(",") if n.strip()]
    if building is not None:
        payload["object_id"] = building
    _show(state.platform().addresses.workflows.propose(_actor(as_user), kind, parent, payload))


def _step(step: str) -> Any:
    @handle_errors
    def command(workflow: int, note: Annotated[str | None, typer.Option()] = None, as_user: AsUser = None) -> None:
        _show(state.platform().addresses.workflows.act(_actor(as_user), workflow, step, note))

    command.__doc__ = {
        "review": "Review a compound name (住建).",
        "approve": "Approve and record (民政).",
        "reject": "Reject (the department whose step is next).",
    }[step]
    return command


for _name in ("review", "approve", "reject"):
    workflows_app.command(_name)(_step(_name))


def register(app: typer.Typer) -> None:
    """Add the tree commands to ``citybase addresses``."""
    app.command("import")(import_command)
    app.command("export")(export_command)
    app.command("tree")(tree_command)
    app.command("show")(show_command)
    app.command("find")(find_command)
    app.command("rename")(rename_command)
    app.command("retire")(retire_command)
    app.add_typer(workflows_app, name="workflows")
