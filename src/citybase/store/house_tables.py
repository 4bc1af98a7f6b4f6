"""Actual house and organisation tables (migration 0009): 实有房屋 (楼盘表, 一房一档) and 实有单位.

``house`` holds the current state of the house at one address node (a building, unit, floor or room);
``house_version`` is its append-only history. ``house_inspection`` keeps the safety inspections.
``organisation`` / ``organisation_version`` are the same pair for organisations (legal representative
encrypted, plus a masked form); ``organisation_site`` is the history of an organisation's bindings to
standard addresses (a binding is closed by setting ``until``, never deleted).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Date, Float, Index, Integer, String, Table, Text

from citybase.store.schema import Id, metadata
from citybase.store.types import UTCDateTime


def _house_columns() -> list[Column[Any]]:
    return [
        Column("address_node_id", Id, nullable=False),
        Column("object_id", Id),  # the city object of the node (a building or a room), when linked
        Column("level", String(16), nullable=False),  # building | unit | floor | room
        Column("use", String(16), nullable=False),  # residential | commercial | mixed | public | industrial | other
        Column("structure", String(16)),  # 砖混 框架 钢混 钢结构 木 其他
        Column("year_built", Integer),
        Column("floor_area_m2", Float),
        Column("ownership", String(16)),  # 商品房 公房 自建房 集体 其他
        Column("rental_status", String(16)),  # 自住 出租 空置 其他
        Column("safety_grade", String(1)),  # A B C D (房屋安全鉴定等级)
    ]


house = Table(
    "house",
    metadata,
    Column("id", Integer, primary_key=True),
    *_house_columns(),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=False),
    Index("ix_house_address_node_id", "address_node_id", unique=True),
    Index("ix_house_object_id", "object_id"),
)

house_version = Table(
    "house_version",
    metadata,
    Column("house_id", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    *_house_columns(),
    Column("change", String(16), nullable=False),  # create | update
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(100), nullable=False),
)

house_inspection = Table(
    "house_inspection",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("house_id", Integer, nullable=False),
    Column("inspected_on", Date, nullable=False),
    Column("grade", String(1), nullable=False),
    Column("inspector", String(100), nullable=False),
    Column("department", String(200)),
    Column("findings", Text),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Index("ix_house_inspection_house_id", "house_id", "inspected_on"),
)


def _org_columns() -> list[Column[Any]]:
    return [
        Column("name", String(200), nullable=False),
        Column("type", String(32), nullable=False),  # enterprise | self_employed | public_institution | ...
        Column("legal_rep_cipher", Text),  # AES-GCM (registry.personal), key outside the database
        Column("legal_rep_masked", String(100)),
        Column("registered_address", Text, nullable=False),
        Column("status", String(16), nullable=False),  # active | closed | moved
    ]


organisation = Table(
    "organisation",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uscc", String(18), nullable=False),
    *_org_columns(),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=False),
    Index("ix_organisation_uscc", "uscc", unique=True),
    Index("ix_organisation_name", "name"),
)

organisation_version = Table(
    "organisation_version",
    metadata,
    Column("organisation_id", Integer, primary_key=True),
    Column("version", Integer, primary_key=True),
    *_org_columns(),
    Column("change", String(16), nullable=False),  # register | update
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(100), nullable=False),
)

organisation_site = Table(
    "organisation_site",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("organisation_id", Integer, nullable=False),
    Column("address_node_id", Id, nullable=False),
    Column("kind", String(16), nullable=False),  # registered | operating
    Column("since", UTCDateTime(), nullable=False),
    Column("until", UTCDateTime()),  # open while NULL
    Column("bound_by", String(100), nullable=False),
    Column("photo_path", String(300)),  # shopfront photo under data_dir/photos
    Index("ix_organisation_site_org", "organisation_id", "kind"),
    Index("ix_organisation_site_node", "address_node_id"),
)
