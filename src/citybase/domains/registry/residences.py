"""Moves (人口流动): a move in opens a residence, a move out closes it; a move does both in one transaction.
Closed residences stay as history; at most one residence per person is open (also a unique index)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, select, update

from citybase.domains.access import Actor, Permission
from citybase.domains.registry import person_rows as rows
from citybase.domains.registry.subtree import HOME_LEVELS, node_info
from citybase.kernel.errors import ConflictError
from citybase.store.people_tables import household, residence


def check_home(conn: Connection, node_id: int, record: rows.Record) -> None:
    node = node_info(conn, node_id)
    if node is None:
        raise rows.bad("address_node_id", f"no address node {node_id}", record, "unknown address")
    if node.level not in HOME_LEVELS:
        raise rows.bad(
            "address_node_id",
            f"node {node_id} ({node.name}) is a {node.level}; people live in a {', '.join(HOME_LEVELS)}",
            record,
            "not a dwelling",
        )
    if node.state != "active":
        raise rows.bad("address_node_id", f"node {node_id} ({node.name}) is {node.state}", record, "not a dwelling")


def check_household(conn: Connection, household_id: int, node_id: int, record: rows.Record) -> Any:
    h = conn.execute(select(household).where(household.c.id == household_id)).first()
    if h is None:
        raise rows.bad("household_id", f"no household {household_id}", record, "unknown household")
    if h.state != "active":
        raise rows.bad("household_id", f"household {h.number} is {h.state}", record, "unknown household")
    if h.address_node_id != node_id:
        raise rows.bad(
            "household_id",
            f"household {h.number} lives at node {h.address_node_id}, not {node_id}",
            record,
            "household elsewhere",
        )
    return h


def move_in(
    conn: Connection,
    actor: Actor,
    person_id: int,
    payload: dict[str, Any],
    *,
    record: rows.Record = None,
    expected: int | None = None,
    change: str = "move_in",
) -> Any:
    """Open a residence at ``payload['address_node_id']``; returns the new person row."""
    actor.require(Permission.WRITE_REGISTRY)
    node_id = rows.check_id(payload.get("address_node_id"), "address_node_id", record)
    check_home(conn, node_id, record)
    relation = rows.check_choice(payload.get("relation") or "其他", "relation", rows.RELATIONS, record)
    day = rows.check_day(payload.get("move_in"), "move_in", record)
    p = rows.load(conn, person_id)
    rtype = payload.get("residence_type") or (p.residence_type if p.residence_type != "moved_out" else "resident")
    rtype = rows.check_choice(rtype, "residence_type", rows.RESIDENCE_TYPES[:3], record)
    h = None
    if payload.get("household_id") not in (None, ""):
        h = check_household(conn, rows.check_id(payload["household_id"], "household_id", record), node_id, record)
    current = rows.open_home(conn, person_id)
    if current is not None:
        raise ConflictError(
            f"person {person_id} already lives at address node {current.address_node_id} "
            f"since {current.move_in.isoformat()}: a person lives in one place at a time; "
            "move them (POST /api/people/{id}/move) or move them out first"
        )
    conn.execute(
        residence.insert().values(
            person_id=person_id,
            household_id=h.id if h is not None else None,
            address_node_id=node_id,
            relation=relation,
            residence_type=rtype,
            move_in=day,
            created_at=rows.now(),
            created_by=actor.name,
        )
    )
    if h is not None and relation == "户主":
        moved = conn.execute(
            update(household)
            .where(household.c.id == h.id, household.c.version == h.version)
            .values(head_person_id=person_id, version=h.version + 1, updated_at=rows.now(), updated_by=actor.name)
        )
        if moved.rowcount != 1:
            raise ConflictError(f"household {h.number} changed meanwhile; try again")
        rows.write_household_version(conn, actor, check_household(conn, h.id, node_id, record), "head")
    return rows.bump(conn, actor, person_id, change, expected, {"residence_type": rtype, "state": "active"})


def move_out(
    conn: Connection,
    actor: Actor,
    person_id: int,
    payload: dict[str, Any],
    *,
    record: rows.Record = None,
    expected: int | None = None,
    leaves: bool = True,
) -> Any:
    """Close the open residence; ``leaves`` (left the city) marks the person moved out."""
    actor.require(Permission.WRITE_REGISTRY)
    day = rows.check_day(payload.get("move_out"), "move_out", record)
    current = rows.open_home(conn, person_id)
    if current is None:
        rows.load(conn, person_id)  # 404 for an unknown person
        raise ConflictError(f"person {person_id} has no current residence to move out of")
    if day < current.move_in:
        raise rows.bad(
            "move_out",
            f"{day.isoformat()} is before the move-in date {current.move_in.isoformat()}",
            record,
            "bad move",
        )
    conn.execute(
        update(residence)
        .where(residence.c.id == current.id, residence.c.move_out.is_(None))
        .values(move_out=day, closed_at=rows.now(), closed_by=actor.name)
    )
    if not leaves:
        return current
    return rows.bump(
        conn, actor, person_id, "move_out", expected, {"residence_type": "moved_out", "state": "moved_out"}
    )


def move(
    conn: Connection,
    actor: Actor,
    person_id: int,
    payload: dict[str, Any],
    *,
    record: rows.Record = None,
    expected: int | None = None,
) -> Any:
    """Move out of the current home and into another on the same day, in the caller's transaction."""
    day: date = rows.check_day(payload.get("date") or payload.get("move_in"), "date", record)
    move_out(conn, actor, person_id, {"move_out": day}, record=record, leaves=False)
    return move_in(conn, actor, person_id, {**payload, "move_in": day}, record=record, expected=expected, change="move")
