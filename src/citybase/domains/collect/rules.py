"""Quality rules: queries that find gaps in the registries and open one task per finding.

Each finding has a stable ``source_ref`` (``rule:<rule>:<id>``); a rule run skips findings that already
have a live task, so running the rules twice creates no duplicates. Rules act as the system.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, exists, select
from sqlalchemy.orm import aliased

from citybase.domains.access import Actor, Permission
from citybase.domains.collect.service import CollectService
from citybase.store.address_tables import address_node
from citybase.store.people_tables import residence


@dataclass(frozen=True, slots=True)
class Finding:
    ref_id: int
    kind: str
    title: str
    address_node_id: int | None


@dataclass(frozen=True, slots=True)
class RuleRun:
    rule: str
    found: int
    created: int


def buildings_without_rooms(conn: Connection) -> Iterator[Finding]:
    """Active building addresses with no active unit, floor or room under them (楼盘表缺房间)."""
    child = aliased(address_node)
    has_child = exists().where(child.c.parent_id == address_node.c.id, child.c.state == "active")
    q = (
        select(address_node.c.id, address_node.c.name)
        .where(address_node.c.level == "building", address_node.c.state == "active", ~has_child)
        .order_by(address_node.c.id)
    )
    for r in conn.execute(q):
        yield Finding(int(r.id), "house.no_rooms", f"楼栋缺少房间：{r.name}", int(r.id))


def people_in_retired_rooms(conn: Connection) -> Iterator[Finding]:
    """Open residences in a retired address (人员住在已注销房间); the title names the room, never the person."""
    r, a = residence.c, address_node.c
    q = (
        select(r.id, r.address_node_id, a.name)
        .join(address_node, a.id == r.address_node_id)
        .where(r.move_out.is_(None), a.state != "active")
        .order_by(r.id)
    )
    for row in conn.execute(q):
        yield Finding(int(row.id), "people.retired_room", f"人员住在已注销房间：{row.name}", int(row.address_node_id))


RULES: dict[str, Callable[[Connection], Iterator[Finding]]] = {
    "building_without_rooms": buildings_without_rooms,
    "people_in_retired_rooms": people_in_retired_rooms,
}


def run_rules(
    service: CollectService, actor: Actor, names: list[str] | None = None, *, limit: int = 1000
) -> list[RuleRun]:
    """Run the rules (all by default); at most ``limit`` new tasks per rule and run."""
    actor.require(Permission.RUN_JOBS)
    runs = []
    for name in names or list(RULES):
        if name not in RULES:
            from citybase.domains.collect.checks import bad

            raise bad("rules", "rule", f"{name!r} is not one of {', '.join(RULES)}")
        prefix = f"rule:{name}:"
        found = created = 0
        with service.store.write() as conn:
            live = service.open_refs(conn, prefix)
            for f in RULES[name](conn):
                found += 1
                ref = f"{prefix}{f.ref_id}"
                if ref in live or created >= limit:
                    continue
                service.create_in(
                    conn, actor, kind=f.kind, title=f.title, detail={"rule": name, "ref_id": f.ref_id}, source="rule",
                    source_ref=ref, address_node_id=f.address_node_id,
                )  # fmt: skip
                created += 1
        runs.append(RuleRun(name, found, created))
    return runs
