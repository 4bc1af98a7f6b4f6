"""Actual houses (实有房屋) and actual organisations (实有单位).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _house_columns() -> list[sa.Column]:
    return [
        sa.Column("address_node_id", _id(), nullable=False),
        sa.Column("object_id", _id(), nullable=True),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("use", sa.String(length=16), nullable=False),
        sa.Column("structure", sa.String(length=16), nullable=True),
        sa.Column("year_built", sa.Integer(), nullable=True),
        sa.Column("floor_area_m2", sa.Float(), nullable=True),
        sa.Column("ownership", sa.String(length=16), nullable=True),
        sa.Column("rental_status", sa.String(length=16), nullable=True),
        sa.Column("safety_grade", sa.String(length=1), nullable=True),
    ]


def _org_columns() -> list[sa.Column]:
    return [
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("legal_rep_cipher", sa.Text(), nullable=True),
        sa.Column("legal_rep_masked", sa.String(length=100), nullable=True),
        sa.Column("registered_address", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "house",
        sa.Column("id", sa.Integer(), nullable=False),
        *_house_columns(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_house")),
    )
    op.create_index("ix_house_address_node_id", "house", ["address_node_id"], unique=True)
    op.create_index("ix_house_object_id", "house", ["object_id"], unique=False)
    op.create_table(
        "house_version",
        sa.Column("house_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_house_columns(),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("house_id", "version", name=op.f("pk_house_version")),
    )
    op.create_table(
        "house_inspection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("house_id", sa.Integer(), nullable=False),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("inspector", sa.String(length=100), nullable=False),
        sa.Column("department", sa.String(length=200), nullable=True),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_house_inspection")),
    )
    op.create_index("ix_house_inspection_house_id", "house_inspection", ["house_id", "inspected_on"], unique=False)
    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        *_org_columns(),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
    )
    op.create_index("ix_organisation_uscc", "organisation", ["uscc"], unique=True)
    op.create_index("ix_organisation_name", "organisation", ["name"], unique=False)
    op.create_table(
        "organisation_version",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_org_columns(),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("organisation_id", "version", name=op.f("pk_organisation_version")),
    )
    op.create_table(
        "organisation_site",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("address_node_id", _id(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bound_by", sa.String(length=100), nullable=False),
        sa.Column("photo_path", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_site")),
    )
    op.create_index("ix_organisation_site_org", "organisation_site", ["organisation_id", "kind"], unique=False)
    op.create_index("ix_organisation_site_node", "organisation_site", ["address_node_id"], unique=False)


def downgrade() -> None:
    for table, indexes in (
        ("organisation_site", ("ix_organisation_site_node", "ix_organisation_site_org")),
        ("organisation_version", ()),
        ("organisation", ("ix_organisation_name", "ix_organisation_uscc")),
        ("house_inspection", ("ix_house_inspection_house_id",)),
        ("house_version", ()),
        ("house", ("ix_house_object_id", "ix_house_address_node_id")),
    ):
        for index in indexes:
            op.drop_index(index, table_name=table)
        op.drop_table(table)
