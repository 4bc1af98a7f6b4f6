"""Management grid tables (migration 0007), on the shared metadata: the grids (网格) and their people.

``grid`` holds the current state of every grid of the hierarchy district → street → community →
grid → micro-grid; ``grid_version`` is its append-only history. ``grid_member`` records who works
in a grid and as what (worker | reviewer): an assignment ends by setting ``until``, rows are never
deleted. ``address_grid`` maps every address node at community level and below to the deepest grid
holding it; other domains filter by grid through it (see ``citybase.domains.grids``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, Index, Integer, String, Table

from citybase.store.dialects import postgis, sqlite
from citybase.store.schema import Id, metadata
from citybase.store.types import Geometry, UTCDateTime


def _grid_columns() -> list[Column[Any]]:
    """Columns shared by the current-state table and its history."""
    return [
        Column("parent_id", Id),
        Column("level", String(16), nullable=False),  # district | street | community | grid | micro
        Column("code", String(32), nullable=False),
        Column("name", String(200), nullable=False),
        Column("division_code", String(12), nullable=False),
        Column("geom", Geometry(), nullable=False),  # Polygon | MultiPolygon, CGCS2000 lon/lat
        Column("state", String(16), nullable=False),  # active | retired
    ]


grid = Table(
    "grid",
    metadata,
    Column("id", Id, primary_key=True),
    *_grid_columns(),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=False),
    Index("ix_grid_code", "code", unique=True),
    Index("ix_grid_parent_id", "parent_id"),
    Index("ix_grid_level", "level"),
)

grid_version = Table(
    "grid_version",
    metadata,
    Column("grid_id", Id, primary_key=True),
    Column("version", Integer, primary_key=True),
    *_grid_columns(),
    Column("change", String(16), nullable=False),  # create | retire
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(100), nullable=False),
)

grid_member = Table(
    "grid_member",
    metadata,
    Column("id", Id, primary_key=True),
    Column("grid_id", Id, nullable=False),
    Column("user_id", Integer, nullable=False),
    Column("duty", String(16), nullable=False),  # worker | reviewer
    Column("since", UTCDateTime(), nullable=False),
    Column("until", UTCDateTime()),  # NULL while the assignment lasts
    Column("assigned_by", String(100), nullable=False),
    Column("ended_by", String(100)),
    Index("ix_grid_member_grid_id", "grid_id"),
    Index("ix_grid_member_user_id", "user_id"),
)
# One running assignment per (grid, user, duty): two managers assigning at once cannot both succeed.
Index(
    "ix_grid_member_current",
    grid_member.c.grid_id,
    grid_member.c.user_id,
    grid_member.c.duty,
    unique=True,
    sqlite_where=grid_member.c.until.is_(None),
    postgresql_where=grid_member.c.until.is_(None),
)

address_grid = Table(
    "address_grid",
    metadata,
    Column("address_node_id", Id, primary_key=True),
    Column("grid_id", Id, nullable=False),
    Index("ix_address_grid_grid_id", "grid_id"),
)


def companions_ddl(conn: Connection) -> list[str]:
    """The append-only trigger of ``grid_version`` (idempotent)."""
    d = postgis if conn.dialect.name == "postgresql" else sqlite
    return list(d.append_only_ddl("grid_version"))
