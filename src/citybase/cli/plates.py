"""QR door plates (二维码门楼牌): printable plate sheets of a road or compound."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from citybase.cli.common import console, handle_errors, progress_bar, state
from citybase.domains.registry import plate_sheet, plate_sheet_pdf, plate_sheet_svg, plate_url

app = typer.Typer(help="QR door plates (二维码门楼牌): printable sheets.", no_args_is_help=True)


class SheetFormat(StrEnum):
    svg = "svg"
    pdf = "pdf"


@app.command("sheet")
@handle_errors
def sheet_command(
    node: Annotated[int, typer.Argument(help="Address node id of a road (door plates) or compound (buildings).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write.")],
    fmt: Annotated[SheetFormat, typer.Option("--format", "-f", help="svg or pdf.")] = SheetFormat.pdf,
) -> None:
    """Write the A4 door-plate sheet of a road or compound: name, number, QR and display code per plate."""
    platform = state.platform()
    base = platform.settings.public_base_url
    sheet = plate_sheet(platform.addresses, base, node)
    with progress_bar() as bar:
        task = bar.add_task(f"{sheet.parent_name} 门楼牌", total=len(sheet.plates))

        def advance(done: int) -> None:
            bar.update(task, completed=done)

        if fmt is SheetFormat.pdf:
            out.write_bytes(plate_sheet_pdf(sheet, advance))
        else:
            out.write_text(plate_sheet_svg(sheet, advance), encoding="utf-8")
    first = f" (first QR: {plate_url(base, sheet.plates[0].display_code)})" if sheet.plates else ""
    console.print(f"wrote {out}: {len(sheet.plates)} plates on {sheet.pages} A4 pages{first}")
