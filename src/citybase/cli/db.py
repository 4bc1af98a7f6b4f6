"""``citybase init`` and ``citybase db …``."""

from __future__ import annotations

from typing import Annotated

import typer

from citybase.cli.common import console, handle_errors, state
from citybase.store import current_revision, head_revision, upgrade

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@handle_errors
def init_command(
    admin_password: Annotated[
        str | None, typer.Option(help="Password of the first admin (default: generated).")
    ] = None,
) -> None:
    """Create the data directory and database, apply migrations, seed the class table and the first admin."""
    report = state.platform().init(admin_password=admin_password)
    console.print(f"database: {report.database}; classes added: {report.classes_added}")
    if report.admin_created:
        where = report.admin_password_file or "(the password you gave)"
        console.print(f"created platform admin [bold]admin[/]; password in {where}")


@app.command("upgrade")
@handle_errors
def upgrade_command(revision: str = "head") -> None:
    """Apply schema migrations up to REVISION (default: the newest)."""
    platform = state.platform()
    platform.settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(platform.store, revision)
    console.print(f"schema at {current_revision(platform.store)}")


@app.command("current")
@handle_errors
def current_command() -> None:
    """Show the schema revision of the database and the newest one this version has."""
    platform = state.platform()
    console.print(f"database: {current_revision(platform.store)}; newest: {head_revision()}")
