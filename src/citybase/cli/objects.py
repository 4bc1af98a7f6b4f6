"""City objects, classes and jobs."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from citybase.cli.common import cli_actor, console, exit_unless_succeeded, handle_errors, run_job, state
from citybase.domains.objects import IMPORT_GEOJSON_JOB, ObjectQuery
from citybase.kernel.geo import BBox

app = typer.Typer(help="City objects.", no_args_is_help=True)
classes_app = typer.Typer(help="The classification table.", no_args_is_help=True)
jobs_app = typer.Typer(help="Long-running jobs.", no_args_is_help=True)


@app.command("get")
@handle_errors
def get_object(object_id: int) -> None:
    """Print one object as JSON."""
    from citybase.web.serialize import object_json

    typer.echo(json.dumps(object_json(state.platform().objects.get(object_id)), ensure_ascii=False, indent=2))


@app.command("search")
@handle_errors
def search_objects(
    class_code: Annotated[str | None, typer.Option("--class")] = None,
    q: Annotated[str | None, typer.Option(help="Text in the name.")] = None,
    bbox: Annotated[str | None, typer.Option(help="minx,miny,maxx,maxy")] = None,
    limit: int = 20,
) -> None:
    """Search objects."""
    page = state.platform().objects.search(
        ObjectQuery(class_code=class_code, text=q, bbox=BBox.parse(bbox) if bbox else None, limit=limit)
    )
    table = Table("id", "code", "class", "name", "state", "version")
    for o in page.items:
        table.add_row(str(o.id), o.code or "", o.class_code, o.name, o.state, str(o.version))
    console.print(table)


@app.command("import")
@handle_errors
def import_objects(
    file: Path,
    class_code: Annotated[str | None, typer.Option("--class")] = None,
    department: Annotated[str | None, typer.Option(help="Owning department code.")] = None,
) -> None:
    """Import a GeoJSON FeatureCollection as a job, with a progress bar (all-or-nothing validation)."""
    platform = state.platform()
    dept_id = platform.access.department(department).id if department else None
    uploads = platform.settings.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    target = uploads / f"{uuid.uuid4().hex}.geojson"
    shutil.copyfile(file, target)
    job = platform.jobs.submit(
        cli_actor(),
        IMPORT_GEOJSON_JOB,
        {"path": str(target), "class_code": class_code, "department_id": dept_id, "role": "platform_admin"},
    )
    _run_job_with_progress(job.id)


def _run_job_with_progress(job_id: int) -> None:
    job = run_job(job_id, "import")
    exit_unless_succeeded(job)
    console.print(f"job {job_id} succeeded: {job.result}")


@classes_app.command("list")
@handle_errors
def list_classes() -> None:
    """List object classes."""
    table = Table("code", "major", "medium", "name", "name_en", "geometry", "attributes")
    for c in state.platform().classes.all():
        table.add_row(
            c.code,
            c.major,
            c.medium,
            c.name,
            c.name_en,
            c.geometry_type or "-",
            ", ".join(a.name for a in c.attributes),
        )
    console.print(table)


@classes_app.command("add")
@handle_errors
def add_class(definition: Path) -> None:
    """Add a class from a JSON file (same shape as an entry of the shipped seed table)."""
    data = json.loads(definition.read_text(encoding="utf-8"))
    c = state.platform().classes.create(cli_actor(), data)
    console.print(f"class {c.code} {c.name} added")


@jobs_app.command("list")
@handle_errors
def list_jobs(job_state: Annotated[str | None, typer.Option("--state")] = None) -> None:
    """List recent jobs."""
    table = Table("id", "kind", "state", "done", "total", "message")
    for j in state.platform().jobs.list(state=job_state):
        table.add_row(str(j.id), j.kind, j.state, str(j.done), str(j.total or ""), j.message or "")
    console.print(table)


@jobs_app.command("run")
@handle_errors
def run_jobs() -> None:
    """Run queued (and interrupted) jobs in this process until the queue is empty."""
    platform = state.platform()
    platform.jobs.requeue_stale()
    console.print(f"ran {platform.jobs.run_pending()} job(s)")


@jobs_app.command("worker")
@handle_errors
def job_worker(
    workers: Annotated[int, typer.Option(help="Worker threads.")] = 1,
    poll: Annotated[float, typer.Option(help="Seconds between polls of an empty queue.")] = 2.0,
) -> None:
    """Run jobs in a separate worker process until interrupted (the server can then run with job_workers=0)."""
    import time

    from citybase.domains.jobs import JobRunner

    platform = state.platform()
    runner = JobRunner(platform.jobs, workers=workers, poll_seconds=poll)
    runner.start()
    console.print(f"job worker running with {workers} thread(s); Ctrl-C stops it")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        runner.stop()
