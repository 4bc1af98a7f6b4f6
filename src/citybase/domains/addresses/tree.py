"""Writing the address tree: strict parent rules, display codes, versions, aliases, the revision.

Every write goes through :func:`insert_nodes` or :func:`change_node` inside the caller's write
transaction. Each changed node gets a new row in the append-only ``address_version`` table and a
fresh tree revision (what ``AddressService.changed_since`` counts).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from shapely.geometry import Point
from sqlalchemy import Connection, Engine, func, select, update

from citybase.domains.addresses.display import DisplayCodeTemplate
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue, NotFoundError
from citybase.kernel.geo import CHINA_BOUNDS
from citybase.standards import beidou
from citybase.store import bulk_load, index_geometries, reserve_ids
from citybase.store.address_tables import address_alias, address_node, address_version, allocate, allocate_many

LEVELS = (
    "province",
    "city",
    "district",
    "town",
    "community",
    "road",
    "door_number",
    "compound",
    "building",
    "unit",
    "floor",
    "room",
)
# Which levels a node of each level may hang under. A room, unit or floor always has a building above.
PARENT_LEVELS: dict[str, tuple[str, ...]] = {
    "province": (),
    "city": ("province",),
    "district": ("city",),
    "town": ("district",),
    "community": ("town",),
    "road": ("town", "community"),
    "door_number": ("road",),
    "compound": ("community", "road", "door_number"),
    "building": ("community", "road", "door_number", "compound"),
    "unit": ("building",),
    "floor": ("building", "unit"),
    "room": ("building", "unit", "floor"),
}
DIVISION_LEVELS = ("province", "city", "district", "town", "community")
GRID_LEVEL = 7  # Beidou 2D level of the grid code kept with each point (≈ 7.7 m cells)
REVISION = ("", "revision")


@dataclass(frozen=True, slots=True)
class NewNode:
    parent_id: int | None
    level: str
    name: str
    point: Point | None = None
    object_id: int | None = None
    division_code: str | None = None  # own code of a division node; others inherit the parent's
    source_id: str | None = None
    aliases: tuple[str, ...] = ()  # common names


@dataclass(slots=True)
class ParentInfo:
    id: int
    level: str
    division_code: str | None
    state: str = "active"
    names: dict[tuple[str, str], int] = field(default_factory=dict)  # children (level, name) -> id


def now() -> datetime:
    return datetime.now(UTC)


def check_name(name: Any, record: str | int | None = None, fld: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError("bad address name", issues=[Issue(fld, "must not be empty", record)])
    name = name.strip()
    if len(name) > 200:
        raise InvalidInputError("bad address name", issues=[Issue(fld, "at most 200 characters", record)])
    if any(ord(c) < 32 for c in name):
        raise InvalidInputError("bad address name", issues=[Issue(fld, "control characters are not allowed", record)])
    return name


def check_point(lon: float, lat: float, record: str | int | None = None) -> Point:
    minx, miny, maxx, maxy = CHINA_BOUNDS
    if not (np.isfinite(lon) and np.isfinite(lat)):
        raise InvalidInputError("bad coordinates", issues=[Issue("lon", "coordinates must be finite numbers", record)])
    if not (minx <= lon <= maxx and miny <= lat <= maxy):
        raise InvalidInputError(
            "bad coordinates",
            issues=[Issue("lon" if not minx <= lon <= maxx else "lat", f"({lon}, {lat}) lies outside China", record)],
        )
    return Point(lon, lat)


def check_level(level: Any, record: str | int | None = None) -> str:
    if level not in PARENT_LEVELS:
        raise InvalidInputError("bad level", issues=[Issue("level", f"{level!r} is not one of {LEVELS}", record)])
    return str(level)


def check_parent(level: str, parent: ParentInfo | None, record: str | int | None = None) -> None:
    """The tree is strict: each level hangs only under the levels of PARENT_LEVELS."""
    allowed = PARENT_LEVELS[level]
    if parent is None:
        if allowed:
            raise InvalidInputError(
                "missing parent", issues=[Issue("parent_id", f"a {level} needs a parent ({'/'.join(allowed)})", record)]
            )
        return
    if parent.state != "active":
        raise ConflictError(f"address node {parent.id} is retired; nothing new can hang under it")
    if parent.level not in allowed:
        want = "/".join(allowed) or "nothing (it is the root)"
        raise InvalidInputError(
            "wrong parent level",
            issues=[Issue("parent_id", f"a {level} hangs under {want}, not a {parent.level}", record)],
        )


def parent_info(conn: Connection, node_id: int) -> ParentInfo:
    row = conn.execute(
        select(address_node.c.id, address_node.c.level, address_node.c.division_code, address_node.c.state).where(
            address_node.c.id == node_id
        )
    ).first()
    if row is None:
        raise NotFoundError(f"no address node {node_id}")
    return ParentInfo(row.id, row.level, row.division_code, row.state)


def load_children(conn: Connection, parent: ParentInfo) -> None:
    """Fill ``parent.names`` with its active children (for find-or-create and duplicate checks)."""
    q = select(address_node.c.id, address_node.c.level, address_node.c.name).where(
        address_node.c.parent_id == parent.id, address_node.c.state == "active"
    )
    parent.names = {(r.level, r.name): r.id for r in conn.execute(q)}


# Listeners told once per write transaction that changes the tree (the platform publishes
# ``addresses.changed`` so later domains, e.g. grids, follow). Keyed by engine: one per store.
_LISTENERS: weakref.WeakKeyDictionary[Engine, list[Callable[[Connection], None]]] = weakref.WeakKeyDictionary()
_TOLD = "citybase.addresses.told"  # conn.info: the transaction whose listeners ran already


def on_tree_change(engine: Engine, listener: Callable[[Connection], None]) -> None:
    """Call ``listener(conn)`` inside every write transaction on ``engine`` that changes address nodes."""
    _LISTENERS.setdefault(engine, []).append(listener)


def take_revisions(conn: Connection, count: int) -> int:
    """``count`` consecutive tree revisions for the nodes a transaction changes; returns the first."""
    first = allocate(conn, *REVISION, count)
    listeners = _LISTENERS.get(conn.engine)
    transaction = conn.get_transaction()
    if listeners and conn.info.get(_TOLD) is not transaction:
        conn.info[_TOLD] = transaction  # the info dict outlives the transaction: keep the object, not its id
        for listener in listeners:
            listener(conn)
    return first


def _grids(points: Sequence[Point | None]) -> list[str | None]:
    idx = [i for i, p in enumerate(points) if p is not None]
    out: list[str | None] = [None] * len(points)
    if idx:
        xs = np.array([points[i].x for i in idx])  # type: ignore[union-attr]
        ys = np.array([points[i].y for i in idx])  # type: ignore[union-attr]
        for i, code in zip(idx, beidou.encode_many(xs, ys, GRID_LEVEL).tolist(), strict=True):
            out[i] = code
    return out


def insert_nodes(
    conn: Connection,
    actor_name: str,
    news: Sequence[NewNode],
    parents: dict[int, ParentInfo],
    template: DisplayCodeTemplate,
    *,
    check: bool = True,
) -> list[int]:
    """Insert new nodes (bulk); ``parents`` must hold every parent (it gains the new nodes' names).

    With ``check`` each node's level, parent level and sibling-name uniqueness are enforced; bulk
    builders that construct a correct tree by design (the demo) may skip the checks.
    """
    if not news:
        return []
    if check:
        for n in news:
            check_level(n.level)
            parent = parents.get(n.parent_id) if n.parent_id is not None else None
            check_parent(n.level, parent)
            if parent is not None and (n.level, n.name) in parent.names:
                raise ConflictError(
                    f"{parent.level} {parent.id} already has a {n.level} named {n.name!r} "
                    f"(node {parent.names[(n.level, n.name)]})"
                )
    ids = reserve_ids(conn, address_node, len(news))
    divisions = [
        n.division_code or (parents[n.parent_id].division_code if n.parent_id is not None else None) for n in news
    ]
    serial = _serials(conn, [(d or "", n.level) for d, n in zip(divisions, news, strict=True)])
    first_revision = take_revisions(conn, len(news))
    grids = _grids([n.point for n in news])
    at = now()
    rows, versions = [], []
    for i, n in enumerate(news):
        code = template.render(divisions[i], n.level, serial[i], ids[i])
        common = {
            "parent_id": n.parent_id,
            "level": n.level,
            "name": n.name,
            "division_code": divisions[i],
            "display_code": code,
            "point": n.point,
            "object_id": n.object_id,
            "grid": grids[i],
            "state": "active",
        }
        rows.append(
            {
                "id": ids[i],
                **common,
                "source_id": n.source_id,
                "version": 1,
                "revision": first_revision + i,
                "created_at": at,
                "updated_at": at,
                "updated_by": actor_name,
            }
        )
        versions.append(
            {
                "node_id": ids[i],
                "version": 1,
                **common,
                "change": "create",
                "recorded_at": at,
                "recorded_by": actor_name,
            }
        )
        if n.parent_id is not None:
            parents[n.parent_id].names[(n.level, n.name)] = ids[i]
    bulk_load(conn, address_node, rows)
    bulk_load(conn, address_version, versions)
    aliases = [
        {"node_id": ids[i], "name": a, "kind": "common", "created_at": at}
        for i, n in enumerate(news)
        for a in dict.fromkeys(n.aliases)
        if a != n.name
    ]
    if aliases:
        conn.execute(address_alias.insert(), aliases)
    return ids


def _serials(conn: Connection, keys: list[tuple[str, str]]) -> list[int]:
    """One display-code serial per key, taken in blocks per (division, level)."""
    counts: dict[tuple[str, str], int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    nxt = allocate_many(conn, dict(sorted(counts.items())))
    out = []
    for k in keys:
        out.append(nxt[k])
        nxt[k] += 1
    return out


def change_node(conn: Connection, actor_name: str, node_id: int, change: str, **values: Any) -> dict[str, Any]:
    """Apply ``values`` to a node as a new version; returns the new row as a mapping."""
    row = conn.execute(select(address_node).where(address_node.c.id == node_id)).first()
    if row is None:
        raise NotFoundError(f"no address node {node_id}")
    current = dict(row._mapping)
    if "point" in values:
        values["grid"] = _grids([values["point"]])[0]
    new = {
        **current,
        **values,
        "version": current["version"] + 1,
        "revision": take_revisions(conn, 1),
        "updated_at": now(),
        "updated_by": actor_name,
    }
    conn.execute(
        update(address_node)
        .where(address_node.c.id == node_id, address_node.c.version == current["version"])
        .values({k: new[k] for k in (*values, "version", "revision", "updated_at", "updated_by")})
    )
    if "point" in values:
        index_geometries(conn, address_node, [(node_id, values["point"])])
    version_cols = [
        c.name for c in address_version.c if c.name not in ("node_id", "change", "recorded_at", "recorded_by")
    ]
    conn.execute(
        address_version.insert().values(
            node_id=node_id,
            change=change,
            recorded_at=new["updated_at"],
            recorded_by=actor_name,
            **{c: new[c] for c in version_cols},
        )
    )
    return new


def add_alias(conn: Connection, node_id: int, name: str, kind: str) -> None:
    exists = conn.execute(
        select(func.count())
        .select_from(address_alias)
        .where(address_alias.c.node_id == node_id, address_alias.c.name == name)
    ).scalar_one()
    if not exists:
        conn.execute(address_alias.insert().values(node_id=node_id, name=name, kind=kind, created_at=now()))
