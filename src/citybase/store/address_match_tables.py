"""Address-matching tables (migration 0006), on the shared metadata: the review queue.

Inputs that did not match, or matched more than one standard address, wait here for a person (or,
later, a field task of the collection work) to decide. ``address_review`` rows are never deleted: a
decision closes a row (``resolved`` with the chosen node, or ``dismissed``).
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, Integer, String, Table, Text

from citybase.store.schema import Id, metadata
from citybase.store.types import JSONDoc, UTCDateTime

address_review = Table(
    "address_review",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("text", Text, nullable=False),  # the address as given
    Column("status", String(16), nullable=False),  # the match status: unmatched | ambiguous | partial
    Column("score", Float, nullable=False),
    Column("level", String(16)),  # the deepest level matched, if any
    Column("node_id", Id),  # the best candidate, if any
    Column("explanation", Text, nullable=False),
    Column("candidates", JSONDoc, nullable=False),  # [{node_id, level, score}]
    Column("source", String(200), nullable=False),  # who sent it: "api", "job 12", "cli" ...
    Column("state", String(16), nullable=False),  # open | resolved | dismissed
    Column("resolved_node_id", Id),
    Column("note", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("closed_at", UTCDateTime()),
    Column("closed_by", String(100)),
    Index("ix_address_review_state", "state", "id"),
)
