"""Management grids (网格): district → street → community → grid → micro-grid, with their workers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import citybase.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _grid_columns() -> list[sa.Column]:
    return [
        sa.Column("parent_id", _id(), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=False),
        sa.Column("geom", citybase.store.types.Geometry(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "grid",
        sa.Column("id", _id(), nullable=False),
        *_grid_columns(),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        _ts("updated_at"),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid")),
    )
    op.create_index("ix_grid_code", "grid", ["code"], unique=True)
    op.create_index("ix_grid_parent_id", "grid", ["parent_id"])
    op.create_index("ix_grid_level", "grid", ["level"])
    op.create_table(
        "grid_version",
        sa.Column("grid_id", _id(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_grid_columns(),
        sa.Column("change", sa.String(length=16), nullable=False),
        _ts("recorded_at"),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("grid_id", "version", name=op.f("pk_grid_version")),
    )
    op.create_table(
        "grid_member",
        sa.Column("id", _id(), nullable=False),
        sa.Column("grid_id", _id(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("duty", sa.String(length=16), nullable=False),
        _ts("since"),
        _ts("until", nullable=True),
        sa.Column("assigned_by", sa.String(length=100), nullable=False),
        sa.Column("ended_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_member")),
    )
    op.create_index("ix_grid_member_grid_id", "grid_member", ["grid_id"])
    op.create_index("ix_grid_member_user_id", "grid_member", ["user_id"])
    current = sa.text("until IS NULL")
    op.create_index(
        "ix_grid_member_current",
        "grid_member",
        ["grid_id", "user_id", "duty"],
        unique=True,
        sqlite_where=current,
        postgresql_where=current,
    )
    op.create_table(
        "address_grid",
        sa.Column("address_node_id", _id(), nullable=False),
        sa.Column("grid_id", _id(), nullable=False),
        sa.PrimaryKeyConstraint("address_node_id", name=op.f("pk_address_grid")),
    )
    op.create_index("ix_address_grid_grid_id", "address_grid", ["grid_id"])

    from citybase.store.grid_tables import companions_ddl

    bind = op.get_bind()
    for ddl in companions_ddl(bind):
        bind.exec_driver_sql(ddl)


def downgrade() -> None:
    op.drop_table("address_grid")
    op.drop_table("grid_member")
    op.drop_table("grid_version")
    op.drop_table("grid")
