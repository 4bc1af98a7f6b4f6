"""Address matching: the review queue of unmatched and ambiguous addresses.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "address_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("node_id", _id(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("candidates", _json(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("resolved_node_id", _id(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_review")),
    )
    op.create_index("ix_address_review_state", "address_review", ["state", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_address_review_state", table_name="address_review")
    op.drop_table("address_review")
