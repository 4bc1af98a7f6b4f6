"""Standard address tables (migration 0005), on the shared metadata: the address tree (一标).

``address_node`` holds the current state of every node of the tree; ``address_version`` is its
append-only history (nothing is overwritten); ``address_alias`` keeps old and common names
searchable; ``address_counter`` hands out display-code serials and the tree's change revision;
``address_workflow`` holds the naming workflows (proposal -> review -> approval).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Connection, ForeignKey, Index, Integer, String, Table, select
from sqlalchemy.dialects import postgresql as pg_dml
from sqlalchemy.dialects import sqlite as sqlite_dml

from citybase.store.dialects import postgis, sqlite
from citybase.store.schema import SPATIAL_TABLES, Id, metadata
from citybase.store.types import Geometry, JSONDoc, UTCDateTime


def _node_columns() -> list[Column[Any]]:
    """Columns shared by the current-state table and its history."""
    return [
        Column("parent_id", Id),
        Column("level", String(16), nullable=False),
        Column("name", String(200), nullable=False),
        Column("division_code", String(12)),
        Column("display_code", String(40), nullable=False),
        Column("point", Geometry()),
        Column("object_id", Id),  # the building (or other city object) this address belongs to
        Column("grid", String(32)),
        Column("state", String(16), nullable=False),
    ]


address_node = Table(
    "address_node",
    metadata,
    Column("id", Id, primary_key=True),
    *_node_columns(),
    Column("source_id", String(100)),  # the importing system's own id (crosswalk)
    Column("version", Integer, nullable=False),
    Column("revision", BigInteger, nullable=False),  # tree revision of the node's last change
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=False),
    Index("ix_address_node_parent_id_name", "parent_id", "name"),
    Index("ix_address_node_display_code", "display_code", unique=True),
    Index("ix_address_node_source_id", "source_id", unique=True),
    Index("ix_address_node_object_id", "object_id"),
    Index("ix_address_node_revision", "revision"),
    Index("ix_address_node_level", "level"),
)

address_version = Table(
    "address_version",
    metadata,
    Column("node_id", Id, primary_key=True),
    Column("version", Integer, primary_key=True),
    *_node_columns(),
    Column("change", String(16), nullable=False),  # create | rename | move | retire | update
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("recorded_by", String(100), nullable=False),
)

address_alias = Table(
    "address_alias",
    metadata,
    Column("node_id", Id, ForeignKey("address_node.id"), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("kind", String(16), nullable=False),  # old (a former name) | common (a name people use)
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_address_alias_name", "name"),
)

# Serials per (division, level) for display codes; the row ("", "revision") counts tree changes.
address_counter = Table(
    "address_counter",
    metadata,
    Column("division", String(12), primary_key=True),
    Column("level", String(16), primary_key=True),
    Column("next_serial", BigInteger, nullable=False),
)

address_workflow = Table(
    "address_workflow",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),  # road_name | compound_name | door_plates
    Column("state", String(16), nullable=False),
    Column("parent_id", Id, nullable=False),  # the node the new names go under
    Column("payload", JSONDoc, nullable=False),
    Column("steps", JSONDoc, nullable=False),  # [{step, actor, department, at, note}]
    Column("result", JSONDoc),  # node ids recorded by the final step
    Column("proposed_by", String(100), nullable=False),
    Column("department_id", Integer),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_address_workflow_state", "state"),
)

# Indexed by the dialects; the companions are created by migration 0005 (see companions_ddl).
SPATIAL_TABLES["address_node"] = "point"
REVISION_KEY = {"division": "", "level": "revision"}


def _dialect(conn: Connection) -> Any:
    return postgis if conn.dialect.name == "postgresql" else sqlite


def companions_ddl(conn: Connection) -> list[str]:
    """Spatial and text indexes and the append-only trigger of the address tables (idempotent)."""
    d = _dialect(conn)
    return [
        *d.spatial_index_ddl("address_node", "point"),
        *d.text_index_ddl("address_node"),
        *d.append_only_ddl("address_version"),
    ]


def allocate(conn: Connection, division: str, level: str, count: int) -> int:
    """Take ``count`` never-used serials of (division, level); returns the first (serials start at 1)."""
    key = {"division": division, "level": level}
    return int(_dialect(conn).allocate_serials(conn, address_counter, key, "next_serial", count))


def allocate_many(conn: Connection, counts: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    """``allocate`` for many (division, level) keys in one batched upsert; returns the first serial of each.

    ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` adds each count to its counter; the writer holds the
    counter rows (PostgreSQL row locks, SQLite's write lock) until its transaction ends.
    """
    if not counts:
        return {}
    dml = pg_dml if conn.dialect.name == "postgresql" else sqlite_dml
    ins = dml.insert(address_counter)
    c = address_counter.c
    stmt = ins.on_conflict_do_update(
        index_elements=[c.division, c.level], set_={"next_serial": c.next_serial + ins.excluded.next_serial - 1}
    ).returning(c.division, c.level, c.next_serial)
    rows = conn.execute(stmt, [{"division": d, "level": lv, "next_serial": n + 1} for (d, lv), n in counts.items()])
    return {(r.division, r.level): int(r.next_serial) - counts[(r.division, r.level)] for r in rows}


def current(conn: Connection, division: str, level: str) -> int:
    """The last serial handed out for (division, level), 0 when none."""
    q = select(address_counter.c.next_serial).where(
        address_counter.c.division == division, address_counter.c.level == level
    )
    value = conn.execute(q).scalar()
    return 0 if value is None else int(value) - 1
