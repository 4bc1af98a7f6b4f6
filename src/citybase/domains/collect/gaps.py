"""The errors-and-gaps list (错误、缺漏数据库): open tasks per grid or department, by kind and by age."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, func, select

from citybase.domains.collect.model import OPEN_STATES, GapRow
from citybase.store.collect_tables import collect_task
from citybase.store.grid_tables import grid
from citybase.store.schema import department

AGES = ("le_7d", "d8_30", "gt_30d")


def gap_rows(conn: Connection, visible: ColumnElement[Any], by: str, now: datetime) -> list[GapRow]:
    t = collect_task.c
    key = t.grid_id if by == "grid" else t.department_id
    week, month = now - timedelta(days=7), now - timedelta(days=30)
    age = case((t.created_at >= week, "le_7d"), (t.created_at >= month, "d8_30"), else_="gt_30d")
    q = (
        select(key.label("key"), t.kind, age.label("age"), func.count().label("n"))
        .where(visible, t.state.in_(OPEN_STATES))
        .group_by(key, t.kind, age)
    )
    rows: dict[int | None, GapRow] = {}
    for r in conn.execute(q):
        k = None if r.key is None else int(r.key)
        row = rows.get(k)
        if row is None:
            row = rows[k] = GapRow(by, k, 0, {}, dict.fromkeys(AGES, 0))
        n = int(r.n)
        row.by_kind[r.kind] = row.by_kind.get(r.kind, 0) + n
        row.ages[r.age] += n
        rows[k] = GapRow(by, k, row.total + n, row.by_kind, row.ages)
    names = _names(conn, by, [k for k in rows if k is not None])
    out = [GapRow(g.scope, g.id, g.total, g.by_kind, g.ages, names.get(g.id)) for g in rows.values()]
    return sorted(out, key=lambda g: (-g.total, g.id if g.id is not None else -1))


def _names(conn: Connection, by: str, ids: list[int]) -> dict[int | None, str]:
    if not ids:
        return {}
    table = grid if by == "grid" else department
    q = select(table.c.id, table.c.name).where(table.c.id.in_(ids))
    return {int(r.id): str(r.name) for r in conn.execute(q)}
