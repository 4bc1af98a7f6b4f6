"""Layer tables (migration 0003), on the shared metadata: published views over object classes."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text

from citybase.store.schema import metadata
from citybase.store.types import JSONDoc, UTCDateTime

layer = Table(
    "layer",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("department_id", Integer, ForeignKey("department.id")),
    Column("kind", String(16), nullable=False),  # "class" | "dataset" (filled by imports: import_tables.py)
    Column("class_code", String(6)),
    Column("style", JSONDoc, nullable=False),  # a MapLibre style fragment (paint / layout / type)
    Column("access", String(16), nullable=False),  # public | internal | restricted
    Column("allowed_departments", JSONDoc, nullable=False),  # department ids of a restricted layer
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_layer_class_code", "class_code"),
)
