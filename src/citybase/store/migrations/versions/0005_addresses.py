"""Standard addresses: the address tree, aliases, history, counters, naming workflows.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import citybase.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _node_columns() -> list[sa.Column]:
    return [
        sa.Column("parent_id", _id(), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("division_code", sa.String(length=12), nullable=True),
        sa.Column("display_code", sa.String(length=40), nullable=False),
        sa.Column("point", citybase.store.types.Geometry(), nullable=True),
        sa.Column("object_id", _id(), nullable=True),
        sa.Column("grid", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "address_node",
        sa.Column("id", _id(), nullable=False),
        *_node_columns(),
        sa.Column("source_id", sa.String(length=100), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_node")),
    )
    op.create_index("ix_address_node_parent_id_name", "address_node", ["parent_id", "name"])
    op.create_index("ix_address_node_display_code", "address_node", ["display_code"], unique=True)
    op.create_index("ix_address_node_source_id", "address_node", ["source_id"], unique=True)
    op.create_index("ix_address_node_object_id", "address_node", ["object_id"])
    op.create_index("ix_address_node_revision", "address_node", ["revision"])
    op.create_index("ix_address_node_level", "address_node", ["level"])
    op.create_table(
        "address_version",
        sa.Column("node_id", _id(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_node_columns(),
        sa.Column("change", sa.String(length=16), nullable=False),
        _ts("recorded_at"),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("node_id", "version", name=op.f("pk_address_version")),
    )
    op.create_table(
        "address_alias",
        sa.Column("node_id", _id(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(["node_id"], ["address_node.id"], name=op.f("fk_address_alias_node_id_address_node")),
        sa.PrimaryKeyConstraint("node_id", "name", name=op.f("pk_address_alias")),
    )
    op.create_index("ix_address_alias_name", "address_alias", ["name"])
    op.create_table(
        "address_counter",
        sa.Column("division", sa.String(length=12), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("next_serial", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("division", "level", name=op.f("pk_address_counter")),
    )
    op.create_table(
        "address_workflow",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("parent_id", _id(), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("steps", _json(), nullable=False),
        sa.Column("result", _json(), nullable=True),
        sa.Column("proposed_by", sa.String(length=100), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_workflow")),
    )
    op.create_index("ix_address_workflow_state", "address_workflow", ["state"])

    from citybase.store.address_tables import companions_ddl

    bind = op.get_bind()
    for ddl in companions_ddl(bind):
        bind.exec_driver_sql(ddl)


def downgrade() -> None:
    op.drop_table("address_workflow")
    op.drop_table("address_counter")
    op.drop_table("address_alias")
    op.drop_table("address_version")
    op.drop_table("address_node")
