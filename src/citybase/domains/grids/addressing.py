"""``address_grid``: the deepest grid of every address node at community level and below.

A node with a point goes to the deepest active grid covering the point. A node without one (rooms,
floors, most units) takes its parent's grid, which is its nearest ancestor's point; levels are done
top down, so the parent's row is always written first. A node that still has no grid (its point lies
outside every grid, or no ancestor has a point) falls back to the community grid of its division code.
A community node itself always maps to its community's grid (its point is only a label position).

Address changes reach the map through :func:`sync` (``GridService.sync_addresses``): the nodes whose
tree revision is newer than the last sync are recomputed, with the point-less nodes below them.

Other domains filter by grid with :func:`nodes_in_grids` (a SELECT of node ids to use in ``IN``) or
:func:`node_ids_in_grids`; combine it with ``GridService.grids_of_user`` for "my grids only".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Select, delete, func, select, update

from citybase.domains.addresses import LEVELS as ADDRESS_LEVELS
from citybase.domains.grids.index import GridIndex
from citybase.store.address_tables import address_node
from citybase.store.grid_tables import address_grid, grid
from citybase.store.schema import platform_meta

# community, road, door_number, compound, building, unit, floor, room: top down, parents first
SCOPE_LEVELS = ADDRESS_LEVELS[ADDRESS_LEVELS.index("community") :]
CHUNK = 10_000
SYNCED_KEY = "grids.address_revision"  # platform_meta: the address tree revision address_grid is at


def nodes_in_grids(grid_ids: Iterable[int]) -> Select[Any]:
    """SELECT of the address node ids whose deepest grid is one of ``grid_ids``.

    Pass the grids *with* their descendants (``GridService.grids_of_user`` does) — each node is
    mapped to its deepest grid only. Use as ``table.c.address_node_id.in_(nodes_in_grids(ids))``.
    """
    return select(address_grid.c.address_node_id).where(address_grid.c.grid_id.in_(sorted(set(grid_ids))))


def node_ids_in_grids(conn: Connection, grid_ids: Iterable[int]) -> set[int]:
    return {int(i) for i in conn.execute(nodes_in_grids(grid_ids)).scalars()}


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _community_grids(conn: Connection) -> dict[str, int]:
    g = grid.c
    rows = conn.execute(
        select(g.division_code, g.id).where(g.level == "community", g.state == "active").order_by(g.id.desc())
    )
    return {r.division_code: int(r.id) for r in rows}


def _level_batches(conn: Connection, level: str, only: Sequence[int] | None) -> Iterator[list[Any]]:
    n = address_node.c
    cols = (n.id, n.parent_id, n.point, n.division_code)
    base = select(*cols).where(n.level == level, n.state == "active")
    if only is not None:
        for part in _chunks(only, CHUNK):
            rows = conn.execute(base.where(n.id.in_(list(part))).order_by(n.id)).all()
            if rows:
                yield list(rows)
        return
    last = 0
    while True:
        rows = conn.execute(base.where(n.id > last).order_by(n.id).limit(CHUNK)).all()
        if not rows:
            return
        yield list(rows)
        last = int(rows[-1].id)


def refresh(conn: Connection, load_index: Callable[[], GridIndex], scope: Iterable[int] | None = None) -> int:
    """Recompute ``address_grid`` (all of it, or the nodes now mapped to the grids in ``scope``).

    Runs in the caller's transaction, a chunk of nodes at a time; returns the rows written.
    ``load_index`` is called only when there is something to locate.
    """
    only: list[int] | None = None
    revision = _tree_revision(conn)  # read first: nodes changed meanwhile are left to the next sync
    if scope is None:
        conn.execute(delete(address_grid))
    else:
        grid_ids = sorted(set(scope))
        only = sorted(node_ids_in_grids(conn, grid_ids))
        for part in _chunks(only, CHUNK):
            conn.execute(delete(address_grid).where(address_grid.c.address_node_id.in_(list(part))))
        if not only:
            return 0
    index = load_index()
    communities = _community_grids(conn)
    written = 0
    for level in SCOPE_LEVELS:
        for rows in _level_batches(conn, level, only):
            written += _map_rows(conn, level, rows, index, communities)
    if scope is None:
        _set_revision(conn, revision)
    return written


def _map_rows(conn: Connection, level: str, rows: Sequence[Any], index: GridIndex, communities: dict[str, int]) -> int:
    """Write the ``address_grid`` rows of these nodes of one level (their parents' rows are current)."""
    located = index.locate_many([r.point for r in rows if r.point is not None])
    by_point = iter(located)
    parents = {int(r.parent_id) for r in rows if r.point is None and r.parent_id is not None}
    parent_grid = _grids_of(conn, parents)
    out = []
    for r in rows:
        gid = next(by_point) if r.point is not None else parent_grid.get(r.parent_id)
        if level == "community" or (gid is None and r.division_code):
            gid = communities.get(r.division_code, gid)
        if gid is not None:
            out.append({"address_node_id": int(r.id), "grid_id": gid})
    if out:
        conn.execute(address_grid.insert(), out)
    return len(out)


# --- catching up with address changes ------------------------------------------------------------


def _tree_revision(conn: Connection) -> int:
    return int(conn.execute(select(func.max(address_node.c.revision))).scalar() or 0)


def _synced_revision(conn: Connection) -> int:
    value = conn.execute(select(platform_meta.c.value).where(platform_meta.c.key == SYNCED_KEY)).scalar()
    return int(value.get("revision", 0)) if isinstance(value, dict) else 0


def _set_revision(conn: Connection, revision: int) -> None:
    value = {"revision": revision}
    if conn.execute(update(platform_meta).where(platform_meta.c.key == SYNCED_KEY).values(value=value)).rowcount == 0:
        conn.execute(platform_meta.insert().values(key=SYNCED_KEY, value=value))


def sync(conn: Connection, load_index: Callable[[], GridIndex]) -> int:
    """Map the address nodes created or changed since the last sync (and the point-less nodes below them).

    Uses the address tree's revision (every node change takes a new one); cheap when nothing changed.
    Returns the nodes recomputed.
    """
    since, upto = _synced_revision(conn), _tree_revision(conn)
    if upto <= since:
        return 0
    if since == 0:  # never mapped: the full run is cheaper than a list of every node
        return refresh(conn, load_index)
    n = address_node.c
    changed = {
        int(i) for i in conn.execute(select(n.id).where(n.revision > since, n.level.in_(SCOPE_LEVELS))).scalars()
    }
    index: GridIndex | None = None
    communities = _community_grids(conn)
    cols = (n.id, n.parent_id, n.point, n.division_code, n.state)
    done: set[int] = set()
    frontier: set[int] = set()  # nodes recomputed so far: their point-less children follow them
    for level in SCOPE_LEVELS:
        rows: dict[int, Any] = {}
        for part in _chunks(sorted(changed), CHUNK):
            rows.update({r.id: r for r in conn.execute(select(*cols).where(n.level == level, n.id.in_(list(part))))})
        for part in _chunks(sorted(frontier), CHUNK):
            q = select(*cols).where(n.level == level, n.parent_id.in_(list(part)), n.point.is_(None))
            rows.update({r.id: r for r in conn.execute(q)})
        ids = sorted(rows)
        for part in _chunks(ids, CHUNK):
            conn.execute(delete(address_grid).where(address_grid.c.address_node_id.in_(list(part))))
        live = [rows[i] for i in ids if rows[i].state == "active"]
        if live:
            index = index or load_index()
            _map_rows(conn, level, live, index, communities)
        frontier |= set(ids)
        done |= set(ids)
    _set_revision(conn, upto)
    return len(done)


def _grids_of(conn: Connection, node_ids: set[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for part in _chunks(sorted(node_ids), CHUNK):
        q = select(address_grid.c.address_node_id, address_grid.c.grid_id).where(
            address_grid.c.address_node_id.in_(list(part))
        )
        out.update({int(a): int(g) for a, g in conn.execute(q)})
    return out


def grid_of_address(conn: Connection, node_id: int) -> int | None:
    """The grid of an address node, or of its nearest ancestor that has one."""
    current: int | None = node_id
    for _ in range(len(ADDRESS_LEVELS) + 1):
        if current is None:
            return None
        found = conn.execute(select(address_grid.c.grid_id).where(address_grid.c.address_node_id == current)).scalar()
        if found is not None:
            return int(found)
        current = conn.execute(select(address_node.c.parent_id).where(address_node.c.id == current)).scalar()
    return None
