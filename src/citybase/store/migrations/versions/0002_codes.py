"""Unified codes: serial counters, the code registry, lineage, the department crosswalk, Beidou codes.

Also adds the attributes of the three building business nodes (planning permit, floor-area survey,
completion acceptance) to the seed class 050101 of databases made before this revision; new databases
get them from the seed table (``seed/classes.json``), which is read after the migrations run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 12:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEED_SOURCE = "citybase seed table"
# Frozen here on purpose: the seed table may change later; this revision adds exactly these.
BUILDING_ATTRIBUTES: list[dict[str, Any]] = [
    {"name": "permit_no", "type": "string", "max_length": 50, "label": "建设工程规划许可证号"},
    {"name": "permit_date", "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "label": "规划许可日期"},
    {"name": "surveyed_area_m2", "type": "number", "min": 1, "max": 10000000, "label": "测绘建筑面积(m²)"},
    {"name": "survey_date", "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "label": "面积测绘日期"},
    {
        "name": "acceptance_date",
        "type": "string",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "label": "竣工验收备案日期",
    },
]


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "code_counter",
        sa.Column("division", sa.String(length=6), nullable=False),
        sa.Column("class_code", sa.String(length=6), nullable=False),
        sa.Column("next_serial", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("division", "class_code", name=op.f("pk_code_counter")),
    )
    op.create_table(
        "code_registry",
        sa.Column("code", sa.String(length=21), nullable=False),
        sa.Column("object_id", _id(), nullable=False),
        sa.Column("division", sa.String(length=6), nullable=False),
        sa.Column("class_code", sa.String(length=6), nullable=False),
        sa.Column("scheme", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_code_registry")),
    )
    op.create_index("ix_code_registry_object_id", "code_registry", ["object_id"], unique=False)
    op.create_table(
        "code_lineage",
        sa.Column("from_code", sa.String(length=21), nullable=False),
        sa.Column("to_code", sa.String(length=21), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["from_code"], ["code_registry.code"], name=op.f("fk_code_lineage_from_code_code_registry")
        ),
        sa.ForeignKeyConstraint(
            ["to_code"], ["code_registry.code"], name=op.f("fk_code_lineage_to_code_code_registry")
        ),
        sa.PrimaryKeyConstraint("from_code", "to_code", name=op.f("pk_code_lineage")),
    )
    op.create_index("ix_code_lineage_to_code", "code_lineage", ["to_code"], unique=False)
    op.create_table(
        "code_crosswalk",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("legacy_id", sa.String(length=100), nullable=False),
        sa.Column("code", sa.String(length=21), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("department_id", "legacy_id", name=op.f("pk_code_crosswalk")),
    )
    op.create_index("ix_code_crosswalk_code", "code_crosswalk", ["code"], unique=False)
    op.create_table(
        "object_beidou",
        sa.Column("object_id", _id(), nullable=False),
        sa.Column("code2d", sa.String(length=20), nullable=False),
        sa.Column("code3d", sa.String(length=32), nullable=True),
        sa.Column("height_m", sa.Float(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("object_id", name=op.f("pk_object_beidou")),
    )

    bind = op.get_bind()
    from citybase.store.dialects import postgis, sqlite

    dialect = postgis if bind.dialect.name == "postgresql" else sqlite
    for ddl in dialect.append_only_ddl("code_lineage"):
        bind.exec_driver_sql(ddl)
    _add_building_attributes(bind)


def _add_building_attributes(bind: sa.Connection) -> None:
    """Append the business-node attributes to a seed 050101 row (operators' own definitions are kept)."""
    object_class = sa.table(
        "object_class",
        sa.column("code", sa.String),
        sa.column("source", sa.String),
        sa.column("attributes", sa.JSON().with_variant(postgresql.JSONB(), "postgresql")),
    )
    current: list[dict[str, Any]] | None = bind.execute(
        sa.select(object_class.c.attributes).where(
            object_class.c.code == "050101", object_class.c.source == SEED_SOURCE
        )
    ).scalar()
    if current is None:
        return
    have = {a["name"] for a in current}
    added = [a for a in BUILDING_ATTRIBUTES if a["name"] not in have]
    if added:
        bind.execute(
            sa.update(object_class).where(object_class.c.code == "050101").values(attributes=[*current, *added])
        )


def downgrade() -> None:
    op.drop_table("object_beidou")
    op.drop_index("ix_code_crosswalk_code", table_name="code_crosswalk")
    op.drop_table("code_crosswalk")
    op.drop_index("ix_code_lineage_to_code", table_name="code_lineage")
    op.drop_table("code_lineage")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS code_lineage_append_only()")
    op.drop_index("ix_code_registry_object_id", table_name="code_registry")
    op.drop_table("code_registry")
    op.drop_table("code_counter")
