"""``citybase import`` and the layer-version commands (``citybase layers versions|compare|rollback``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from citybase.cli.common import (
    cli_actor,
    console,
    err_console,
    handle_errors,
    run_job,
    state,
)
from citybase.domains.imports import ImportOptions
from citybase.kernel.errors import InvalidInputError, Issue


def _mapping(text: str | None) -> dict[str, str] | None:
    """--mapping as JSON ({"楼层": "floors"}), a JSON file, or col=attr pairs separated by commas."""
    if not text:
        return None
    if Path(text).is_file():
        text = Path(text).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        try:
            found = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInputError("bad mapping", issues=[Issue("mapping", f"not JSON: {exc.msg}")]) from None
        return dict(found) if isinstance(found, dict) else found
    pairs = [p.split("=", 1) for p in text.split(",") if p.strip()]
    if any(len(p) != 2 for p in pairs):
        raise InvalidInputError("bad mapping", issues=[Issue("mapping", "use column=attribute,column=attribute")])
    return {a.strip(): b.strip() for a, b in pairs}


def _sidecars(file: Path) -> list[Path]:
    """The file and, for a Shapefile, its parts with the same stem (.dbf .shx .prj .cpg ...)."""
    if file.suffix.lower() != ".shp":
        return [file]
    return [file, *sorted(p for p in file.parent.glob(f"{file.stem}.*") if p != file)]


def _wait(job_id: int) -> Any:
    """Run queued jobs in this process (ours among them) while drawing its progress."""
    return run_job(job_id, "import", show_message=True)


def _print_report(report: dict[str, Any]) -> None:
    for key in ("format", "source_layer", "crs", "crs_source", "rows_read", "loaded", "repaired", "rejected"):
        if key in report:
            console.print(f"{key:>14}: {report[key]}")
    for note in report.get("notes", []):
        console.print(f"{'note':>14}: {note}")
    if "layer_version" in report:
        counts = ", ".join(f"{k} {report[k]}" for k in ("added", "changed", "unchanged", "retired"))
        console.print(f"{'layer version':>14}: {report['layer_version']} ({counts})")
    for r in report.get("repairs", [])[:20]:
        console.print(f"  repaired row {r['row']}: {'; '.join(r['repairs'])}", markup=False)
    for i in report.get("issues", [])[:50]:
        where = f"row {i['row']}, " if "row" in i else ""
        console.print(f"  rejected {where}field {i['field']!r}: {i['reason']}", markup=False)
    if report.get("issues_total", 0) > 50:
        console.print(f"  … {report['issues_total'] - 50} more problems (citybase imports show ID --json)")


@handle_errors
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="GeoJSON, GPKG, SHP/ZIP, CSV, XLSX, OSM.")],
    layer: Annotated[str, typer.Option(help="Dataset layer to import into (a new name creates it).")],
    class_code: Annotated[str | None, typer.Option("--class", help="Object class (needed for a new layer).")] = None,
    crs: Annotated[str | None, typer.Option(help="EPSG:4490, cgcs2000, wgs84, gk3:38, gcj02, bd09…")] = None,
    department: Annotated[str | None, typer.Option(help="Owner department code (new layers).")] = None,
    mapping: Annotated[str | None, typer.Option(help='Column mapping: JSON, JSON file or "列=attr,…".')] = None,
    unknown: Annotated[str, typer.Option(help="Columns that are no attribute: keep | drop | reject.")] = "keep",
    source_layer: Annotated[str | None, typer.Option(help="Layer/sheet in the file (OSM: points…).")] = None,
    where: Annotated[str | None, typer.Option(help="OGR SQL filter on the file (building IS NOT NULL).")] = None,
    lon_column: Annotated[str | None, typer.Option(help="CSV/XLSX longitude (x) column.")] = None,
    lat_column: Annotated[str | None, typer.Option(help="CSV/XLSX latitude (y) column.")] = None,
    all_or_nothing: Annotated[bool, typer.Option(help="Fail when any row is rejected.")] = False,
    title: Annotated[str | None, typer.Option(help="Title of a new layer.")] = None,
    assign_codes: Annotated[bool, typer.Option(help="Give new objects their unified codes (赋码).")] = False,
) -> None:
    """Import a department file into a dataset layer: a new layer version, with a validation report."""
    platform = state.platform()
    opts = ImportOptions(
        layer=layer, class_code=class_code, crs=crs, department=department, mapping=_mapping(mapping),
        unknown=unknown, source_layer=source_layer, where=where, lon_column=lon_column, lat_column=lat_column,
        all_or_nothing=all_or_nothing, title=title, assign_codes=assign_codes,
    )  # fmt: skip
    handles = [p.open("rb") for p in _sidecars(file)]
    try:
        staged = platform.imports.stage([(p.name, h) for p, h in zip(_sidecars(file), handles, strict=True)])
    finally:
        for h in handles:
            h.close()
    run = platform.imports.submit(cli_actor(), staged, opts, file_name=file.name)
    job = _wait(run.job_id or 0)
    run = platform.imports.get(cli_actor(), run.id)
    console.print(f"import {run.id} {run.state}")
    _print_report(run.report or {})
    if run.state != "succeeded":
        err_console.print(f"[bold red]Import failed:[/] {(run.report or {}).get('error') or job.message}")
        raise typer.Exit(1)


imports_app = typer.Typer(help="Import runs and their validation reports.", no_args_is_help=True)


@imports_app.command("show")
@handle_errors
def show_import(import_id: int, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The state and validation report of one import."""
    run = state.platform().imports.get(cli_actor(), import_id)
    if as_json:
        typer.echo(json.dumps({"id": run.id, "state": run.state, "report": run.report}, ensure_ascii=False, indent=2))
        return
    console.print(f"import {run.id} into {run.layer_name}: {run.state} ({run.file_name})")
    _print_report(run.report or {})


def versions_command(name: Annotated[str, typer.Argument(help="Dataset layer.")]) -> None:
    """The versions of a dataset layer (imports and rollbacks)."""
    table = Table("version", "change", "added", "changed", "retired", "unchanged", "by", "at", "")
    for v in state.platform().imports.versions(cli_actor(), name):
        what = v.change + (f" {v.import_id}" if v.import_id else f" to {v.rolled_back_to}" if v.rolled_back_to else "")
        c = v.counts
        table.add_row(
            str(v.version), what, str(c.get("added", 0)), str(c.get("changed", 0)), str(c.get("retired", 0)),
            str(c.get("unchanged", 0)), v.created_by, v.created_at.isoformat(timespec="seconds"),
            "current" if v.current else "",
        )  # fmt: skip
    console.print(table)


def compare_command(
    name: Annotated[str, typer.Argument(help="Dataset layer.")],
    v1: Annotated[int, typer.Argument(help="Older version.")],
    v2: Annotated[int, typer.Argument(help="Newer version.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the object ids as JSON.")] = False,
) -> None:
    """Objects added, changed and retired between two versions of a dataset layer."""
    d = state.platform().imports.compare(cli_actor(), name, v1, v2)
    if as_json:
        body = {"added": d.added, "changed": d.changed, "retired": d.retired, "unchanged": d.unchanged}
        typer.echo(json.dumps(body))
        return
    console.print(f"{name} {v1} → {v2}: added {len(d.added)}, changed {len(d.changed)}, "
                  f"retired {len(d.retired)}, unchanged {d.unchanged}")  # fmt: skip
    for label, ids in (("added", d.added), ("changed", d.changed), ("retired", d.retired)):
        if ids:
            shown = ", ".join(map(str, ids[:30])) + (" …" if len(ids) > 30 else "")
            console.print(f"  {label}: {shown}")


def rollback_command(
    name: Annotated[str, typer.Argument(help="Dataset layer.")],
    version: Annotated[int, typer.Argument(help="The version to return to.")],
) -> None:
    """Roll a dataset layer back to an earlier version (as a new version; history is kept)."""
    v = state.platform().imports.rollback(cli_actor(), name, version)
    c = v.counts
    console.print(f"{name} is now at version {v.version} (= version {version}): added {c['added']}, "
                  f"changed {c['changed']}, retired {c['retired']}, skipped {c.get('skipped', 0)}")  # fmt: skip


def register_layer_commands(layers_app: typer.Typer) -> None:
    layers_app.command("versions")(handle_errors(versions_command))
    layers_app.command("compare")(handle_errors(compare_command))
    layers_app.command("rollback")(handle_errors(rollback_command))
