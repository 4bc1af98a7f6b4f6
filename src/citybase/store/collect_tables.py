"""Collection task tables (migration 0010): field tasks and their append-only event history.

A task row carries its current state and an optimistic ``version``; every change of state is also
written to ``collect_task_event`` (never updated, never deleted), so a task's history is complete.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table, Text

from citybase.store.schema import Id, metadata
from citybase.store.types import Geometry, JSONDoc, UTCDateTime

collect_task = Table(
    "collect_task",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),  # address.rename | address.unmatched | people.move_in ...
    Column("title", String(200), nullable=False),
    Column("detail", JSONDoc, nullable=False),  # the proposed change, as reported
    Column("collected", JSONDoc),  # what the worker collected on site (the change to apply)
    Column("source", String(16), nullable=False),  # person | scan | match | rule
    Column("source_ref", String(200)),  # e.g. "address_review:12", "rule:building_without_rooms:88"
    Column("address_node_id", Id),
    Column("point", Geometry()),
    Column("grid_id", Id),
    Column("department_id", Integer),  # the second-review department
    Column("assignee_id", Integer),  # the grid worker (app_user.id); NULL: unassigned, visible to the street
    Column("state", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(100), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(100), nullable=False),
    Column("due_at", UTCDateTime()),
    Index("ix_collect_task_state_grid", "state", "grid_id"),
    Index("ix_collect_task_assignee", "assignee_id", "state"),
    Index("ix_collect_task_department", "department_id", "state"),
    Index("ix_collect_task_source_ref", "source_ref"),
)

collect_task_event = Table(
    "collect_task_event",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("task_id", Integer, nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(32), nullable=False),  # create, submit, approve, return, reject, accept, cancel, reassign
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("reason", Text),
    Column("detail", JSONDoc),
    Index("ix_collect_task_event_task", "task_id", "id"),
)
