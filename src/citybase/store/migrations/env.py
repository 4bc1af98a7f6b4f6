"""Alembic environment: runs with the connection citybase hands it (see ``store.migrate``)."""

from __future__ import annotations

from alembic import context

from citybase.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `citybase db upgrade`, which supplies the connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
