"""Imports and layer versions: layer versions, dataset layer membership, import runs, attribute mappings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.types.TypeEngine:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "layer_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=True),
        sa.Column("rolled_back_to", sa.Integer(), nullable=True),
        sa.Column("counts", _json(), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["layer_id"], ["layer.id"], name=op.f("fk_layer_version_layer_id_layer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layer_version")),
        sa.UniqueConstraint("layer_id", "version", name=op.f("uq_layer_version_layer_id_version")),
    )
    op.create_table(
        "layer_item",
        sa.Column("id", _id(), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("object_id", _id(), nullable=False),
        sa.Column("object_version", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=True),
        sa.Column("raw_address", sa.String(length=500), nullable=True),
        sa.Column("extra", _json(), nullable=True),
        sa.Column("from_version", sa.Integer(), nullable=False),
        sa.Column("to_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["layer_id"], ["layer.id"], name=op.f("fk_layer_item_layer_id_layer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_layer_item")),
    )
    op.create_index("ix_layer_item_layer_id_to_version", "layer_item", ["layer_id", "to_version"])
    op.create_index("ix_layer_item_object_id", "layer_item", ["object_id"])
    op.create_table(
        "import_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("layer_name", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("options", _json(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("report", _json(), nullable=True),
        sa.Column("layer_version", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("finished_at", _ts(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_run")),
    )
    op.create_table(
        "attribute_mapping",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("class_code", sa.String(length=6), nullable=False),
        sa.Column("mapping", _json(), nullable=False),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("department_id", "class_code", name=op.f("pk_attribute_mapping")),
    )


def downgrade() -> None:
    op.drop_table("attribute_mapping")
    op.drop_table("import_run")
    op.drop_index("ix_layer_item_object_id", table_name="layer_item")
    op.drop_index("ix_layer_item_layer_id_to_version", table_name="layer_item")
    op.drop_table("layer_item")
    op.drop_table("layer_version")
