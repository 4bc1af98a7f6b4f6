"""Address subtrees for the registries: recursive CTEs over ``address_node.parent_id`` (plain SQL on both
databases), so "residents of a community" needs no copy of the tree in the population tables."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import CTE, Connection, Select, select

from citybase.store.address_tables import address_node

# Where a person may live: a room, or a building or door plate for bungalows without rooms.
HOME_LEVELS = ("room", "building", "door_number")


def subtree_cte(roots: Select[Any] | Iterable[int], name: str = "subtree") -> CTE:
    """A CTE of (id, root): every node under (and including) each root, tagged with its root."""
    n = address_node
    base = select(n.c.id.label("id"), n.c.id.label("root"))
    base = base.where(n.c.id.in_(roots if isinstance(roots, Select) else list(roots)))
    cte = base.cte(name, recursive=True)
    child = address_node.alias(f"{name}_child")
    return cte.union_all(select(child.c.id, cte.c.root).where(child.c.parent_id == cte.c.id))


def level_roots(level: str) -> Select[Any]:
    return select(address_node.c.id).where(address_node.c.level == level)


def ancestors(conn: Connection, node_id: int) -> list[int]:
    """The node and its ancestors, nearest first (the tree is at most twelve levels deep)."""
    out: list[int] = []
    current: int | None = node_id
    while current is not None and len(out) < 32:
        out.append(current)
        current = conn.execute(select(address_node.c.parent_id).where(address_node.c.id == current)).scalar()
    return out


def node_info(conn: Connection, node_id: int) -> Any:
    """(id, level, name, state) of one node, or None."""
    n = address_node.c
    return conn.execute(select(n.id, n.level, n.name, n.state).where(n.id == node_id)).first()
