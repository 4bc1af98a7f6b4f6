"""Actual houses and organisations on the command line: ``citybase houses ...`` and ``citybase orgs ...``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from citybase.cli.common import cli_actor, console, handle_errors, state
from citybase.domains.registry.crosschecks import DEFAULT_MAX_REGISTRATIONS

houses_app = typer.Typer(help="Actual houses (实有房屋): cards, attributes, safety inspections.", no_args_is_help=True)
orgs_app = typer.Typer(
    help="Actual organisations (实有单位): register, import, bind, cross-checks.", no_args_is_help=True
)


def _print(data: Any) -> None:
    console.print_json(json.dumps(data, ensure_ascii=False, default=str))


def _pairs(values: list[str]) -> dict[str, str]:
    """key=value arguments (numbers are checked and converted by the registry)."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{item!r}: expected key=value")
        out[key.strip()] = value.strip()
    return out


@houses_app.command("card")
@handle_errors
def card_command(
    node: Annotated[int | None, typer.Option("--node", help="Address node id of the house.")] = None,
    house: Annotated[int | None, typer.Option("--house", help="House id.")] = None,
) -> None:
    """Print the house card: address, codes, attributes, what is below it, organisations, history."""
    if (node is None) == (house is None):
        raise typer.BadParameter("give --node or --house")
    _print(state.platform().houses.card(cli_actor(), house_id=house, node_id=node))


@houses_app.command("set")
@handle_errors
def set_command(
    node: Annotated[int, typer.Argument(help="Address node id (building, unit, floor or room).")],
    values: Annotated[
        list[str], typer.Argument(help="Attributes as key=value, e.g. use=residential rental_status=出租.")
    ],
    version: Annotated[int | None, typer.Option("--version", help="The version you read (updates).")] = None,
) -> None:
    """Record the house at an address node, or change it (a new version; --version guards against lost updates)."""
    platform = state.platform()
    payload: dict[str, Any] = {"address_node_id": node, **_pairs(values)}
    if version is not None:
        payload["version"] = version
    with platform.store.write() as conn:
        result = platform.houses.apply_house_update(conn, cli_actor(), payload)
    _print(result)


@houses_app.command("inspect")
@handle_errors
def inspect_command(
    house: Annotated[int, typer.Argument(help="House id.")],
    grade: Annotated[str, typer.Option("--grade", help="A, B, C or D.")],
    on: Annotated[str, typer.Option("--on", help="Inspection date, YYYY-MM-DD.")],
    inspector: Annotated[str, typer.Option("--inspector", help="Who inspected.")],
    department: Annotated[str | None, typer.Option("--department")] = None,
    findings: Annotated[str | None, typer.Option("--findings")] = None,
) -> None:
    """Record a safety inspection (房屋安全鉴定); its grade becomes the house's safety grade."""
    payload = {
        "inspected_on": on,
        "grade": grade,
        "inspector": inspector,
        "department": department,
        "findings": findings,
    }
    _print(state.platform().houses.add_inspection(cli_actor(), house, payload))


@orgs_app.command("register")
@handle_errors
def register_command(
    uscc: Annotated[str, typer.Argument(help="Unified social credit code (18 characters).")],
    name: Annotated[str, typer.Option("--name")],
    org_type: Annotated[str, typer.Option("--type", help="enterprise, self_employed, public_institution, ...")],
    address: Annotated[str, typer.Option("--address", help="Registered address text.")],
    legal_rep: Annotated[
        str | None, typer.Option("--legal-rep", help="Legal representative (stored encrypted).")
    ] = None,
) -> None:
    """Register one organisation; the USCC is checked (GB 32100) and a duplicate is refused."""
    payload = {"uscc": uscc, "name": name, "type": org_type, "registered_address": address, "legal_rep": legal_rep}
    _print(state.platform().orgs.register(cli_actor(), {k: v for k, v in payload.items() if v is not None}))


@orgs_app.command("import")
@handle_errors
def import_command(
    path: Annotated[Path, typer.Argument(help="CSV with uscc,name,type,legal_rep,registered_address[,status].")],
) -> None:
    """Register organisations from a CSV (UTF-8 or GBK); prints one line per bad row."""
    report = state.platform().orgs.import_csv(cli_actor(), path.read_bytes())
    for e in report["errors"]:
        console.print(f"row {e['row']}, field {e['field']!r}: {e['reason']}")
    console.print(f"registered {report['registered']}, failed rows {report['failed']}")
    if report["failed"]:
        raise typer.Exit(1)


@orgs_app.command("search")
@handle_errors
def search_command(q: Annotated[str, typer.Argument(help="USCC (or its start), name or address text.")]) -> None:
    """Find organisations (legal representatives masked)."""
    _print(state.platform().orgs.search(cli_actor(), q))


@orgs_app.command("bind")
@handle_errors
def bind_command(
    uscc: Annotated[str, typer.Argument(help="The organisation's USCC.")],
    node: Annotated[int, typer.Argument(help="Address node id to bind it to.")],
    kind: Annotated[str, typer.Option("--kind", help="registered or operating.")] = "operating",
) -> None:
    """Bind an organisation to a standard address (the previous open binding of that kind is closed)."""
    _print(state.platform().orgs.bind(cli_actor(), {"uscc": uscc, "address_node_id": node, "kind": kind}))


@orgs_app.command("cross-checks")
@handle_errors
def cross_checks_command(
    max_registrations: Annotated[int, typer.Option("--max", help="Registrations one address may hold.")] = (
        DEFAULT_MAX_REGISTRATIONS
    ),
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole report as JSON.")] = False,
) -> None:
    """Suspected problem companies: registered at a nonexistent or non-commercial address, or a crowded one."""
    report = state.platform().orgs.cross_checks(cli_actor(), max_registrations=max_registrations)
    if as_json:
        _print(report)
        return
    console.print(f"checked {report['checked']} active organisations")
    for o in report["nonexistent"]:
        console.print(f"nonexistent address  {o['uscc']} {o['name']}: {o['registered_address']}")
    for o in report["not_commercial"]:
        console.print(f"not commercial ({o['house_use']})  {o['uscc']} {o['name']}: {o['full_address']}")
    for c in report["crowded"]:
        console.print(f"{c['registrations']} registrations at {c['full_address']} (node {c['address_node_id']})")
