"""SQLite: the class R*Tree of city_object (a spatial index per object class), created and filled.

Vector tiles of one or a few classes walk only those classes' objects (store/dialects/sqlite_classes.py,
docs/tiles.md). Built from the 2-D R*Tree and the class column, so existing databases get it filled;
a no-op on PostgreSQL (GiST and the class index serve the same query there).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 01:00:00
"""

from __future__ import annotations

from alembic import op

from citybase.store.dialects.sqlite_classes import CLASS_TABLES, class_index_ddl, class_rtree_name, fill_ddl

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    for table in CLASS_TABLES:
        for ddl in class_index_ddl(table) + fill_ddl(table):
            conn.exec_driver_sql(ddl)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    for table in CLASS_TABLES:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {class_rtree_name(table)}")
