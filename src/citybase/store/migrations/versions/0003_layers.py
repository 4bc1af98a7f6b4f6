"""Layers: published views over a class of city objects (datasets later).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "layer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("class_code", sa.String(length=6), nullable=True),
        sa.Column("style", _json(), nullable=False),
        sa.Column("access", sa.String(length=16), nullable=False),
        sa.Column("allowed_departments", _json(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["department.id"], name=op.f("fk_layer_department_id_department")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layer")),
        sa.UniqueConstraint("name", name=op.f("uq_layer_name")),
    )
    op.create_index("ix_layer_class_code", "layer", ["class_code"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_layer_class_code", table_name="layer")
    op.drop_table("layer")
