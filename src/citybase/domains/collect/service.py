"""The collection loop (采集 → 初审 → 复审): create, assign by grid, submit, review twice, apply.

A task is created (by a person, a QR scan report, an unmatched address or a quality rule), located in
a grid and given to the grid's worker. The worker submits what was collected on site; a street
reviewer approves it (初审) or returns it with a reason; a reviewer of the task's department accepts
it (复审) — the kind's applier makes the change in the same transaction as the state change — or
returns or rejects it. Every step checks permission and scope and the ``version`` the caller read.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shapely.geometry import Point
from sqlalchemy import Connection, func, select, update

from citybase.domains.access import Actor, Permission, record_audit
from citybase.domains.collect import checks, dispatch
from citybase.domains.collect.model import (
    DEPARTMENT_OF,
    NEEDS_REASON,
    OPEN_STATES,
    STATES,
    TRANSITIONS,
    Applier,
    GapRow,
    Task,
)
from citybase.domains.collect.scope import GridDirectory, NoGrids, Scope, is_manager
from citybase.domains.collect.store_io import add_event, last_reasons, load, task_of
from citybase.kernel.errors import ConflictError, PermissionDeniedError
from citybase.store import Store
from citybase.store.address_tables import address_node
from citybase.store.collect_tables import collect_task
from citybase.store.schema import department

REVIEWS = ("approve", "accept", "return", "reject")  # four eyes: never by the one who collected
MAX_OPEN_SCANS_PER_ADDRESS = 5  # open citizen reports per address: a flood stops here
PAST = {"submit": "submitted", "approve": "approved", "accept": "accepted", "return": "returned",
        "reject": "rejected", "cancel": "cancelled"}  # fmt: skip


class CollectService:
    def __init__(
        self,
        store: Store,
        grids: GridDirectory | None = None,
        departments: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.scope = Scope(grids or NoGrids())
        self.departments = dict(departments or DEPARTMENT_OF)
        self._appliers: dict[str, Applier] = {}

    # --- wiring ------------------------------------------------------------------------------------
    def use_grids(self, grids: GridDirectory) -> None:
        self.scope = Scope(grids)

    def register_applier(self, kind: str, fn: Applier) -> None:
        """Make ``fn(conn, actor, payload) -> dict`` apply accepted tasks of ``kind`` (last one wins)."""
        self._appliers[checks.check_kind(kind, "applier")] = fn

    def appliers(self) -> list[str]:
        return sorted(self._appliers)

    # --- creating ----------------------------------------------------------------------------------
    def create_task(
        self,
        actor: Actor,
        *,
        kind: str,
        title: str,
        detail: dict[str, Any] | None = None,
        source: str = "person",
        source_ref: str | None = None,
        address_node_id: int | None = None,
        point: tuple[float, float] | None = None,
        due_at: datetime | None = None,
    ) -> Task:
        with self.store.write() as conn:
            task_id = self.create_in(
                conn, actor, kind=kind, title=title, detail=detail, source=source, source_ref=source_ref,
                address_node_id=address_node_id, point=point, due_at=due_at,
            )  # fmt: skip
            return load(conn, task_id, with_events=True)

    def create_in(
        self,
        conn: Connection,
        actor: Actor,
        *,
        kind: str,
        title: str,
        detail: dict[str, Any] | None = None,
        source: str = "person",
        source_ref: str | None = None,
        address_node_id: int | None = None,
        point: tuple[float, float] | None = None,
        due_at: datetime | None = None,
    ) -> int:
        """Create a task inside the caller's transaction, located and assigned by grid; returns its id."""
        kind, source, title = checks.check_kind(kind), checks.check_source(source), checks.check_title(title)
        self._may_create(actor, source)
        limit = checks.MAX_ANONYMOUS_DETAIL_BYTES if actor.kind == "anonymous" else checks.MAX_DETAIL_BYTES
        detail = checks.check_doc(detail, "detail", "task", limit)
        lonlat, due_at = checks.check_point(point), checks.check_due(due_at)
        if address_node_id is not None:
            node = conn.execute(select(address_node.c.point).where(address_node.c.id == address_node_id)).first()
            if node is None:
                raise checks.bad("task", "address_node_id", f"no standard address {address_node_id}")
            if lonlat is None and node.point is not None:
                lonlat = (node.point.x, node.point.y)
        if source == "scan" and address_node_id is not None:
            self._limit_scans(conn, address_node_id)
        grid_id = self._locate(conn, address_node_id, lonlat)
        now = datetime.now(UTC)
        values = {
            "kind": kind, "title": title, "detail": detail, "collected": None, "source": source,
            "source_ref": (source_ref or None) and source_ref[:200], "address_node_id": address_node_id,
            "point": Point(*lonlat) if lonlat else None, "grid_id": grid_id,
            "department_id": self._department(conn, kind),
            "assignee_id": self.scope.grids.worker_of(conn, grid_id) if grid_id is not None else None,
            "state": "open", "version": 1, "created_at": now, "created_by": actor.name[:100],
            "updated_at": now, "updated_by": actor.name[:100], "due_at": due_at,
        }  # fmt: skip
        task_id = int(conn.execute(collect_task.insert().values(**values)).inserted_primary_key[0])  # type: ignore[index]
        add_event(conn, task_id, now, actor.name, "create", None, "open", detail={"source": source})
        return task_id

    def _may_create(self, actor: Actor, source: str) -> None:
        if source == "scan":
            return  # a citizen's report from the public door-plate page
        if source in ("match", "rule"):
            actor.require(Permission.RUN_JOBS)
            return
        if not any(actor.can(p) for p in (Permission.COLLECT, Permission.REVIEW_FIRST, Permission.REVIEW_SECOND)):
            actor.require(Permission.COLLECT)  # raises with the usual message

    def _limit_scans(self, conn: Connection, node_id: int) -> None:
        t = collect_task.c
        n = conn.execute(
            select(func.count()).where(t.address_node_id == node_id, t.source == "scan", t.state.in_(OPEN_STATES))
        ).scalar_one()
        if n >= MAX_OPEN_SCANS_PER_ADDRESS:
            raise ConflictError(f"address {node_id} already has {n} open reports; they are being handled")

    def _locate(self, conn: Connection, node_id: int | None, lonlat: tuple[float, float] | None) -> int | None:
        grids = self.scope.grids
        grid = grids.grid_of_address(conn, node_id) if node_id is not None else None
        if grid is None and lonlat is not None:
            grid = grids.grid_at(conn, *lonlat)
        return grid

    def _department(self, conn: Connection, kind: str) -> int | None:
        code = self.departments.get(kind.split(".", 1)[0])
        if code is None:
            return None
        return conn.execute(select(department.c.id).where(department.c.code == code)).scalar()

    # --- reading -----------------------------------------------------------------------------------
    def list_tasks(
        self,
        actor: Actor,
        *,
        mine: bool = False,
        state: str | None = None,
        queue: str | None = None,
        grid_id: int | None = None,
        kind: str | None = None,
        limit: int = 100,
        after_id: int = 0,
    ) -> tuple[list[Task], int]:
        """Visible tasks in id order (``after_id`` pages on) and how many match in all.

        ``queue``: ``first`` — submitted tasks awaiting 初审; ``second`` — approved ones awaiting 复审.
        """
        t = collect_task.c
        with self.store.read() as conn:
            where = [self.scope.visible(conn, actor)]
            if state is not None:
                if state not in STATES:
                    raise checks.bad("query", "state", f"{state!r} is not one of {', '.join(STATES)}")
                where.append(t.state == state)
            if queue is not None:
                queues = {"first": "submitted", "second": "first_approved", "open": None}
                if queue not in queues:
                    raise checks.bad("query", "queue", f"{queue!r} is not one of first, second, open")
                where.append(t.state == queues[queue] if queues[queue] else t.state.in_(OPEN_STATES))
            if mine:
                where.append(t.assignee_id == actor.user_id)
            if grid_id is not None:
                where.append(t.grid_id == grid_id)
            if kind is not None:
                where.append(t.kind == checks.check_kind(kind, "query"))
            q = select(collect_task).where(*where, t.id > after_id).order_by(t.id).limit(max(1, min(limit, 1000)))
            rows = conn.execute(q).all()
            reasons = last_reasons(conn, [int(r.id) for r in rows if r.state in ("returned", "rejected", "cancelled")])
            tasks = [task_of(r._mapping, reason=reasons.get(int(r.id))) for r in rows]
            total = int(conn.execute(select(func.count()).select_from(collect_task).where(*where)).scalar_one())
        return tasks, total

    def get(self, actor: Actor, task_id: int) -> Task:
        """One task with its events; a task outside the caller's grids or department is refused."""
        with self.store.read() as conn:
            task = load(conn, task_id, with_events=True)
            seen = conn.execute(
                select(collect_task.c.id).where(collect_task.c.id == task_id, self.scope.visible(conn, actor))
            ).first()
        if seen is None:
            raise PermissionDeniedError(f"task {task_id} is outside your grids and department")
        return task

    # --- the flow ----------------------------------------------------------------------------------
    def submit(self, actor: Actor, task_id: int, *, version: int, collected: dict[str, Any]) -> Task:
        return self.act(actor, task_id, "submit", version=version, collected=collected)

    def act(
        self,
        actor: Actor,
        task_id: int,
        action: str,
        *,
        version: int,
        reason: str | None = None,
        collected: dict[str, Any] | None = None,
    ) -> Task:
        """Move a task on by ``action`` (submit, approve, accept, return, reject, cancel)."""
        record = f"task {task_id}"
        if action not in TRANSITIONS:
            raise checks.bad(record, "action", f"{action!r} is not one of {', '.join(TRANSITIONS)}")
        if action in NEEDS_REASON:
            reason = checks.check_reason(reason, action, record)
        if action == "submit":
            collected = checks.check_doc(collected, "collected", record)
        from_states, to_state, duty = TRANSITIONS[action]
        with self.store.write() as conn:
            task = load(conn, task_id, with_events=action in REVIEWS)
            if action in ("return", "reject"):
                duty = {"submitted": "first", "first_approved": "second"}.get(task.state, "reviewer")
            self.scope.require(conn, actor, task, duty, action)
            if action in REVIEWS and not is_manager(actor) and _collected_by(task) == actor.name:
                raise PermissionDeniedError(f"you collected task {task_id}; another person must review it")
            if task.state not in from_states:
                raise ConflictError(
                    f"task {task_id} is already {task.state}; only a {' or '.join(from_states)} task can be "
                    f"{PAST[action]}"
                )
            if version != task.version:
                raise ConflictError(
                    f"task {task_id} has changed (version {task.version}, you sent {version}); reload it"
                )
            result = self._apply(conn, actor, task) if action == "accept" else None
            self._move(conn, actor, task, action, str(to_state), reason, collected, result)
            return load(conn, task_id, with_events=True)

    def reassign(self, actor: Actor, task_id: int, *, version: int, assignee_id: int | None, reason: str) -> Task:
        """Give an open or returned task to another collector, or back to its grid's pool (``dispatch``)."""
        with self.store.write() as conn:
            return dispatch.reassign(
                conn, self.scope, actor, task_id, version=version, assignee_id=assignee_id, reason=reason
            )

    def release_in(self, conn: Connection, actor: Actor, grid_ids: frozenset[int], user_id: int, duty: str) -> None:
        """A member left grids ``grid_ids``: a worker's open tasks there move on (``dispatch.release``)."""
        if duty == "worker":
            dispatch.release(conn, self.scope, actor, grid_ids, user_id)

    def assignees(self, actor: Actor, task_id: int) -> list[dict[str, Any]]:
        """Who ``actor`` may reassign the task to (``dispatch.candidates``)."""
        with self.store.read() as conn:
            return dispatch.candidates(conn, self.scope, actor, task_id)

    def _apply(self, conn: Connection, actor: Actor, task: Task) -> dict[str, Any] | None:
        fn = self._appliers.get(task.kind)
        if fn is None:
            return None  # a verification task: accepting it records the check, nothing else changes
        payload = {**task.detail, **(task.collected or {}), "task_id": task.id}
        payload.setdefault("address_node_id", task.address_node_id)
        result = fn(conn, actor, payload)
        record_audit(conn, actor, "collect.apply", "collect_task", str(task.id), detail={"kind": task.kind})
        return result

    def _move(
        self,
        conn: Connection,
        actor: Actor,
        task: Task,
        action: str,
        to_state: str,
        reason: str | None,
        collected: dict[str, Any] | None,
        result: dict[str, Any] | None,
    ) -> None:
        now = datetime.now(UTC)
        values: dict[str, Any] = {
            "state": to_state, "version": task.version + 1, "updated_at": now, "updated_by": actor.name[:100],
        }  # fmt: skip
        if action == "submit":
            values["collected"] = collected
            if task.assignee_id is None and actor.user_id is not None:
                values["assignee_id"] = actor.user_id  # an unassigned task belongs to whoever collected it
        n = conn.execute(
            update(collect_task)
            .where(collect_task.c.id == task.id, collect_task.c.version == task.version)
            .values(**values)
        ).rowcount
        if n != 1:
            raise ConflictError(f"task {task.id} changed while you worked on it; reload it")
        detail = {"result": result} if result is not None else ({"collected": collected} if collected else None)
        add_event(conn, task.id, now, actor.name, action, task.state, to_state, reason, detail)

    # --- the errors-and-gaps list ------------------------------------------------------------------
    def gaps(self, actor: Actor, *, by: str = "grid", now: datetime | None = None) -> list[GapRow]:
        """Open tasks per grid (or per department): counts by kind and by age (≤7 d, 8–30 d, >30 d)."""
        from citybase.domains.collect.gaps import gap_rows

        if by not in ("grid", "department"):
            raise checks.bad("query", "by", f"{by!r} is not one of grid, department")
        with self.store.read() as conn:
            return gap_rows(conn, self.scope.visible(conn, actor), by, now or datetime.now(UTC))

    def open_refs(self, conn: Connection, prefix: str) -> set[str]:
        """``source_ref`` values starting with ``prefix`` of tasks not cancelled or accepted (idempotent sources)."""
        t = collect_task.c
        q = select(t.source_ref).where(t.source_ref.startswith(prefix), t.state.not_in(("cancelled", "accepted")))
        return {r[0] for r in conn.execute(q)}


def _collected_by(task: Task) -> str | None:
    return next((e.actor for e in reversed(task.events) if e.action == "submit"), None)
