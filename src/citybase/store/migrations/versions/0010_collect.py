"""The collection loop: field tasks, first and second review, their history.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import citybase.store.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "collect_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("detail", _json(), nullable=False),
        sa.Column("collected", _json(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=200), nullable=True),
        sa.Column("address_node_id", _id(), nullable=True),
        sa.Column("point", citybase.store.types.Geometry(), nullable=True),
        sa.Column("grid_id", _id(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("created_at"),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        _ts("updated_at"),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        _ts("due_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collect_task")),
    )
    op.create_index("ix_collect_task_state_grid", "collect_task", ["state", "grid_id"], unique=False)
    op.create_index("ix_collect_task_assignee", "collect_task", ["assignee_id", "state"], unique=False)
    op.create_index("ix_collect_task_department", "collect_task", ["department_id", "state"], unique=False)
    op.create_index("ix_collect_task_source_ref", "collect_task", ["source_ref"], unique=False)
    op.create_table(
        "collect_task_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        _ts("at"),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", _json(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collect_task_event")),
    )
    op.create_index("ix_collect_task_event_task", "collect_task_event", ["task_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_collect_task_event_task", table_name="collect_task_event")
    op.drop_table("collect_task_event")
    for name in ("ix_collect_task_source_ref", "ix_collect_task_department", "ix_collect_task_assignee"):
        op.drop_index(name, table_name="collect_task")
    op.drop_index("ix_collect_task_state_grid", table_name="collect_task")
    op.drop_table("collect_task")
