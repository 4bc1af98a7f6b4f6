"""Import and layer-version tables (migration 0004), on the shared metadata.

A dataset layer's membership is kept as validity intervals over layer versions: a ``layer_item`` row
says "from layer version ``from_version`` until (not including) ``to_version``, object ``object_id`` is
in the layer at object version ``object_version``". The members of version V are the rows with
``from_version <= V < to_version`` (an open ``to_version`` means "still current"). Nothing is deleted,
so every past version can be compared and rolled back to.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint

from citybase.store.schema import Id, metadata
from citybase.store.types import JSONDoc, UTCDateTime

layer_version = Table(
    "layer_version",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("layer_id", Integer, ForeignKey("layer.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("change", String(16), nullable=False),  # import | rollback
    Column("import_id", Integer),  # the import_run that made it (import versions)
    Column("rolled_back_to", Integer),  # the version restored (rollback versions)
    Column("counts", JSONDoc, nullable=False),  # added / changed / retired / unchanged
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    UniqueConstraint("layer_id", "version"),
)

layer_item = Table(
    "layer_item",
    metadata,
    Column("id", Id, primary_key=True),
    Column("layer_id", Integer, ForeignKey("layer.id"), nullable=False),
    Column("object_id", Id, nullable=False),
    Column("object_version", Integer, nullable=False),
    Column("source_key", String(200)),  # the row's key in the department's file (matches re-imports)
    Column("raw_address", String(500)),  # address text kept for address matching (address-only rows)
    Column("extra", JSONDoc),  # source columns kept that are not attributes of the class
    Column("from_version", Integer, nullable=False),
    Column("to_version", Integer),
    Index("ix_layer_item_layer_id_to_version", "layer_id", "to_version"),
    Index("ix_layer_item_object_id", "object_id"),
)

import_run = Table(
    "import_run",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", Integer),
    Column("layer_name", String(64), nullable=False),
    Column("file_name", String(300), nullable=False),
    Column("options", JSONDoc, nullable=False),
    Column("state", String(16), nullable=False),  # queued | succeeded | failed
    Column("report", JSONDoc),
    Column("layer_version", Integer),
    Column("department_id", Integer),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
)

# A department's column names -> a class's attributes; department 0 is "no department" (platform).
attribute_mapping = Table(
    "attribute_mapping",
    metadata,
    Column("department_id", Integer, primary_key=True),
    Column("class_code", String(6), primary_key=True),
    Column("mapping", JSONDoc, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=False),
    Column("note", Text),
)
