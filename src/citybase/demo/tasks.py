"""Demo city: some collection tasks in several grids and states, built last.

Door plates in ``grid_worker1``'s grids get tasks in every state of the loop (open, submitted,
approved by ``reviewer1`` and awaiting 民政 ``mzj_user``'s 复审, returned with a reason); a citizen
report by scan lands in ``grid_worker2``'s grids; quality rules and the address review queue add
theirs. Some tasks are back-dated so the errors-and-gaps list shows every ageing bucket.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from citybase.domains.access import ANONYMOUS, SYSTEM, Actor
from citybase.domains.collect import run_rules, tasks_from_address_review
from citybase.domains.grids import nodes_in_grids
from citybase.kernel.errors import NotFoundError
from citybase.store.address_tables import address_node
from citybase.store.collect_tables import collect_task

Tell = Callable[[str, int, int | None], None]
PER_WORKER = 6
RULE_LIMIT = 20


def _actor(platform: Any, username: str) -> Actor | None:
    try:
        u = platform.access.user(username)
    except NotFoundError:
        return None
    return Actor(u.username, "user", u.role, u.department_id, u.id)


def _nodes(
    platform: Any, user: Actor | None, duty: str, levels: tuple[str, ...], n: int, rng: random.Random
) -> list[tuple[int, str]]:
    """Up to ``n`` address nodes (id, name) of ``levels`` in the user's grids, picked by the seed."""
    if user is None or user.user_id is None:
        return []
    grids = platform.grids.grids_of_user(user.user_id, duty)
    if not grids:
        return []
    a = address_node.c
    q = select(a.id, a.name).where(a.level.in_(levels), a.state == "active", a.id.in_(nodes_in_grids(grids)))
    with platform.store.read() as conn:
        rows = [(int(r.id), str(r.name)) for r in conn.execute(q.order_by(a.level, a.id).limit(500))]
    return rng.sample(rows, min(n, len(rows)))


def _plates(platform: Any, worker: Actor | None, reviewer: Actor | None, rng: random.Random) -> list[tuple[int, str]]:
    """Door plates of the worker's grids, topped up from the rest of the reviewer's street."""
    plates = _nodes(platform, worker, "worker", ("door_number",), PER_WORKER, rng)
    more = _nodes(platform, reviewer, "reviewer", ("door_number",), PER_WORKER * 2, rng)
    plates += [p for p in more if p not in plates]
    return plates[:PER_WORKER]


def build_tasks(platform: Any, seed: int, tell: Tell) -> dict[str, int]:
    rng = random.Random(seed + 6)
    c = platform.collect
    worker, reviewer = _actor(platform, "grid_worker1"), _actor(platform, "reviewer1")
    made: list[int] = []
    steps = ["submitted", "first_approved", "returned", "reassigned", "first_approved", "open"]
    for (node_id, name), step in zip(_plates(platform, worker, reviewer, rng), steps, strict=False):
        number = "".join(ch for ch in name if ch.isdigit()) or "1"
        new_name = f"{int(number) + 100}号"
        t = c.create_task(SYSTEM, kind="address.rename", title=f"门牌变更：{name} → {new_name}",
                          detail={"reported": f"现场门牌为{new_name}"}, address_node_id=node_id)  # fmt: skip
        made.append(t.id)
        collector = worker if worker is not None and t.assignee_id == worker.user_id else SYSTEM
        if step == "reassigned" and reviewer is not None:  # the street moves it to another of its collectors
            others = [a for a in c.assignees(reviewer, t.id) if not a["assigned"]]
            if others:
                c.reassign(reviewer, t.id, version=t.version, assignee_id=others[0]["id"], reason="原网格员休假，改派")
            continue
        if step == "open" or reviewer is None:
            continue
        t = c.submit(collector, t.id, version=t.version, collected={"name": new_name})
        if step == "first_approved":
            c.act(reviewer, t.id, "approve", version=t.version)
        elif step == "returned":
            c.act(reviewer, t.id, "return", version=t.version, reason="请补拍门牌照片")
    levels = ("door_number", "building")
    for kind, title in (("house.update", "房屋用途核实（住改商）"), ("people.move_in", "新迁入住户登记")):
        for node_id, name in _nodes(platform, reviewer, "reviewer", ("building",), 1, rng):
            made.append(c.create_task(SYSTEM, kind=kind, title=f"{title}：{name}", address_node_id=node_id).id)
    scans = _nodes(platform, _actor(platform, "grid_worker2"), "worker", levels, 2, rng)
    scans = scans or _nodes(platform, _actor(platform, "reviewer2"), "reviewer", levels, 2, rng)
    for node_id, name in scans:
        t = c.create_task(ANONYMOUS, kind="address.report", source="scan", title=f"扫码上报·门牌错误：{name}",
                          detail={"description": "门牌字迹模糊"}, address_node_id=node_id)  # fmt: skip
        made.append(t.id)
    created = sum(r.created for r in run_rules(c, SYSTEM, limit=RULE_LIMIT))
    created += tasks_from_address_review(c, SYSTEM, limit=RULE_LIMIT)
    _age(platform, made, rng)
    tell("tasks", len(made) + created, len(made) + created)
    return {"tasks": len(made) + created}


def _age(platform: Any, ids: list[int], rng: random.Random) -> None:
    """Back-date a third of the tasks to 8–30 days and a sixth beyond 30 days (the ageing buckets)."""
    now = datetime.now(UTC)
    with platform.store.write() as conn:
        for i, task_id in enumerate(ids):
            days = 0 if i % 3 else rng.randint(8, 30) if i % 2 else rng.randint(31, 90)
            if days:
                at = now - timedelta(days=days)
                conn.execute(update(collect_task).where(collect_task.c.id == task_id).values(created_at=at))
