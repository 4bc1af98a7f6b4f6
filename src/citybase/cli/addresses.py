"""Standard addresses (一标): parsing, matching files with a progress bar, geocoding, review queue."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from citybase.cli import address_tree
from citybase.cli.common import cli_actor, console, exit_unless_succeeded, handle_errors, run_job, state
from citybase.domains.addresses import MATCH_FILE_JOB, parse
from citybase.kernel.errors import InvalidInputError, Issue

app = typer.Typer(help="Standard addresses (一标): parse, match, geocode, review.", no_args_is_help=True)
review_app = typer.Typer(help="The review queue of unmatched and ambiguous addresses.", no_args_is_help=True)
app.add_typer(review_app, name="review")
address_tree.register(app)  # import, export, tree, show, find, rename, retire, workflows (the registry)


def _print(data: object) -> None:
    console.print_json(json.dumps(data, ensure_ascii=False, default=str))


@app.command("parse")
@handle_errors
def parse_command(text: str) -> None:
    """Split one free-text address into elements and standard-address levels (JSON)."""
    _print(parse(text).as_dict())


@app.command("match")
@handle_errors
def match_command(
    input_file: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT", help="Text (one address a line) or CSV with an `address` column; UTF-8 or GBK."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="The result CSV (UTF-8 with BOM).")],
) -> None:
    """Match every address of a file to the registry as a job, with a progress bar; bad rows never stop it."""
    if not input_file.is_file():
        raise InvalidInputError("no such file", issues=[Issue("INPUT", str(input_file))])
    platform = state.platform()
    job = platform.jobs.submit(
        cli_actor(),
        MATCH_FILE_JOB,
        {
            "input": str(input_file.resolve()),
            "output": str(out.resolve()),
            "name": input_file.name,
            "source": f"cli {input_file.name}",
        },
    )
    current = run_job(job.id, "matching")
    exit_unless_succeeded(current)
    result = current.result or {}
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.get("counts", {}).items()))
    console.print(f"{result.get('rows', 0)} row(s) ({result.get('encoding')}): {counts} → {out}", markup=False)
    for e in result.get("row_errors", [])[:20]:
        console.print(f"  - row {e.get('record')}: {e.get('reason')}", markup=False)


@app.command("geocode")
@handle_errors
def geocode_command(text: str, limit: Annotated[int, typer.Option(help="Candidates to show.")] = 5) -> None:
    """The best standard addresses for TEXT, with scores and points."""
    matcher = state.platform().address_matcher
    m = matcher.match(text, limit=limit)
    table = Table("score", "level", "id", "standard address", "lon", "lat", "explanation")
    for c in m.result.candidates:
        rec = matcher.record(c.node_id)
        table.add_row(
            f"{c.score:.3f}",
            c.level,
            rec.source_id or str(rec.id),
            rec.full_address,
            str(c.lon),
            str(c.lat),
            c.explanation,
        )
    console.print(f"{m.result.status}: {m.result.explanation}", markup=False)
    console.print(table)


@app.command("reverse")
@handle_errors
def reverse_command(lon: float, lat: float, k: Annotated[int, typer.Option(help="How many.")] = 1) -> None:
    """The nearest door plates / buildings to LON LAT (CGCS2000), with distance, community and grid."""
    for n in state.platform().address_matcher.reverse(lon, lat, k=k):
        r = n.record
        console.print(
            f"{n.distance_m:8.1f} m  {r.full_address}  ({r.level}, 社区 {r.community}, 网格 {r.grid})", markup=False
        )


@app.command("suggest")
@handle_errors
def suggest_command(q: str, limit: Annotated[int, typer.Option(help="How many.")] = 10) -> None:
    """Type-ahead: standard addresses that continue Q."""
    for s in state.platform().address_matcher.suggest(q, limit=limit):
        console.print(f"{s.node_id}\t{s.level}\t{s.text}", markup=False)


@review_app.command("send")
@handle_errors
def review_send(texts: list[str], source: Annotated[str, typer.Option(help="Where they come from.")] = "cli") -> None:
    """Match TEXTS and queue those not matched confidently."""
    platform = state.platform()
    queued = []
    for t, m in zip(texts, platform.address_matcher.match_many(texts, limit=5), strict=True):
        if isinstance(m, Exception):  # a bad text is reported and skipped; the others are still queued
            console.print(f"not queued: {t!r}: {m}", markup=False)
        elif m.result.status != "matched":
            queued.append((t, m.result))
    ids = platform.address_review.send(cli_actor(), queued, source=source) if queued else []
    console.print(f"queued {len(ids)} of {len(texts)}: {ids}", markup=False)


@review_app.command("list")
@handle_errors
def review_list(
    state_: Annotated[str, typer.Option("--state", help="open | resolved | dismissed | all")] = "open",
    limit: Annotated[int, typer.Option(help="How many.")] = 50,
) -> None:
    """Items of the review queue."""
    items, total = state.platform().address_review.list(
        cli_actor(), state=None if state_ == "all" else state_, limit=limit
    )
    table = Table("id", "state", "status", "score", "level", "input", "explanation", title=f"{total} {state_}")
    for i in items:
        table.add_row(str(i.id), i.state, i.status, f"{i.score:.3f}", i.level or "", i.text, i.explanation)
    console.print(table)


@review_app.command("close")
@handle_errors
def review_close(
    item_id: int,
    node: Annotated[int | None, typer.Option(help="The node meant (resolves); none dismisses.")] = None,
    note: Annotated[str | None, typer.Option(help="A note.")] = None,
) -> None:
    """Resolve a review item to a node, or dismiss it."""
    item = state.platform().address_review.close(cli_actor(), item_id, node_id=node, note=note)
    console.print(f"review item {item.id}: {item.state}", markup=False)
