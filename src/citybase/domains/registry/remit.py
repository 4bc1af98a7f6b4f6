"""Who may see which people, masked or in full (docs/population.md, "Who sees what").

- Everyone signed in with ``read`` sees masked people, except a grid worker, who sees (even masked) only
  the people living in their own grids.
- Full values (with a stated purpose, every read audited): platform admins by role; a department (user
  or API key) by an active personal-data grant covering the person; a grid worker for the people
  living in their own grids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, false, select

from citybase.domains.access import Actor, Permission, Role
from citybase.domains.grids import nodes_in_grids
from citybase.domains.registry.grants import SCOPE_ALL, active_scopes
from citybase.domains.registry.subtree import ancestors, subtree_cte
from citybase.kernel.errors import AuthenticationError, PermissionDeniedError
from citybase.store.people_tables import person, residence

GridsOfUser = Callable[[int], Iterable[int]]


@dataclass(frozen=True, slots=True)
class Remit:
    grid_ids: frozenset[int] | None  # a grid worker's grids; None: not limited to grids

    def person_filter(self) -> Any:
        """A WHERE clause on ``person.id`` for the people this caller may see (None: everyone)."""
        if self.grid_ids is None:
            return None
        if not self.grid_ids:
            return false()
        return person.c.id.in_(self.open_in_grids())

    def open_in_grids(self) -> Any:
        r = residence.c
        # grids_of_user includes each grid's descendants; address_grid holds each node's deepest grid
        nodes = nodes_in_grids(self.grid_ids or ())
        return select(r.person_id).where(r.move_out.is_(None), r.address_node_id.in_(nodes))


def remit_of(actor: Actor, grids_of_user: GridsOfUser | None) -> Remit:
    if actor.kind == "anonymous":
        raise AuthenticationError("log in or send an API key to see the population registry")
    actor.require(Permission.READ)
    if actor.role == Role.GRID_WORKER and actor.kind != "system":
        grids = grids_of_user(actor.user_id) if grids_of_user is not None and actor.user_id is not None else ()
        return Remit(frozenset(int(g) for g in grids))
    return Remit(None)


def home_of(conn: Connection, person_id: int) -> int | None:
    r = residence.c
    q = select(r.address_node_id).where(r.person_id == person_id, r.move_out.is_(None))
    node = conn.execute(q).scalar()
    return int(node) if node is not None else None


def unmask_basis(conn: Connection, actor: Actor, remit: Remit, person_id: int) -> str:
    """Why this caller may read the person in full ("role", "grant:<scope>", "grid"), or raise."""
    if actor.can(Permission.READ_PERSONAL):
        return "role"
    if remit.grid_ids is not None:
        if remit.grid_ids and conn.execute(remit.open_in_grids().where(residence.c.person_id == person_id)).first():
            return "grid"
        raise PermissionDeniedError(f"person {person_id} does not live in your grids")
    scopes = active_scopes(conn, actor.department_id)
    if SCOPE_ALL in scopes:
        return f"grant:{SCOPE_ALL}"
    node_scopes = [s for s in scopes if s.startswith("node:")]
    home = home_of(conn, person_id) if node_scopes else None
    if home is not None:
        above = {f"node:{n}" for n in ancestors(conn, home)}
        for scope in node_scopes:
            if scope in above:
                return f"grant:{scope}"
    raise PermissionDeniedError(
        "your department holds no personal-data grant covering this person; you see masked data only"
    )


def may_search_names(conn: Connection, actor: Actor, remit: Remit) -> Any:
    """Name search is for callers who may read personal data: returns the extra WHERE clause on person ids
    (None: no limit), or raises for everyone else."""
    if actor.can(Permission.READ_PERSONAL):
        return None
    if remit.grid_ids is not None:
        return remit.person_filter()
    scopes = active_scopes(conn, actor.department_id)
    if SCOPE_ALL in scopes:
        return None
    nodes = [int(s[5:]) for s in scopes if s.startswith("node:")]
    if not nodes:
        raise PermissionDeniedError("searching people by name needs personal-data access (role, grant or grid)")
    sub = subtree_cte(nodes, "grant_scope")
    r = residence.c
    return person.c.id.in_(select(r.person_id).where(r.move_out.is_(None), r.address_node_id.in_(select(sub.c.id))))
