"""Registering whole households in bulk: the path for a city's first load (and the registry benchmark).

``register_households_in`` moves ``families[i]`` into dwelling ``rooms[i]`` inside the caller's
transaction with every check the one-by-one path makes (``validate_citizen_id``: check character,
birth date, division code in force; name, phone, residence type, relation and move-in; the dwelling an
active room; no identity number registered twice) and the same records (AES-GCM ciphers and keyed
hashes, masked forms, sex and birth date from the number, the first ``person_version`` and
``household_version`` rows, households with their head, open residences). It differs in how it writes:
dwellings and duplicates are looked up once per batch and rows go in through ``bulk_load`` (COPY on
PostgreSQL), so a batch costs a few statements instead of twenty per person. One bad record rejects the
batch, naming the household, field and reason; nothing of the batch is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, select

from citybase.domains.access import Actor, Permission, record_audit
from citybase.domains.registry import person_rows as rows
from citybase.domains.registry.personal import PersonalData
from citybase.domains.registry.subtree import HOME_LEVELS
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue
from citybase.standards.validators import CitizenIdResult
from citybase.store import bulk_load, reserve_ids, rows_in
from citybase.store.address_tables import address_node
from citybase.store.people_tables import household, household_version, person, person_version, residence


class Resident(Protocol):
    """One person of a household to register (any object with these attributes)."""

    @property
    def id_number(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def relation(self) -> str: ...
    @property
    def residence_type(self) -> str: ...
    @property
    def move_in(self) -> date: ...


def dwellings(conn: Connection, node_ids: Sequence[int]) -> dict[int, Any]:
    n = address_node.c
    return {int(r.id): r for r in rows_in(conn, select(n.id, n.level, n.state, n.display_code), n.id, node_ids)}


def _checked(p: Resident, record: str) -> tuple[CitizenIdResult, str, str | None, str, str, date]:
    return (
        rows.check_citizen_id(p.id_number, record),
        rows.check_name(p.name, record),
        rows.check_phone(p.phone, record),
        rows.check_choice(p.residence_type, "residence_type", rows.RESIDENCE_TYPES[:3], record),
        rows.check_choice(p.relation, "relation", rows.RELATIONS, record),
        rows.check_day(p.move_in, "move_in", record),
    )


def _no_duplicates(conn: Connection, hashes: list[str]) -> None:
    if len(set(hashes)) != len(hashes):
        raise ConflictError("the batch holds the same citizen ID twice")
    taken = rows_in(conn, select(person.c.id), person.c.id_hash, hashes)
    if taken:
        raise ConflictError(f"a citizen ID of the batch is already registered as person {taken[0].id}")


Rows = list[dict[str, Any]]


def write_rows(conn: Connection, people: Rows, versions: Rows, homes: Rows, home_versions: Rows, stays: Rows) -> None:
    """Write a batch whose ids are reserved: people, households and residences with their first versions."""
    for table, batch in (
        (person, people),
        (person_version, versions),
        (household, homes),
        (household_version, home_versions),
        (residence, stays),
    ):
        bulk_load(conn, table, batch)


def register_households_in(
    conn: Connection,
    pd: PersonalData,
    actor: Actor,
    rooms: Sequence[int],
    families: Sequence[Sequence[Resident]],
    *,
    first: int = 0,
) -> int:
    """``families[i]`` moves into ``rooms[i]`` (the first person heads the household); returns the people
    written. ``first`` numbers the batch's households in error messages (``household first+i+1``)."""
    actor.require(Permission.WRITE_REGISTRY)
    if len(rooms) != len(families):
        raise InvalidInputError("bad batch", issues=[Issue("families", "give one family per dwelling")])
    at = datetime.now(UTC)
    people: list[dict[str, Any]] = []
    homes: list[dict[str, Any]] = []
    stays: list[dict[str, Any]] = []
    heads: list[int] = []
    found = dwellings(conn, rooms)
    for k, (room, family) in enumerate(zip(rooms, families, strict=True)):
        record = f"household {first + k + 1}"
        node = found.get(room)
        if node is None or node.level not in HOME_LEVELS or node.state != "active":
            raise rows.bad("address_node_id", f"node {room} is not an active dwelling", record, "not a dwelling")
        if not family:
            raise rows.bad("members", "a household needs at least one person", record)
        heads.append(len(people))
        homes.append(
            {
                "number": f"{node.display_code}-1",
                "address_node_id": room,
                "head_person_id": None,
                "state": "active",
                "version": 1,
                "created_at": at,
                "created_by": actor.name,
                "updated_at": at,
                "updated_by": actor.name,
            }
        )
        for p in family:
            cid, name, phone, rtype, relation, day = _checked(p, record)
            people.append(
                {
                    **rows.sealed(pd, cid, name, phone),
                    "residence_type": rtype,
                    "state": "active",
                    "version": 1,
                    "created_at": at,
                    "created_by": actor.name,
                    "updated_at": at,
                    "updated_by": actor.name,
                }
            )
            stays.append(
                {
                    "household_id": len(homes) - 1,
                    "address_node_id": room,
                    "relation": relation,
                    "residence_type": rtype,
                    "move_in": day,
                    "move_out": None,
                    "created_at": at,
                    "created_by": actor.name,
                    "closed_at": None,
                    "closed_by": None,
                }
            )
    _no_duplicates(conn, [p["id_hash"] for p in people])
    hids = reserve_ids(conn, household, len(homes))
    pids = reserve_ids(conn, person, len(people))
    for row, pid in zip(people, pids, strict=True):
        row["id"] = pid
    for h, hid, head in zip(homes, hids, heads, strict=True):
        h["id"], h["head_person_id"] = hid, pids[head]
    for s, pid, rid in zip(stays, pids, reserve_ids(conn, residence, len(stays)), strict=True):
        s["id"], s["person_id"], s["household_id"] = rid, pid, hids[s["household_id"]]
    versions = [
        {
            "person_id": row["id"],
            "version": 1,
            "change": "register",
            "recorded_at": at,
            "recorded_by": actor.name,
            **{k: row[k] for k in rows.VERSIONED},
        }
        for row in people
    ]
    home_versions = [
        {
            "household_id": h["id"],
            "version": 1,
            "number": h["number"],
            "address_node_id": h["address_node_id"],
            "head_person_id": h["head_person_id"],
            "state": "active",
            "change": "create",
            "recorded_at": at,
            "recorded_by": actor.name,
        }
        for h in homes
    ]
    write_rows(conn, people, versions, homes, home_versions, stays)
    record_audit(
        conn, actor, "person.bulk_register", "person", None, detail={"people": len(people), "households": len(homes)}
    )
    return len(people)
