"""Actual population (实有人口): load people from CSV, print population statistics."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from citybase.cli.common import cli_actor, console, err_console, handle_errors, progress_bar, state
from citybase.domains.registry.people_import import CHUNK, ImportReport, import_people, read_rows, read_text

app = typer.Typer(help="Actual population (实有人口): import and statistics.", no_args_is_help=True)


@app.command("import")
@handle_errors
def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV, UTF-8 or GBK.")],
    report: Annotated[Path | None, typer.Option(help="Write the rejected rows (row, field, reason) here.")] = None,
    from_row: Annotated[
        int, typer.Option(min=2, help="Start at this CSV line (resume an interrupted import; line 1 is the header).")
    ] = 2,
    chunk: Annotated[int, typer.Option(min=1, help="Rows per transaction.")] = CHUNK,
) -> None:
    """Register the people of a CSV (id_number, name, phone, residence_type, address_node_id or address_code,
    household_number, relation, move_in; Chinese headers 身份证号/姓名/… work too). Bad rows are reported and
    skipped; the good ones are registered, a chunk of rows per transaction. If the import is interrupted,
    the chunks already committed stay, and the message says which --from-row resumes it."""
    platform = state.platform()
    rows = read_rows(read_text(file))
    done = ImportReport(committed=from_row - 1)

    def advance(r: ImportReport) -> None:
        nonlocal done
        done = r
        bar.update(task, completed=r.rows)

    try:
        with progress_bar() as bar:
            task = bar.add_task("registering people", total=max(len(rows) + 2 - from_row, 0))
            result = import_people(platform.people, cli_actor(), rows, chunk=chunk, from_row=from_row, progress=advance)
    except BaseException:
        if done.committed >= from_row:
            err_console.print(
                f"interrupted: lines {from_row}–{done.committed} are committed; "
                f"resume with --from-row {done.committed + 1}"
            )
        else:
            err_console.print(f"interrupted before the first chunk was committed; rerun with --from-row {from_row}")
        raise
    console.print(f"{result.rows} row(s): {result.registered} registered, {len(result.errors)} rejected")
    if result.errors:
        table = Table("row", "field", "reason")
        for issue in result.errors[:50]:
            table.add_row(str(issue.record), issue.field, issue.reason)
        console.print(table)
    if report is not None:
        with report.open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["row", "field", "reason"])
            w.writerows([[i.record, i.field, i.reason] for i in result.errors])
    if result.errors and not result.registered:
        raise typer.Exit(1)


@app.command("stats")
@handle_errors
def stats_command(
    at: Annotated[str | None, typer.Option(help="Reference date for ages (YYYY-MM-DD, default today).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Residents by community, age band and residence type; school-age children per enrolment zone."""
    stats = state.platform().population
    day = date.fromisoformat(at) if at else None
    actor = cli_actor()
    out = {
        "communities": stats.by_community(actor),
        "age_bands": stats.by_age_band(actor, day),
        "residence_types": stats.by_residence_type(actor),
        "school_age": stats.school_age_by_zone(actor, day),
    }
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for title, rows, key, value in (
        ("社区 community", out["communities"], "community", "residents"),
        ("年龄段 age band", out["age_bands"], "band", "residents"),
        ("人口类型 residence type", out["residence_types"], "residence_type", "people"),
        ("学区 enrolment zone (6-14)", out["school_age"], "name", "children"),
    ):
        table = Table(title, value, title=None)
        for row in rows:
            table.add_row(str(row[key]), str(row[value]))
        console.print(table)
