"""One chunk of a people CSV import, written in bulk.

The rows of a chunk are sorted into two kinds before anything is written:

- **plain rows** pass every check the one-by-one import makes (citizen ID, name, phone, residence
  type; for a row with an address: the address is an active dwelling, relation and move-in date), name
  a citizen ID that occurs once in the chunk and is not registered yet, and either have no household or
  a household number that is new and whose every row in the chunk is plain and names the same dwelling;
- **other rows**: everything else, including rows joining a household that already exists.

Plain rows go in with a few ``bulk_load`` statements (COPY on PostgreSQL) and get the records the
one-by-one import would give them: person version 1 ``register`` and, when they move in, version 2
``move_in``; a new household at version 1 ``create`` and one more ``head`` version for every head
(户主) who joins it, in row order. Other rows then go through the one-by-one import itself, in row order,
each in its own savepoint, so a bad row gets the very error the one-by-one import gives and a good one
the same records. The audit log gets one ``person.bulk_import`` entry per chunk instead of two per person.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, select

from citybase.domains.access import Actor, Permission, record_audit
from citybase.domains.registry import person_rows as rows
from citybase.domains.registry.people_bulk import dwellings, write_rows
from citybase.domains.registry.personal import PersonalData
from citybase.domains.registry.subtree import HOME_LEVELS
from citybase.kernel.errors import CityBaseError
from citybase.store import reserve_ids, rows_in
from citybase.store.address_tables import address_node
from citybase.store.people_tables import household, person, residence

Row = tuple[int, dict[str, Any]]  # (line number in the CSV, payload of non-empty known columns)


@dataclass(slots=True)
class _Plain:
    """A row that passed every check, with its checked values."""

    number: int
    sealed: dict[str, Any]
    rtype: str
    node: int | None = None
    household: str | None = None
    relation: str = "其他"
    move_in: date | None = None


@dataclass(slots=True)
class _Household:
    number: str
    node: int
    members: list[_Plain] = field(default_factory=list)
    plain: bool = True


def _check(pd: PersonalData, number: int, payload: dict[str, Any]) -> _Plain:
    """The one-by-one import's checks that need no database, in its order (raises on the first failure)."""
    cid = rows.check_citizen_id(payload.get("id_number"), number)
    name = rows.check_name(payload.get("name"), number)
    phone = rows.check_phone(payload.get("phone"), number)
    rtype = rows.check_choice(
        payload.get("residence_type") or "registered", "residence_type", rows.RESIDENCE_TYPES[:3], number
    )
    plain = _Plain(number, rows.sealed(pd, cid, name, phone), rtype)
    if "address_node_id" in payload:
        plain.node = rows.check_id(payload["address_node_id"], "address_node_id", number)
    if plain.node is not None or "address_code" in payload:
        plain.relation = rows.check_choice(payload.get("relation") or "其他", "relation", rows.RELATIONS, number)
        plain.move_in = rows.check_day(payload.get("move_in"), "move_in", number)
        plain.household = payload.get("household_number")
    return plain


def _home_number(payload: dict[str, Any]) -> str | None:
    """The household a row joins or founds: the one-by-one import only reads it for a row with an address."""
    if "address_node_id" in payload or "address_code" in payload:
        return payload.get("household_number") or None
    return None


def _id_hash(pd: PersonalData, payload: dict[str, Any]) -> str | None:
    """The look-up hash of a row that failed a check after its citizen ID (None: the ID itself is bad)."""
    try:
        return str(pd.lookup_hash(rows.check_citizen_id(payload.get("id_number"), None).value))
    except CityBaseError:
        return None


def plan(
    conn: Connection, pd: PersonalData, chunk: Sequence[Row]
) -> tuple[list[_Plain], dict[str, _Household], list[Row]]:
    """Split ``chunk`` into plain rows (with the new households they found) and the other rows.

    A row is other when it fails a check, and so is every row sharing its citizen ID or its household
    number with another row that is: so the one-by-one import meets them in their own order."""
    checked: dict[int, _Plain] = {}
    other: set[int] = set()
    for number, payload in chunk:
        try:
            checked[number] = _check(pd, number, payload)
        except CityBaseError:
            other.add(number)
    codes = [pl["address_code"] for n, pl in chunk if n in checked and checked[n].node is None and "address_code" in pl]
    a = address_node.c
    by_code = {r.display_code: int(r.id) for r in rows_in(conn, select(a.id, a.display_code), a.display_code, codes)}
    for number, payload in chunk:
        p = checked.get(number)
        if p is not None and p.node is None and "address_code" in payload:
            p.node = by_code.get(payload["address_code"])
            if p.node is None:
                other.add(number)
    found = dwellings(conn, sorted({p.node for p in checked.values() if p.node is not None}))
    for number, p in checked.items():
        home = found.get(p.node) if p.node is not None else None
        if p.node is not None and (home is None or home.level not in HOME_LEVELS or home.state != "active"):
            other.add(number)
    hashes = {n: checked[n].sealed["id_hash"] if n in checked else _id_hash(pd, pl) for n, pl in chunk}
    repeated = {h for h, k in Counter(hashes.values()).items() if h is not None and k > 1}
    known = [h for h in set(hashes.values()) if h]
    taken = {r.id_hash for r in rows_in(conn, select(person.c.id_hash), person.c.id_hash, known)}
    other.update(n for n, h in hashes.items() if h in repeated or h in taken)
    numbers = {number: _home_number(payload) for number, payload in chunk}
    wanted = sorted({h for h in numbers.values() if h})
    existing = {r.number for r in rows_in(conn, select(household.c.number), household.c.number, wanted)}
    homes: dict[str, _Household] = {}
    for p in checked.values():
        if p.household and p.node is not None:
            h = homes.setdefault(p.household, _Household(p.household, p.node))
            h.members.append(p)
            h.plain = h.plain and p.node == h.node and p.household not in existing and len(p.household) <= 64
    spoilt = {numbers[n] for n in other if numbers[n]} | {n for n, h in homes.items() if not h.plain}
    other.update(n for n, h in numbers.items() if h in spoilt)
    plain = [checked[n] for n, _ in chunk if n not in other]
    new_homes = {n: h for n, h in homes.items() if n not in spoilt}
    return plain, new_homes, [r for r in chunk if r[0] in other]


def write(conn: Connection, actor: Actor, plain: list[_Plain], homes: dict[str, _Household]) -> None:
    """Register the plain rows and their new households (see the module doc for the records)."""
    actor.require(Permission.WRITE_REGISTRY)
    if not plain:
        return
    at = datetime.now(UTC)
    stamp = {"created_at": at, "created_by": actor.name, "updated_at": at, "updated_by": actor.name}
    pids = reserve_ids(conn, person, len(plain))
    hids = dict(zip(homes, reserve_ids(conn, household, len(homes)), strict=True))
    people, versions, stays = [], [], []
    heads: dict[str, list[int]] = {n: [] for n in homes}
    for p, pid in zip(plain, pids, strict=True):
        moved = p.node is not None
        people.append(
            {"id": pid, **p.sealed, "residence_type": p.rtype, "state": "active", "version": 2 if moved else 1, **stamp}
        )
        for version, change in ((1, "register"), (2, "move_in"))[: 2 if moved else 1]:
            versions.append(
                {
                    "person_id": pid,
                    "version": version,
                    "change": change,
                    "recorded_at": at,
                    "recorded_by": actor.name,
                    **{k: people[-1][k] for k in rows.VERSIONED},
                }
            )
        if not moved:
            continue
        hid = hids[p.household] if p.household else None
        if p.household and p.relation == "户主":
            heads[p.household].append(pid)
        stays.append(
            {
                "person_id": pid,
                "household_id": hid,
                "address_node_id": p.node,
                "relation": p.relation,
                "residence_type": p.rtype,
                "move_in": p.move_in,
                "move_out": None,
                "created_at": at,
                "created_by": actor.name,
                "closed_at": None,
                "closed_by": None,
            }
        )
    for s, rid in zip(stays, reserve_ids(conn, residence, len(stays)), strict=True):
        s["id"] = rid
    households, home_versions = [], []
    for n, h in homes.items():
        chain = [None, *heads[n]]  # the head after each version: none at creation, then each 户主 in turn
        households.append(
            {
                "id": hids[n],
                "number": n,
                "address_node_id": h.node,
                "head_person_id": chain[-1],
                "state": "active",
                "version": len(chain),
                **stamp,
            }
        )
        home_versions += [
            {
                "household_id": hids[n],
                "version": v,
                "number": n,
                "address_node_id": h.node,
                "head_person_id": head,
                "state": "active",
                "change": "head" if v > 1 else "create",
                "recorded_at": at,
                "recorded_by": actor.name,
            }
            for v, head in enumerate(chain, start=1)
        ]
    write_rows(conn, people, versions, households, home_versions, stays)
    record_audit(
        conn,
        actor,
        "person.bulk_import",
        "person",
        None,
        detail={"people": len(people), "households": len(households), "rows": [plain[0].number, plain[-1].number]},
    )


def import_chunk(
    conn: Connection,
    pd: PersonalData,
    actor: Actor,
    chunk: Sequence[Row],
    one_by_one: Callable[[Connection, int, dict[str, Any]], None],
    in_bulk: bool = True,
) -> list[tuple[int, CityBaseError]]:
    """Import ``chunk`` in the caller's transaction; returns the rejected rows' numbers and errors, in row
    order. ``one_by_one`` imports a single row in a savepoint (raising for a bad row); without ``in_bulk``
    it imports every row."""
    plain, homes, other = plan(conn, pd, chunk) if in_bulk else ([], {}, list(chunk))
    write(conn, actor, plain, homes)
    errors: list[tuple[int, CityBaseError]] = []
    for number, payload in other:
        try:
            one_by_one(conn, number, payload)
        except CityBaseError as exc:
            errors.append((number, exc))
    return errors
