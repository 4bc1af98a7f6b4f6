"""Actual population tables (migration 0008); identity numbers are stored encrypted plus a keyed hash.

``person`` / ``household`` hold the current state and ``person_version`` / ``household_version`` the
append-only history;
``residence`` records who lives where (a room, or a building or door plate for bungalows), one row per
stay: a move closes the open row and opens a new one, never overwrites it. At most one residence per
person is open (partial unique index on both databases). ``household`` (户) groups residents;
``enrolment_zone`` (学区) + ``enrolment_zone_member`` (address subtrees) serve school-age statistics;
``personal_data_grant`` lets a department read unmasked personal data for a stated purpose.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, Date, ForeignKey, Index, Integer, String, Table, Text, text

from citybase.store.dialects import postgis, sqlite
from citybase.store.schema import Id, metadata
from citybase.store.types import UTCDateTime


def _person_columns() -> list[Column[Any]]:
    """Columns shared by the current-state table and its history (what a change may touch)."""
    return [
        Column("id_cipher", Text, nullable=False),
        Column("id_masked", String(18), nullable=False),
        Column("name_cipher", Text, nullable=False),
        Column("name_masked", String(50), nullable=False),
        Column("phone_cipher", Text),
        Column("phone_masked", String(20)),
        Column("residence_type", String(16), nullable=False),  # registered|resident|temporary|moved_out
        Column("state", String(16), nullable=False),  # active | moved_out | deceased
    ]


person = Table(
    "person",
    metadata,
    Column("id", Id, primary_key=True),
    Column("id_hash", String(64), nullable=False),
    Column("name_hash", String(64), nullable=False),
    Column("sex", String(8), nullable=False),
    Column("birth_date", Date, nullable=False),
    *_person_columns(),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=False),
    Index("ix_person_id_hash", "id_hash", unique=True),
    Index("ix_person_name_hash", "name_hash"),
    Index("ix_person_birth_date", "birth_date"),
)

person_version = Table(
    "person_version",
    metadata,
    Column("person_id", Id, primary_key=True),
    Column("version", Integer, primary_key=True),
    *_person_columns(),
    Column("change", String(16), nullable=False),  # register | update | move_in | move_out | move
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(100), nullable=False),
)

household = Table(
    "household",
    metadata,
    Column("id", Id, primary_key=True),
    Column("number", String(64), nullable=False),
    Column("address_node_id", Id, nullable=False),
    Column("head_person_id", Id),
    Column("state", String(16), nullable=False),  # active | dissolved
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=False),
    Index("ix_household_number", "number", unique=True),
    Index("ix_household_address_node_id", "address_node_id"),
)

household_version = Table(
    "household_version",
    metadata,
    Column("household_id", Id, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("number", String(64), nullable=False),
    Column("address_node_id", Id, nullable=False),
    Column("head_person_id", Id),
    Column("state", String(16), nullable=False),
    Column("change", String(16), nullable=False),  # create | head
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(100), nullable=False),
)

residence = Table(
    "residence",
    metadata,
    Column("id", Id, primary_key=True),
    Column("person_id", Id, ForeignKey("person.id"), nullable=False),
    Column("household_id", Id, ForeignKey("household.id")),
    Column("address_node_id", Id, nullable=False),
    Column("relation", String(8), nullable=False),  # 户主 配偶 子女 父母 其他
    Column("residence_type", String(16), nullable=False),
    Column("move_in", Date, nullable=False),
    Column("move_out", Date),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("closed_by", String(100)),
    Index("ix_residence_person_id", "person_id"),
    Index("ix_residence_address_node_id", "address_node_id"),
    Index("ix_residence_household_id", "household_id"),
    # At most one open residence per person: a partial unique index (SQLite and PostgreSQL both have them).
    Index(
        "ux_residence_open_person",
        "person_id",
        unique=True,
        sqlite_where=text("move_out IS NULL"),
        postgresql_where=text("move_out IS NULL"),
    ),
)

enrolment_zone = Table(
    "enrolment_zone",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("school", String(200)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
)

enrolment_zone_member = Table(
    "enrolment_zone_member",
    metadata,
    Column("zone_id", Integer, ForeignKey("enrolment_zone.id"), primary_key=True),
    Column("address_node_id", Id, primary_key=True),  # the root of an address subtree
)

personal_data_grant = Table(
    "personal_data_grant",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("department_id", Integer, ForeignKey("department.id"), nullable=False),
    Column("scope", String(64), nullable=False),  # "all", or "node:<address node id>" (a subtree)
    Column("purpose", String(500), nullable=False),
    Column("granted_by", String(100), nullable=False),
    Column("granted_at", UTCDateTime(), nullable=False),
    Column("revoked_by", String(100)),
    Column("revoked_at", UTCDateTime()),
    Index("ix_personal_data_grant_department_id", "department_id"),
)


def companions_ddl(conn: Connection) -> list[str]:
    """The append-only triggers of the person and household histories (idempotent)."""
    d = postgis if conn.dialect.name == "postgresql" else sqlite
    return [*d.append_only_ddl("person_version"), *d.append_only_ddl("household_version")]
