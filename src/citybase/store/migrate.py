"""Schema migrations (Alembic) that run on both databases."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from citybase.store.engine import Store
from citybase.store.schema import APPEND_ONLY_TABLES, SPATIAL_TABLES, TEXT_TABLES

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(store: Store, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (default: the newest)."""
    if store.name == "postgis":
        # Extensions first, in their own transaction: the migrations' geometry columns need PostGIS.
        with store.write() as conn:
            for ddl in store.dialect.extensions_ddl():
                conn.exec_driver_sql(ddl)
    with store.write() as conn:
        command.upgrade(_config(conn), revision)


def current_revision(store: Store) -> str | None:
    with store.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def create_companions(conn: Connection) -> None:
    """Database-specific companions of the tables: spatial and text indexes, append-only triggers.

    Called by migrations after they create tables; every statement is idempotent.
    """
    from citybase.store.dialects import postgis, sqlite

    dialect = postgis if conn.dialect.name == "postgresql" else sqlite
    existing = set(conn.dialect.get_table_names(conn))
    statements: list[str] = []
    for table, col in SPATIAL_TABLES.items():
        if table in existing:
            statements += dialect.spatial_index_ddl(table, col)
    for table in TEXT_TABLES:
        if table in existing:
            statements += dialect.text_index_ddl(table)
    for table in APPEND_ONLY_TABLES:
        if table in existing:
            statements += dialect.append_only_ddl(table)
    for ddl in statements:
        conn.exec_driver_sql(ddl)
