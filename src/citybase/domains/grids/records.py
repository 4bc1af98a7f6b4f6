"""Reading grid rows: records, members, ancestors and descendants (inside a caller's connection)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from citybase.domains.grids.model import Grid, Member
from citybase.kernel.errors import NotFoundError
from citybase.store.grid_tables import grid, grid_member
from citybase.store.schema import app_user

LIGHT = [c for c in grid.c if c.name != "geom"]  # list and tree queries leave the polygons out


def to_grid(m: Any) -> Grid:
    return Grid(
        id=int(m["id"]),
        parent_id=None if m["parent_id"] is None else int(m["parent_id"]),
        level=m["level"],
        code=m["code"],
        name=m["name"],
        division_code=m["division_code"],
        state=m["state"],
        version=int(m["version"]),
        created_at=m["created_at"],
        created_by=m["created_by"],
        updated_at=m["updated_at"],
        updated_by=m["updated_by"],
        geom=m.get("geom"),
    )


def load(conn: Connection, grid_id: int, *, geometry: bool = True) -> Grid:
    cols = list(grid.c) if geometry else LIGHT
    m = conn.execute(select(*cols).where(grid.c.id == grid_id)).mappings().first()
    if m is None:
        raise NotFoundError(f"no grid {grid_id}")
    return to_grid(m)


def members(conn: Connection, grid_ids: list[int], *, ended: bool = False) -> list[Member]:
    gm, u = grid_member.c, app_user.c
    q = (
        select(grid_member, u.username, u.display_name)
        .join(app_user, u.id == gm.user_id)
        .where(gm.grid_id.in_(grid_ids))
    )
    if not ended:
        q = q.where(gm.until.is_(None))
    out = []
    for m in conn.execute(q.order_by(gm.grid_id, gm.duty, gm.since, gm.id)).mappings():
        out.append(
            Member(
                int(m["id"]),
                int(m["grid_id"]),
                int(m["user_id"]),
                m["duty"],
                m["since"],
                m["until"],
                m["assigned_by"],
                m["username"],
                m["display_name"],
            )
        )
    return out


def ancestry(conn: Connection, grid_id: int) -> list[int]:
    """The grid and its ancestors, nearest first."""
    chain: list[int] = []
    current: int | None = grid_id
    while current is not None and current not in chain:
        chain.append(current)
        current = conn.execute(select(grid.c.parent_id).where(grid.c.id == current)).scalar()
    return chain


def with_descendants(conn: Connection, grid_ids: set[int]) -> set[int]:
    """The active grids among ``grid_ids`` and all their active descendants (a recursive query)."""
    if not grid_ids:
        return set()
    g = grid.c
    tree = select(g.id).where(g.id.in_(sorted(grid_ids)), g.state == "active").cte("subtree", recursive=True)
    tree = tree.union_all(select(g.id).where(g.parent_id == tree.c.id, g.state == "active"))
    return {int(i) for i in conn.execute(select(tree.c.id)).scalars()}
