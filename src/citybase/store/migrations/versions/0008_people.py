"""Actual population (实有人口): people, households, residences, personal-data grants.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _s(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length=length), nullable=nullable)


def _person_columns() -> list[sa.Column]:
    return [
        sa.Column("id_cipher", sa.Text(), nullable=False),
        _s("id_masked", 18),
        sa.Column("name_cipher", sa.Text(), nullable=False),
        _s("name_masked", 50),
        sa.Column("phone_cipher", sa.Text(), nullable=True),
        _s("phone_masked", 20, True),
        _s("residence_type", 16),
        _s("state", 16),
    ]


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("id", _id(), nullable=False),
        _s("id_hash", 64),
        _s("name_hash", 64),
        _s("sex", 8),
        sa.Column("birth_date", sa.Date(), nullable=False),
        *_person_columns(),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("created_at"),
        _s("created_by", 100),
        _ts("updated_at"),
        _s("updated_by", 100),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
    )
    op.create_index("ix_person_id_hash", "person", ["id_hash"], unique=True)
    op.create_index("ix_person_name_hash", "person", ["name_hash"])
    op.create_index("ix_person_birth_date", "person", ["birth_date"])
    op.create_table(
        "person_version",
        sa.Column("person_id", _id(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_person_columns(),
        _s("change", 16),
        _ts("recorded_at"),
        _s("recorded_by", 100),
        sa.PrimaryKeyConstraint("person_id", "version", name=op.f("pk_person_version")),
    )
    op.create_table(
        "household",
        sa.Column("id", _id(), nullable=False),
        _s("number", 64),
        sa.Column("address_node_id", _id(), nullable=False),
        sa.Column("head_person_id", _id(), nullable=True),
        _s("state", 16),
        sa.Column("version", sa.Integer(), nullable=False),
        _ts("created_at"),
        _s("created_by", 100),
        _ts("updated_at"),
        _s("updated_by", 100),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household")),
    )
    op.create_index("ix_household_number", "household", ["number"], unique=True)
    op.create_index("ix_household_address_node_id", "household", ["address_node_id"])
    op.create_table(
        "household_version",
        sa.Column("household_id", _id(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _s("number", 64),
        sa.Column("address_node_id", _id(), nullable=False),
        sa.Column("head_person_id", _id(), nullable=True),
        _s("state", 16),
        _s("change", 16),
        _ts("recorded_at"),
        _s("recorded_by", 100),
        sa.PrimaryKeyConstraint("household_id", "version", name=op.f("pk_household_version")),
    )
    op.create_table(
        "residence",
        sa.Column("id", _id(), nullable=False),
        sa.Column("person_id", _id(), nullable=False),
        sa.Column("household_id", _id(), nullable=True),
        sa.Column("address_node_id", _id(), nullable=False),
        _s("relation", 8),
        _s("residence_type", 16),
        sa.Column("move_in", sa.Date(), nullable=False),
        sa.Column("move_out", sa.Date(), nullable=True),
        _ts("created_at"),
        _s("created_by", 100),
        _ts("closed_at", True),
        _s("closed_by", 100, True),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_residence_person_id_person")),
        sa.ForeignKeyConstraint(["household_id"], ["household.id"], name=op.f("fk_residence_household_id_household")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residence")),
    )
    op.create_index("ix_residence_person_id", "residence", ["person_id"])
    op.create_index("ix_residence_address_node_id", "residence", ["address_node_id"])
    op.create_index("ix_residence_household_id", "residence", ["household_id"])
    op.create_index(
        "ux_residence_open_person",
        "residence",
        ["person_id"],
        unique=True,
        sqlite_where=sa.text("move_out IS NULL"),
        postgresql_where=sa.text("move_out IS NULL"),
    )
    op.create_table(
        "enrolment_zone",
        sa.Column("id", sa.Integer(), nullable=False),
        _s("code", 32),
        _s("name", 200),
        _s("school", 200, True),
        _ts("created_at"),
        _s("created_by", 100),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_zone")),
        sa.UniqueConstraint("code", name=op.f("uq_enrolment_zone_code")),
    )
    op.create_table(
        "enrolment_zone_member",
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("address_node_id", _id(), nullable=False),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["enrolment_zone.id"], name=op.f("fk_enrolment_zone_member_zone_id_enrolment_zone")
        ),
        sa.PrimaryKeyConstraint("zone_id", "address_node_id", name=op.f("pk_enrolment_zone_member")),
    )
    op.create_table(
        "personal_data_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        _s("scope", 64),
        _s("purpose", 500),
        _s("granted_by", 100),
        _ts("granted_at"),
        _s("revoked_by", 100, True),
        _ts("revoked_at", True),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_personal_data_grant_department_id_department")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_grant")),
    )
    op.create_index("ix_personal_data_grant_department_id", "personal_data_grant", ["department_id"])

    from citybase.store.people_tables import companions_ddl

    bind = op.get_bind()
    for ddl in companions_ddl(bind):
        bind.exec_driver_sql(ddl)


def downgrade() -> None:
    for name in (
        "personal_data_grant",
        "enrolment_zone_member",
        "enrolment_zone",
        "residence",
        "household_version",
        "household",
        "person_version",
        "person",
    ):
        op.drop_table(name)
