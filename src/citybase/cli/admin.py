"""Departments, users and API keys."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from citybase.cli.common import cli_actor, console, handle_errors, state

departments_app = typer.Typer(
    help="Departments (一数一源: each dataset has one owning department).", no_args_is_help=True
)
users_app = typer.Typer(help="Users and their roles.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys for department systems (shown once, stored hashed).", no_args_is_help=True)


@departments_app.command("add")
@handle_errors
def add_department(
    code: str,
    name: str,
    name_en: Annotated[str | None, typer.Option()] = None,
    division_code: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Add a department with a short CODE and a NAME."""
    d = state.platform().access.create_department(cli_actor(), code, name, name_en, division_code)
    console.print(f"department {d.id} {d.code} {d.name}")


@departments_app.command("list")
@handle_errors
def list_departments() -> None:
    """List departments."""
    table = Table("id", "code", "name", "name_en", "division")
    for d in state.platform().access.departments():
        table.add_row(str(d.id), d.code, d.name, d.name_en or "", d.division_code or "")
    console.print(table)


@users_app.command("add")
@handle_errors
def add_user(
    username: str,
    role: Annotated[
        str, typer.Option(help="platform_admin, department_admin, department_user, grid_worker, reviewer, viewer")
    ],
    department: Annotated[str | None, typer.Option(help="Department code.")] = None,
    display_name: Annotated[str | None, typer.Option()] = None,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
) -> None:
    """Add a user."""
    u = state.platform().access.create_user(cli_actor(), username, password, role, department, display_name)
    console.print(f"user {u.id} {u.username} ({u.role.value})")


@users_app.command("list")
@handle_errors
def list_users() -> None:
    """List users."""
    table = Table("id", "username", "name", "role", "department", "active")
    for u in state.platform().access.users(cli_actor()):
        table.add_row(str(u.id), u.username, u.display_name, u.role.value, str(u.department_id or ""), str(u.active))
    console.print(table)


@keys_app.command("issue")
@handle_errors
def issue_key(department: str, name: str, role: Annotated[str, typer.Option()] = "department_user") -> None:
    """Issue an API key for DEPARTMENT; the secret is printed once."""
    issued = state.platform().access.issue_api_key(cli_actor(), department, name, role)
    console.print(f"key {issued.key.id} ({issued.key.prefix}) for {department}; secret (shown once):")
    typer.echo(issued.secret)


@keys_app.command("list")
@handle_errors
def list_keys() -> None:
    """List API keys (never their secrets)."""
    table = Table("id", "prefix", "name", "role", "department", "revoked")
    for k in state.platform().access.api_keys(cli_actor()):
        table.add_row(
            str(k.id),
            k.prefix,
            k.name,
            k.role.value,
            str(k.department_id),
            k.revoked_at.isoformat() if k.revoked_at else "",
        )
    console.print(table)


@keys_app.command("revoke")
@handle_errors
def revoke_key(key_id: int) -> None:
    """Revoke API key KEY_ID."""
    k = state.platform().access.revoke_api_key(cli_actor(), key_id)
    console.print(f"key {k.id} revoked at {k.revoked_at}")
