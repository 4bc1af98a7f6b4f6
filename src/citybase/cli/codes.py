"""Unified codes: bulk assignment with a progress bar, resolution, Beidou codes, labels, health."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from citybase.cli.common import cli_actor, console, exit_unless_succeeded, handle_errors, run_job, state
from citybase.domains.codes import Selection
from citybase.kernel.geo import BBox
from citybase.standards import beidou, beidou3d

app = typer.Typer(help="Unified codes (统一识别代码) and Beidou grid codes.", no_args_is_help=True)


@app.command("assign")
@handle_errors
def assign_codes(
    class_code: Annotated[str | None, typer.Option("--class", help="Only objects of this class.")] = None,
    department: Annotated[str | None, typer.Option(help="Only objects of this department (code).")] = None,
    bbox: Annotated[str | None, typer.Option(help="Only objects in minx,miny,maxx,maxy.")] = None,
    legacy_attribute: Annotated[
        str | None, typer.Option(help="Attribute with the department's own id; adds crosswalk entries.")
    ] = None,
) -> None:
    """Code every uncoded object (of a class, department, area) as a resumable job, with a progress bar."""
    platform = state.platform()
    dept = platform.access.department(department).id if department else None
    selection = Selection(class_code, dept, BBox.parse(bbox) if bbox else None, legacy_attribute)
    job = platform.codes.submit_bulk(cli_actor(), selection)
    current = run_job(job.id, "coding")
    exit_unless_succeeded(current)
    result = current.result or {}
    console.print(f"coded {result.get('coded', 0)} object(s) in {result.get('chunks', 0)} chunk(s) (job {job.id})")


@app.command("resolve")
@handle_errors
def resolve_code(code: str) -> None:
    """Print the card of a code as JSON: object, department, Beidou code, lineage, what replaced it."""
    from citybase.web.routes.codes import card_json

    card = state.platform().codes.resolve(code)
    typer.echo(json.dumps(card_json(card), ensure_ascii=False, indent=2))


@app.command("beidou")
@handle_errors
def beidou_code(
    lng: float,
    lat: float,
    level: Annotated[int, typer.Option(help="Level 1-10.")] = 10,
    height: Annotated[float | None, typer.Option(help="Ellipsoidal height in metres: print the 3D code too.")] = None,
) -> None:
    """The Beidou grid location code (GB/T 39409) of a point (CGCS2000 degrees)."""
    typer.echo(beidou.encode(lng, lat, level))
    if height is not None:
        typer.echo(beidou3d.encode3d(lng, lat, height, level))


@app.command("label")
@handle_errors
def label(
    code: str,
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (.svg label, or .png QR code).")],
) -> None:
    """Write the QR label of a code (SVG with code and name, or a bare PNG QR code)."""
    codes = state.platform().codes
    if out.suffix.lower() == ".png":
        out.write_bytes(codes.label_png(code))
    else:
        out.write_text(codes.label_svg(code), encoding="utf-8")
    console.print(f"wrote {out} ({codes.label_url(code)})")


@app.command("health")
@handle_errors
def health(department: Annotated[str | None, typer.Option(help="Department code (default: all).")] = None) -> None:
    """The code health report: uncoded objects, duplicate legacy ids, retired references, wrong divisions."""
    report = state.platform().codes.health(cli_actor(), department)
    console.print(f"objects: {report.objects}, coded: {report.coded}")
    table = Table("problem", "count", "first examples")
    for p in report.problems:
        examples = "; ".join(json.dumps(s, ensure_ascii=False) for s in p.samples[:3])
        table.add_row(p.kind, str(p.count), examples)
    console.print(table)
