"""Demo city: management grids from its divisions, and the grid workers and street reviewers.

Every district, street and community object becomes a grid; communities are split into grids and
micro-grids (``domains/grids/generate.py``). Accounts (password ``DEMO_PASSWORD``):

- ``grid_worker1`` works the grids of the busiest community of 真武山街道 (most standard addresses),
  ``reviewer1`` reviews on the 真武山街道 street grid;
- ``grid_worker2`` / ``reviewer2`` do the same in 古城街道, so role tests can show that one worker
  does not see another's grids;
- ``gw_<grid code>``: one worker for each grid of the other communities that have buildings, at most
  ``MAX_GRID_WORKERS`` (each account costs a password hash).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from citybase.domains.access import SYSTEM
from citybase.domains.grids import generate_from_communities
from citybase.kernel.errors import NotFoundError
from citybase.store.address_tables import address_node

Tell = Callable[[str, int, int | None], None]
STREETS = {"1": ("420602001", "zwsjd"), "2": ("420602002", None)}  # 真武山街道, 古城街道
MAX_GRID_WORKERS = 40


def build_grids(platform: Any, seed: int, tell: Tell) -> dict[str, int]:
    with platform.store.write() as conn:
        made = generate_from_communities(conn, SYSTEM, tell)
        busy = _busy_communities(conn)
    members = 0
    taken: set[str] = set()
    for n, (street, _dept) in STREETS.items():
        street_grid = _grid(platform, street.ljust(12, "0"))
        if street_grid is None:
            continue
        community = next((c for c in busy if c.startswith(street)), None) or _first_child(platform, street_grid)
        members += _assign(platform, f"reviewer{n}", [street_grid], "reviewer")
        if community is not None:
            taken.add(community)
            members += _assign(platform, f"grid_worker{n}", _grids_of_community(platform, community), "worker")
    members += _grid_workers(platform, [c for c in busy if c not in taken])
    return {"grids": sum(v for k, v in made.items() if k != "address_grid"), "grid_members": members}


def _busy_communities(conn: Any) -> list[str]:
    """Community division codes with buildings, busiest first (most address nodes)."""
    n = address_node.c
    q = (
        select(n.division_code, func.count())
        .where(n.level == "building", n.division_code.is_not(None))
        .group_by(n.division_code)
        .order_by(func.count().desc(), n.division_code)
    )
    # a building straight under a town or district carries that division's code: not a community
    return [str(code) for code, _ in conn.execute(q) if len(str(code)) == 12 and not str(code).endswith("000")]


def _grid(platform: Any, code: str) -> int | None:
    try:
        return int(platform.grids.by_code(code).id)
    except NotFoundError:
        return None


def _first_child(platform: Any, grid_id: int) -> str | None:
    kids = platform.grids.children(grid_id)
    return kids[0].code if kids else None


def _grids_of_community(platform: Any, community_code: str) -> list[int]:
    cid = _grid(platform, community_code)
    return [] if cid is None else [g.id for g in platform.grids.children(cid)]


def _user_id(platform: Any, username: str) -> int | None:
    try:
        return int(platform.access.user(username).id)
    except NotFoundError:
        return None


def _assign(platform: Any, username: str, grid_ids: list[int], duty: str) -> int:
    uid = _user_id(platform, username)
    if uid is None:
        return 0
    for gid in grid_ids:
        platform.grids.assign(SYSTEM, gid, uid, duty)
    return len(grid_ids)


def _grid_workers(platform: Any, communities: list[str]) -> int:
    from citybase.demo.build import DEMO_PASSWORD  # build imports this module

    made = 0
    for community in communities:
        found = platform.grids.find(level="community", limit=1, code=community)
        for g in platform.grids.children(found[0].id) if found else []:
            if made >= MAX_GRID_WORKERS:
                return made
            username = f"gw_{g.code}"
            dept = next((d for s, d in STREETS.values() if g.code.startswith(s)), None)
            uid = _user_id(platform, username)
            if uid is None:
                uid = platform.access.create_user(
                    SYSTEM, username, DEMO_PASSWORD, "grid_worker", dept, f"{g.name}网格员"
                ).id
            platform.grids.assign(SYSTEM, g.id, uid, "worker")
            made += 1
    return made
