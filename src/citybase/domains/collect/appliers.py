"""Appliers of the address kinds: an accepted task changes the standard address tree in its transaction.

Each applier is ``fn(conn, actor, payload) -> dict``; the payload is the task's ``detail`` overlaid by
what the worker ``collected``, plus ``task_id`` and ``address_node_id``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shapely.geometry import Point
from sqlalchemy import Connection, update

from citybase.domains.access import Actor
from citybase.domains.addresses import AddressService, NewNode
from citybase.domains.collect.checks import bad, check_point
from citybase.domains.collect.model import Applier
from citybase.kernel.errors import ConflictError
from citybase.store.address_match_tables import address_review


def _name(payload: dict[str, Any], field: str = "name") -> str:
    value = payload.get(field)
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise bad(f"task {payload.get('task_id')}", field, "a name of 1-200 characters is required")
    return value.strip()


def _node(payload: dict[str, Any], field: str) -> int:
    value = payload.get(field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise bad(f"task {payload.get('task_id')}", field, "a standard address node id is required")
    return value


def address_appliers(addresses: AddressService) -> dict[str, Applier]:
    def rename(conn: Connection, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
        node_id, name = _node(payload, "address_node_id"), _name(payload)
        addresses.rename_in(conn, actor, node_id, name)
        return {"node_id": node_id, "name": name}

    def create(conn: Connection, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
        parent = _node({**payload, "parent_id": payload.get("parent_id", payload.get("address_node_id"))}, "parent_id")
        level = payload.get("level")
        if not isinstance(level, str):
            raise bad(f"task {payload.get('task_id')}", "level", "the level of the new address is required")
        lonlat = check_point(payload.get("point"), f"task {payload.get('task_id')}")
        node = NewNode(parent, level, _name(payload), Point(*lonlat) if lonlat else None)
        return {"node_id": addresses.create_in(conn, actor, node)}

    def unmatched(conn: Connection, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
        """Resolve the address review row to the node found on site (or dismiss it)."""
        review_id = _node(payload, "review_id")
        node_id = None if payload.get("dismiss") else _node(payload, "node_id")
        state = "resolved" if node_id is not None else "dismissed"
        n = conn.execute(
            update(address_review)
            .where(address_review.c.id == review_id, address_review.c.state == "open")
            .values(
                state=state,
                resolved_node_id=node_id,
                note=f"collection task {payload.get('task_id')}",
                closed_at=datetime.now(UTC),
                closed_by=actor.name,
            )
        ).rowcount
        if n != 1:
            raise ConflictError(f"address review item {review_id} is no longer open")
        return {"review_id": review_id, "state": state, "node_id": node_id}

    return {"address.rename": rename, "address.new": create, "address.unmatched": unmatched}
