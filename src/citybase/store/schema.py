"""Table definitions: one schema for SQLite and PostgreSQL + PostGIS.

Database-specific companions (R*Tree and FTS5 tables on SQLite; GiST, trigram indexes and
append-only triggers on PostgreSQL) are created by the migrations through ``store.dialects``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from citybase.store.types import Geometry, JSONDoc, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Big integer ids on PostgreSQL (a city passes 2^31 rows of history), plain INTEGER PRIMARY KEY
# (the rowid) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


def _ts(name: str, nullable: bool = False) -> Column:
    return Column(name, UTCDateTime(), nullable=nullable)


department = Table(
    "department",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("name_en", String(200)),
    Column("division_code", String(12)),
    _ts("created_at"),
)

app_user = Table(
    "app_user",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(300), nullable=False),
    Column("role", String(32), nullable=False),
    Column("department_id", Integer, ForeignKey("department.id")),
    Column("active", Boolean, nullable=False, default=True),
    _ts("created_at"),
)

api_key = Table(
    "api_key",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(128), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("department_id", Integer, ForeignKey("department.id"), nullable=False),
    Column("created_by", Integer, ForeignKey("app_user.id")),
    _ts("created_at"),
    _ts("revoked_at", nullable=True),
)

login_session = Table(
    "login_session",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(128), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("app_user.id"), nullable=False),
    _ts("created_at"),
    _ts("expires_at"),
)

# Append-only: the migrations add triggers that refuse UPDATE and DELETE on both databases.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True),
    _ts("at"),
    Column("actor", String(100), nullable=False),
    Column("actor_kind", String(16), nullable=False),
    Column("department_id", Integer),
    Column("action", String(64), nullable=False),
    Column("target_type", String(64), nullable=False),
    Column("target_id", String(64)),
    Column("purpose", String(500)),
    Column("detail", JSONDoc),
    Index("ix_audit_log_target", "target_type", "target_id"),
    Index("ix_audit_log_at", "at"),
)

# Call metering: one row per day x API key x department x route x method (0 = none).
api_call_daily = Table(
    "api_call_daily",
    metadata,
    Column("day", Date, primary_key=True),
    Column("api_key_id", Integer, primary_key=True, default=0),
    Column("department_id", Integer, primary_key=True, default=0),
    Column("route", String(200), primary_key=True),
    Column("method", String(8), primary_key=True),
    Column("calls", BigInteger, nullable=False, default=0),
    Column("errors", BigInteger, nullable=False, default=0),
    Column("total_ms", Float, nullable=False, default=0.0),
    Column("max_ms", Float, nullable=False, default=0.0),
)

object_class = Table(
    "object_class",
    metadata,
    Column("code", String(6), primary_key=True),
    Column("major", String(100), nullable=False),
    Column("medium", String(100), nullable=False),
    Column("name", String(100), nullable=False),
    Column("name_en", String(100), nullable=False),
    Column("geometry_type", String(32)),
    Column("attributes", JSONDoc, nullable=False),
    Column("source", String(100), nullable=False),
    _ts("created_at"),
)


def _object_columns() -> list[Column]:
    """Columns shared by the current-state table and its version history."""
    return [
        Column("code", String(21)),
        Column("class_code", String(6), nullable=False),
        Column("name", String(300), nullable=False),
        Column("geom", Geometry()),
        Column("attributes", JSONDoc, nullable=False),
        Column("department_id", Integer),
        Column("parent_id", Id),
        Column("state", String(16), nullable=False),
        _ts("valid_from"),
        _ts("valid_to", nullable=True),
    ]


city_object = Table(
    "city_object",
    metadata,
    Column("id", Id, primary_key=True),
    *_object_columns(),
    Column("version", Integer, nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    Column("updated_by", String(100), nullable=False),
    Index("ix_city_object_code", "code", unique=True),
    Index("ix_city_object_class_code", "class_code"),
    Index("ix_city_object_name", "name"),
    Index("ix_city_object_department_id", "department_id"),
    Index("ix_city_object_parent_id", "parent_id"),
)

city_object_version = Table(
    "city_object_version",
    metadata,
    Column("object_id", Id, ForeignKey("city_object.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    *_object_columns(),
    _ts("recorded_at"),
    Column("recorded_by", String(100), nullable=False),
    Column("change", String(16), nullable=False),
    Index("ix_city_object_version_recorded_at", "recorded_at"),
)

job = Table(
    "job",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("params", JSONDoc, nullable=False),
    Column("state", String(16), nullable=False),
    Column("done", BigInteger, nullable=False, default=0),
    Column("total", BigInteger),
    Column("message", Text),
    Column("result", JSONDoc),
    Column("errors", JSONDoc),
    Column("checkpoint", JSONDoc),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_by", String(100), nullable=False),
    _ts("created_at"),
    _ts("started_at", nullable=True),
    _ts("finished_at", nullable=True),
    _ts("heartbeat_at", nullable=True),
    Index("ix_job_state", "state"),
)

platform_meta = Table(
    "platform_meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", JSONDoc, nullable=False),
)

# Tables with one geometry column that the dialects index (R*Tree on SQLite, GiST on PostGIS).
SPATIAL_TABLES: dict[str, str] = {"city_object": "geom"}
# Tables whose ``name`` column gets full-text (trigram) search.
TEXT_TABLES: tuple[str, ...] = ("city_object",)
# Append-only tables (UPDATE/DELETE refused by triggers).
APPEND_ONLY_TABLES: tuple[str, ...] = ("audit_log", "city_object_version")

# --- unified codes (migration 0002) -------------------------------------------------------------------

# Serials per division + class. ``next_serial`` only grows: a serial, once handed out, is never handed
# out again, even if its object is retired.
code_counter = Table(
    "code_counter",
    metadata,
    Column("division", String(6), primary_key=True),
    Column("class_code", String(6), primary_key=True),
    Column("next_serial", BigInteger, nullable=False),
)

# Every code ever issued, also after its object retired.
#
# No foreign keys on the three tables bulk coding fills (registry, crosswalk, Beidou codes): on
# PostgreSQL a foreign-key check costs about as much as the row it guards, and these tables take one
# row per object (5.6 million for a city) per coding run. The references hold by construction: rows
# are inserted only from a join with the objects they name, and objects, codes and departments are
# never deleted (objects and codes retire).
code_registry = Table(
    "code_registry",
    metadata,
    Column("code", String(21), primary_key=True),
    Column("object_id", Id, nullable=False),
    Column("division", String(6), nullable=False),
    Column("class_code", String(6), nullable=False),
    Column("scheme", String(40), nullable=False),
    Column("state", String(16), nullable=False),
    _ts("issued_at"),
    _ts("retired_at", nullable=True),
    Index("ix_code_registry_object_id", "object_id"),
)

# Which codes a code came from and went to (merge: N -> 1, split: 1 -> N). Append-only.
code_lineage = Table(
    "code_lineage",
    metadata,
    Column("from_code", String(21), ForeignKey("code_registry.code"), primary_key=True),
    Column("to_code", String(21), ForeignKey("code_registry.code"), primary_key=True),
    Column("kind", String(16), nullable=False),
    _ts("at"),
    Column("actor", String(100), nullable=False),
    Index("ix_code_lineage_to_code", "to_code"),
)

# A department's own identifiers mapped to unified codes (many-to-one; unique per department).
code_crosswalk = Table(
    "code_crosswalk",
    metadata,
    Column("department_id", Integer, primary_key=True),
    Column("legacy_id", String(100), primary_key=True),
    Column("code", String(21), nullable=False),
    _ts("created_at"),
    Column("created_by", String(100), nullable=False),
    Index("ix_code_crosswalk_code", "code"),
)

# The Beidou grid location code (GB/T 39409) of each coded object's representative point. Not indexed
# by code: objects in a grid cell are found through the spatial index with the cell's bounds.
object_beidou = Table(
    "object_beidou",
    metadata,
    Column("object_id", Id, primary_key=True),
    Column("code2d", String(20), nullable=False),
    Column("code3d", String(32)),
    Column("height_m", Float),
    _ts("computed_at"),
)

APPEND_ONLY_TABLES = (*APPEND_ONLY_TABLES, "code_lineage")
