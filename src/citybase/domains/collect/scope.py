"""Who may see and act on which task: grids for workers and street reviewers, kinds for departments.

The grid hierarchy belongs to the grids domain; the loop reaches it through :class:`GridDirectory`,
which the platform wires to the grid service (``NoGrids`` until then: every task is unassigned and
visible to every street reviewer).
"""

from __future__ import annotations

from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, false, or_, true

from citybase.domains.access import Actor, Permission, Role
from citybase.domains.collect.model import Task
from citybase.kernel.errors import AuthenticationError, PermissionDeniedError
from citybase.store.collect_tables import collect_task


class GridDirectory(Protocol):
    def grid_at(self, conn: Connection, lon: float, lat: float) -> int | None:
        """The finest grid containing the point."""

    def grid_of_address(self, conn: Connection, node_id: int) -> int | None:
        """The grid of a standard address node (or of its nearest ancestor with a grid)."""

    def worker_of(self, conn: Connection, grid_id: int) -> int | None:
        """The user id of the grid's responsible worker, if any."""

    def grids_of(self, conn: Connection, user_id: int, duty: str) -> frozenset[int]:
        """Grids the user is responsible for with ``duty`` (worker | reviewer), with all their descendants."""

    def workers_in(self, conn: Connection, grid_ids: frozenset[int]) -> frozenset[int]:
        """User ids of the current workers of any of ``grid_ids``."""


class NoGrids:
    def grid_at(self, conn: Connection, lon: float, lat: float) -> int | None:
        return None

    def grid_of_address(self, conn: Connection, node_id: int) -> int | None:
        return None

    def worker_of(self, conn: Connection, grid_id: int) -> int | None:
        return None

    def grids_of(self, conn: Connection, user_id: int, duty: str) -> frozenset[int]:
        return frozenset()

    def workers_in(self, conn: Connection, grid_ids: frozenset[int]) -> frozenset[int]:
        return frozenset()


def is_manager(actor: Actor) -> bool:
    """The system and platform admins see and may do everything."""
    return actor.kind == "system" or actor.role == Role.PLATFORM_ADMIN


class Scope:
    def __init__(self, grids: GridDirectory) -> None:
        self.grids = grids

    def visible(self, conn: Connection, actor: Actor) -> ColumnElement[Any]:
        """A WHERE clause on ``collect_task``: the tasks ``actor`` may see."""
        if actor.kind == "anonymous":
            raise AuthenticationError("log in to see collection tasks")
        actor.require(Permission.READ)
        if is_manager(actor):
            return true()
        t = collect_task.c
        clauses: list[ColumnElement[Any]] = []
        if actor.user_id is not None and actor.can(Permission.COLLECT):
            clauses.append(t.assignee_id == actor.user_id)
            mine = self.grids.grids_of(conn, actor.user_id, "worker")
            if mine:
                clauses.append(t.grid_id.in_(sorted(mine)))
        if actor.user_id is not None and actor.can(Permission.REVIEW_FIRST):
            street = self.grids.grids_of(conn, actor.user_id, "reviewer")
            clauses.append(t.grid_id.is_(None))  # not located in any grid: every street may pick it up
            if street:
                clauses.append(t.grid_id.in_(sorted(street)))
        if actor.department_id is not None and actor.can(Permission.REVIEW_SECOND):
            clauses.append(t.department_id == actor.department_id)
        return or_(*clauses) if clauses else false()

    def may(self, conn: Connection, actor: Actor, task: Task, duty: str) -> bool:
        if is_manager(actor):
            return True
        if duty == "reviewer":
            return self.may(conn, actor, task, "first") or self.may(conn, actor, task, "second")
        if duty == "manager":
            return self.may(conn, actor, task, "first")
        if duty == "worker":
            if not actor.can(Permission.COLLECT) or actor.user_id is None:
                return False
            if task.assignee_id == actor.user_id:
                return True
            if task.grid_id is not None and task.grid_id in self.grids.grids_of(conn, actor.user_id, "worker"):
                return True
            # department collectors (部门采集员) collect for their own department's kinds
            return actor.department_id is not None and task.department_id == actor.department_id
        if duty == "first":
            if not actor.can(Permission.REVIEW_FIRST) or actor.user_id is None:
                return False
            return task.grid_id is None or task.grid_id in self.grids.grids_of(conn, actor.user_id, "reviewer")
        if duty == "second":
            return (
                actor.can(Permission.REVIEW_SECOND)
                and actor.department_id is not None
                and task.department_id == actor.department_id
            )
        raise ValueError(duty)

    def require(self, conn: Connection, actor: Actor, task: Task, duty: str, action: str) -> None:
        if self.may(conn, actor, task, duty):
            return
        who = {
            "worker": "the grid worker of its grid",
            "first": "a street reviewer (初审) of its grid",
            "second": "a reviewer (复审) of its department",
            "reviewer": "a reviewer of its street or department",
            "manager": "a street reviewer of its grid",
        }[duty]
        raise PermissionDeniedError(f"only {who} may {action} task {task.id}")
