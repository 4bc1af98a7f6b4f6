"""The ``citybase`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from citybase import __version__
from citybase.cli import addresses, admin, codes, db, demo, imports, layers, objects, serve
from citybase.cli import collect as collect_cli
from citybase.cli import grids as grids_cli
from citybase.cli import people as people_cli
from citybase.cli import plates as plates_cli
from citybase.cli import registry as registry_cli
from citybase.cli.common import state

app = typer.Typer(
    name="citybase",
    help="城市数字公共基础设施基础平台 — the citybase platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def main_options(
    data_dir: Annotated[Path | None, typer.Option(envvar="CITYBASE_DATA_DIR", help="Data directory.")] = None,
    database_url: Annotated[
        str | None, typer.Option(envvar="CITYBASE_DATABASE_URL", help="Database URL (default: SQLite in the data dir).")
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    state.data_dir = data_dir
    state.database_url = database_url


app.command("init")(db.init_command)
app.command("serve")(serve.serve_command)
app.command("demo")(demo.demo_command)
app.add_typer(db.app, name="db")
app.add_typer(admin.departments_app, name="departments")
app.add_typer(admin.users_app, name="users")
app.add_typer(admin.keys_app, name="api-keys")
app.add_typer(objects.app, name="objects")
app.add_typer(objects.classes_app, name="classes")
app.add_typer(objects.jobs_app, name="jobs")
app.add_typer(codes.app, name="codes")
app.add_typer(layers.app, name="layers")
imports.register_layer_commands(layers.app)
app.command("import")(imports.import_command)
app.add_typer(imports.imports_app, name="imports")
app.add_typer(addresses.app, name="addresses")
app.add_typer(grids_cli.app, name="grids")
app.add_typer(plates_cli.app, name="plates")
app.add_typer(registry_cli.houses_app, name="houses")
app.add_typer(registry_cli.orgs_app, name="orgs")
app.add_typer(people_cli.app, name="people")
app.add_typer(collect_cli.app, name="tasks")


def main() -> None:
    app()
