"""GridService: the grid hierarchy (网格), its members, point location and the address → grid map."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from shapely.geometry import Point
from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import IntegrityError

from citybase.domains.access import Actor, Permission, Role
from citybase.domains.grids import addressing, records
from citybase.domains.grids.index import GridIndex, Stamp, stamp
from citybase.domains.grids.model import (
    DIVISION_DIGITS,
    DUTIES,
    LEVELS,
    OUTSIDE_TOLERANCE,
    SERIAL_DIGITS,
    Grid,
    GridTree,
    Member,
    NewGrid,
    check_division_code,
    outside_share,
    polygonal,
)
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue, NotFoundError
from citybase.store import Store, rows_in
from citybase.store.grid_tables import grid, grid_member, grid_version
from citybase.store.schema import app_user

# What a member's role must allow for each duty.
DUTY_PERMISSION = {"worker": Permission.COLLECT, "reviewer": Permission.REVIEW_FIRST}


def _now() -> datetime:
    return datetime.now(UTC)


def version_row(row: dict[str, Any], change: str, at: datetime, by: str) -> dict[str, Any]:
    keys = ("parent_id", "level", "code", "name", "division_code", "geom", "state", "version")
    return {"grid_id": row["id"], **{k: row[k] for k in keys}, "change": change, "recorded_at": at, "recorded_by": by}


UnassignHook = Callable[[Connection, Actor, frozenset[int], int, str], None]


class GridService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._index: tuple[Stamp, GridIndex] | None = None
        self._on_unassign: list[UnassignHook] = []

    def on_unassign(self, hook: UnassignHook) -> None:
        """Run ``hook(conn, actor, grid_ids, user_id, duty)`` in the transaction that ends an assignment
        (``grid_ids``: the grid and its descendants); the collection loop releases the tasks it held."""
        self._on_unassign.append(hook)

    # --- the point index ---------------------------------------------------------------------------
    def index(self, conn: Connection) -> GridIndex:
        """The STRtree of the active grids, rebuilt when the grid table changed (here or elsewhere)."""
        now = stamp(conn)
        with self._lock:
            if self._index is not None and self._index[0] == now:
                return self._index[1]
        fresh = GridIndex.load(conn)
        with self._lock:
            self._index = (now, fresh)
        return fresh

    def locate(self, lon: float, lat: float) -> Grid | None:
        """The deepest active grid containing the point (lon/lat, CGCS2000)."""
        with self.store.read() as conn:
            gid = self.grid_at(conn, lon, lat)
            return None if gid is None else records.load(conn, gid, geometry=False)

    # --- reading -----------------------------------------------------------------------------------
    def grid(self, grid_id: int) -> Grid:
        with self.store.read() as conn:
            return records.load(conn, grid_id)

    def by_code(self, code: str) -> Grid:
        with self.store.read() as conn:
            gid = conn.execute(select(grid.c.id).where(grid.c.code == code)).scalar()
            if gid is None:
                raise NotFoundError(f"no grid with code {code}")
            return records.load(conn, int(gid))

    def find(
        self,
        *,
        level: str | None = None,
        parent_id: int | None = None,
        all_levels: bool = True,
        include_retired: bool = False,
        limit: int | None = None,
        code: str | None = None,
    ) -> list[Grid]:
        """Grids (without polygons) by level, parent and/or code; ``all_levels=False`` with no parent: the roots."""
        q = select(*records.LIGHT).order_by(grid.c.code)
        if code is not None:
            q = q.where(grid.c.code == code)
        if level is not None:
            if level not in LEVELS:
                raise InvalidInputError("bad filter", issues=[Issue("level", f"one of {', '.join(LEVELS)}")])
            q = q.where(grid.c.level == level)
        if parent_id is not None:
            q = q.where(grid.c.parent_id == parent_id)
        elif not all_levels:
            q = q.where(grid.c.parent_id.is_(None))
        if not include_retired:
            q = q.where(grid.c.state == "active")
        if limit is not None:
            q = q.limit(limit)
        with self.store.read() as conn:
            return [records.to_grid(m) for m in conn.execute(q).mappings()]

    def children(self, parent_id: int | None, include_retired: bool = False) -> list[Grid]:
        return self.find(parent_id=parent_id, all_levels=False, include_retired=include_retired)

    def tree(self, root_id: int | None = None, depth: int | None = None) -> list[GridTree]:
        """The active hierarchy (from ``root_id``, or from the top), ``depth`` levels deep (None: all)."""
        with self.store.read() as conn:
            rows = [
                records.to_grid(m)
                for m in conn.execute(
                    select(*records.LIGHT).where(grid.c.state == "active").order_by(grid.c.code)
                ).mappings()
            ]
        nodes = {g.id: GridTree(g) for g in rows}
        roots: list[GridTree] = []
        for node in nodes.values():
            parent = nodes.get(node.grid.parent_id) if node.grid.parent_id is not None else None
            (parent.children if parent is not None else roots).append(node)
        if root_id is not None:
            if root_id not in nodes:
                raise NotFoundError(f"no active grid {root_id}")
            roots = [nodes[root_id]]
        if depth is not None:
            _prune(roots, depth)
        return roots

    def members(self, grid_id: int, *, ended: bool = False) -> list[Member]:
        with self.store.read() as conn:
            records.load(conn, grid_id, geometry=False)
            return records.members(conn, [grid_id], ended=ended)

    def responsible(self, grid_id: int, duty: str) -> list[int]:
        """User ids with ``duty`` in the grid, or in its nearest ancestor that has any."""
        with self.store.read() as conn:
            return self.responsible_in(conn, grid_id, duty)

    def responsible_in(self, conn: Connection, grid_id: int, duty: str) -> list[int]:
        _check_duty(duty)
        gm, u = grid_member.c, app_user.c
        for gid in records.ancestry(conn, grid_id):
            q = (
                select(gm.user_id)
                .join(app_user, u.id == gm.user_id)
                .where(gm.grid_id == gid, gm.duty == duty, gm.until.is_(None), u.active.is_(True))
                .order_by(gm.since, gm.id)
            )
            found = [int(i) for i in conn.execute(q).scalars()]
            if found:
                return list(dict.fromkeys(found))
        return []

    def grids_of_user(self, user_id: int, duty: str | None = None) -> set[int]:
        """Grids where the user is an active member (of ``duty``, or any), plus all their descendants."""
        with self.store.read() as conn:
            return set(self.grids_of(conn, user_id, duty))

    # --- the collection loop's GridDirectory (domains/collect/scope.py), inside the caller's connection --
    def grid_at(self, conn: Connection, lon: float, lat: float) -> int | None:
        return self.index(conn).locate_many([Point(lon, lat)])[0]

    def grid_of_address(self, conn: Connection, node_id: int) -> int | None:
        return addressing.grid_of_address(conn, node_id)

    def worker_of(self, conn: Connection, grid_id: int) -> int | None:
        workers = self.responsible_in(conn, grid_id, "worker")
        return workers[0] if workers else None

    def grids_of(self, conn: Connection, user_id: int, duty: str | None) -> frozenset[int]:
        gm = grid_member.c
        q = select(gm.grid_id).where(gm.user_id == user_id, gm.until.is_(None))
        if duty is not None:
            q = q.where(gm.duty == _check_duty(duty))
        return frozenset(records.with_descendants(conn, {int(i) for i in conn.execute(q).scalars()}))

    def workers_in(self, conn: Connection, grid_ids: frozenset[int]) -> frozenset[int]:
        gm = grid_member.c
        q = select(gm.user_id).where(gm.duty == "worker", gm.until.is_(None))
        return frozenset(int(r.user_id) for r in rows_in(conn, q, gm.grid_id, sorted(grid_ids)))

    # --- writing -----------------------------------------------------------------------------------
    def create(self, actor: Actor, new: NewGrid) -> Grid:
        with self.store.write() as conn:
            gid = self.create_in(conn, actor, new)
            return records.load(conn, gid)

    def create_in(self, conn: Connection, actor: Actor, new: NewGrid) -> int:
        """Create a grid under its parent (strict levels, valid polygon inside the parent's)."""
        actor.require(Permission.MANAGE_GRIDS)
        record = new.code or new.name or None
        if new.level not in LEVELS:
            raise InvalidInputError("bad grid", issues=[Issue("level", f"one of {', '.join(LEVELS)}", record)])
        name = (new.name or "").strip()
        if not name or len(name) > 200:
            raise InvalidInputError("bad grid", issues=[Issue("name", "1-200 characters", record)])
        geom = polygonal(new.geom, record)
        parent = self._parent(conn, new, record)
        if parent is not None and parent.geom is not None:
            share = outside_share(geom, parent.geom)
            if share > OUTSIDE_TOLERANCE:
                raise InvalidInputError(
                    "bad grid",
                    issues=[Issue("geom", f"{share:.1%} of it lies outside its parent grid {parent.code}", record)],
                )
        if new.level in DIVISION_DIGITS:
            division = check_division_code(
                new.level, new.division_code, parent.division_code if parent else None, record
            )
            code = division
        else:
            assert parent is not None
            division = parent.division_code
            if new.division_code not in (None, "", division):
                raise InvalidInputError(
                    "bad grid",
                    issues=[
                        Issue("division_code", f"a {new.level} takes its community's division code {division}", record)
                    ],
                )
            code = self._serial_code(conn, parent, new.level)
        if new.code not in (None, "", code) and not (new.level in SERIAL_DIGITS and _serial_ok(new.code, parent)):
            raise InvalidInputError("bad grid", issues=[Issue("code", _code_rule(new.level), record)])
        code = new.code or code
        if conn.execute(select(grid.c.id).where(grid.c.code == code)).first():
            raise ConflictError(f"a grid with code {code} exists already", issues=[Issue("code", "taken", record)])
        at = _now()
        row = {
            "parent_id": parent.id if parent else None,
            "level": new.level,
            "code": code,
            "name": name,
            "division_code": division,
            "geom": geom,
            "state": "active",
            "version": 1,
            "created_at": at,
            "created_by": actor.name,
            "updated_at": at,
            "updated_by": actor.name,
        }
        try:
            row["id"] = int(conn.execute(grid.insert().values(**row).returning(grid.c.id)).scalar_one())
        except IntegrityError:  # the same code taken meanwhile by a concurrent create
            raise ConflictError(
                f"a grid with code {code} exists already", issues=[Issue("code", "taken", record)]
            ) from None
        conn.execute(grid_version.insert().values(**version_row(row, "create", at, actor.name)))
        # addresses of the parent may now lie in the new grid (a new district: any address may)
        addressing.refresh(conn, self._fresh_index(conn), [parent.id] if parent is not None else None)
        return int(row["id"])

    def retire(self, actor: Actor, grid_id: int, version: int) -> Grid:
        with self.store.write() as conn:
            self.retire_in(conn, actor, grid_id, version)
            return records.load(conn, grid_id)

    def retire_in(self, conn: Connection, actor: Actor, grid_id: int, version: int) -> None:
        """Retire a grid with no active children; its assignments end, its addresses go to the parent."""
        actor.require(Permission.MANAGE_GRIDS)
        g = records.load(conn, grid_id)
        if g.state != "active":
            raise ConflictError(f"grid {g.code} is retired already")
        if g.version != version:
            raise ConflictError(f"grid {g.code} changed (version {g.version}, you read {version}); reload it")
        kids = conn.execute(select(func.count()).where(grid.c.parent_id == grid_id, grid.c.state == "active"))
        if (n := kids.scalar_one()) > 0:
            raise ConflictError(f"grid {g.code} has {n} active child grids; retire them first")
        at = _now()
        changed = conn.execute(
            update(grid)
            .where(grid.c.id == grid_id, grid.c.version == version)
            .values(state="retired", version=version + 1, updated_at=at, updated_by=actor.name)
        )
        if changed.rowcount != 1:
            raise ConflictError(f"grid {g.code} changed meanwhile; reload it")
        row = conn.execute(select(grid).where(grid.c.id == grid_id)).mappings().one()
        conn.execute(grid_version.insert().values(**version_row(dict(row), "retire", at, actor.name)))
        conn.execute(
            update(grid_member)
            .where(grid_member.c.grid_id == grid_id, grid_member.c.until.is_(None))
            .values(until=at, ended_by=actor.name)
        )
        addressing.refresh(conn, self._fresh_index(conn), [grid_id])

    def assign(self, actor: Actor, grid_id: int, user_id: int, duty: str) -> Member:
        """Make a user a worker or reviewer of an active grid (history: assignments are never deleted)."""
        with self.store.write() as conn:
            mid = self.assign_in(conn, actor, grid_id, user_id, duty)
            return next(m for m in records.members(conn, [grid_id]) if m.id == mid)

    def assign_in(self, conn: Connection, actor: Actor, grid_id: int, user_id: int, duty: str) -> int:
        actor.require(Permission.MANAGE_GRIDS)
        _check_duty(duty)
        g = records.load(conn, grid_id, geometry=False)
        if g.state != "active":
            raise ConflictError(f"grid {g.code} is retired")
        user = conn.execute(
            select(app_user.c.role, app_user.c.active, app_user.c.username).where(app_user.c.id == user_id)
        ).first()
        if user is None:
            raise NotFoundError(f"no user {user_id}")
        if not user.active:
            raise InvalidInputError("bad member", issues=[Issue("user_id", "the user is deactivated", user_id)])
        if not Actor(user.username, "user", Role(user.role)).can(DUTY_PERMISSION[duty]):
            raise InvalidInputError(
                "bad member",
                issues=[
                    Issue(
                        "user_id", f"role {user.role} may not {DUTY_PERMISSION[duty].value} (needed as {duty})", user_id
                    )
                ],
            )
        gm = grid_member.c
        if conn.execute(
            select(gm.id).where(gm.grid_id == grid_id, gm.user_id == user_id, gm.duty == duty, gm.until.is_(None))
        ).first():
            raise ConflictError(f"user {user.username} is already {duty} of grid {g.code}")
        q = (
            grid_member.insert()
            .values(grid_id=grid_id, user_id=user_id, duty=duty, since=_now(), assigned_by=actor.name)
            .returning(gm.id)
        )
        try:
            return int(conn.execute(q).scalar_one())
        except IntegrityError:  # assigned meanwhile by someone else (the partial unique index)
            raise ConflictError(f"user {user.username} is already {duty} of grid {g.code}") from None

    def unassign(self, actor: Actor, grid_id: int, user_id: int, duty: str) -> None:
        actor.require(Permission.MANAGE_GRIDS)
        _check_duty(duty)
        gm = grid_member.c
        with self.store.write() as conn:
            done = conn.execute(
                update(grid_member)
                .where(gm.grid_id == grid_id, gm.user_id == user_id, gm.duty == duty, gm.until.is_(None))
                .values(until=_now(), ended_by=actor.name)
            )
            if done.rowcount == 0:
                raise NotFoundError(f"user {user_id} is not {duty} of grid {grid_id}")
            if self._on_unassign:
                grids = frozenset(records.with_descendants(conn, {grid_id}))
                for hook in self._on_unassign:
                    hook(conn, actor, grids, user_id, duty)

    def refresh_address_grids(self, conn: Connection | None = None) -> int:
        """Recompute the whole address → grid map (in chunks); returns the rows written."""
        if conn is not None:
            return addressing.refresh(conn, self._fresh_index(conn))
        with self.store.write() as c:
            return addressing.refresh(c, self._fresh_index(c))

    def sync_addresses(self, conn: Connection | None = None) -> int:
        """Map the address nodes created or changed since the last sync (cheap when none did).

        Call it inside a transaction that wrote address nodes (rooms, buildings) so that grid filters
        see them at once; the CLI ``grids refresh --changed`` runs it too.
        """
        if conn is not None:
            return addressing.sync(conn, self._fresh_index(conn))
        with self.store.write() as c:
            return addressing.sync(c, self._fresh_index(c))

    # --- helpers -----------------------------------------------------------------------------------
    def _fresh_index(self, conn: Connection) -> Callable[[], GridIndex]:
        return lambda: GridIndex.load(conn)  # this transaction's view, with its own uncommitted changes

    def _parent(self, conn: Connection, new: NewGrid, record: str | None) -> Grid | None:
        expected = LEVELS[LEVELS.index(new.level) - 1] if new.level != LEVELS[0] else None
        if expected is None:
            if new.parent_id is not None:
                raise InvalidInputError(
                    "bad grid", issues=[Issue("parent_id", "a district grid has no parent", record)]
                )
            return None
        if new.parent_id is None:
            raise InvalidInputError(
                "bad grid", issues=[Issue("parent_id", f"a {new.level} needs a {expected} parent", record)]
            )
        try:
            parent = records.load(conn, new.parent_id)
        except NotFoundError:
            raise InvalidInputError(
                "bad grid", issues=[Issue("parent_id", f"no grid {new.parent_id}", record)]
            ) from None
        if parent.level != expected:
            raise InvalidInputError(
                "bad grid",
                issues=[Issue("parent_id", f"a {new.level} goes under a {expected}, not a {parent.level}", record)],
            )
        if parent.state != "active":
            raise InvalidInputError("bad grid", issues=[Issue("parent_id", f"grid {parent.code} is retired", record)])
        return parent

    def _serial_code(self, conn: Connection, parent: Grid, level: str) -> str:
        digits = SERIAL_DIGITS[level]
        taken = set(conn.execute(select(grid.c.code).where(grid.c.parent_id == parent.id)).scalars())
        for serial in range(1, 10**digits):
            code = f"{parent.code}{serial:0{digits}d}"
            if code not in taken:
                return code
        raise ConflictError(f"grid {parent.code} has no free {level} serial left")


def _check_duty(duty: str) -> str:
    if duty not in DUTIES:
        raise InvalidInputError("bad member", issues=[Issue("duty", f"one of {', '.join(DUTIES)}")])
    return duty


def _serial_ok(code: str | None, parent: Grid | None) -> bool:
    if code is None or parent is None:
        return False
    rest = code[len(parent.code) :]
    return (
        code.startswith(parent.code)
        and rest.isdigit()
        and len(rest) == SERIAL_DIGITS.get(LEVELS[LEVELS.index(parent.level) + 1], 0)
        and int(rest) > 0
    )


def _code_rule(level: str) -> str:
    if level in SERIAL_DIGITS:
        return f"a {level} code is its parent's code plus {SERIAL_DIGITS[level]} serial digits"
    return f"a {level} code is its division code padded to 12 digits"


def _prune(nodes: Iterable[GridTree], depth: int) -> None:
    for n in nodes:
        if depth <= 1:
            n.children = []
        else:
            _prune(n.children, depth - 1)
