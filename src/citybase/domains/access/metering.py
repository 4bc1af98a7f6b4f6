"""Call metering: count and latency per day x API key x department x route.

Calls are counted in memory and written in batches (an upsert that adds), so metering never puts a
database write on the request path. ``flush`` runs on a timer, before every metering read and at
shutdown.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from citybase.domains.access.roles import Actor, Permission
from citybase.kernel.errors import PermissionDeniedError
from citybase.store import Store, upsert_add
from citybase.store.schema import api_call_daily


@dataclass(frozen=True, slots=True)
class CallStats:
    day: date
    api_key_id: int | None
    department_id: int | None
    route: str
    method: str
    calls: int
    errors: int
    mean_ms: float
    max_ms: float


_Key = tuple[date, int, int, str, str]


class Meter:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._pending: dict[_Key, list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])

    def record(
        self,
        *,
        api_key_id: int | None,
        department_id: int | None,
        route: str,
        method: str,
        ms: float,
        error: bool,
        when: datetime | None = None,
    ) -> None:
        day = (when or datetime.now(UTC)).date()
        key = (day, api_key_id or 0, department_id or 0, route, method)
        with self._lock:
            acc = self._pending[key]
            acc[0] += 1
            acc[1] += int(error)
            acc[2] += ms
            acc[3] = max(acc[3], ms)

    def flush(self) -> int:
        with self._lock:
            pending, self._pending = self._pending, defaultdict(lambda: [0, 0, 0.0, 0.0])
        rows = [
            {
                "day": k[0],
                "api_key_id": k[1],
                "department_id": k[2],
                "route": k[3],
                "method": k[4],
                "calls": int(v[0]),
                "errors": int(v[1]),
                "total_ms": v[2],
                "max_ms": v[3],
            }
            for k, v in pending.items()
        ]
        if rows:
            with self.store.write() as conn:
                upsert_add(conn, api_call_daily, rows, add=("calls", "errors", "total_ms"), maximum=("max_ms",))
        return len(rows)

    def daily(
        self,
        actor: Actor,
        *,
        start: date | None = None,
        end: date | None = None,
        department_id: int | None = None,
        api_key_id: int | None = None,
        route: str | None = None,
    ) -> list[CallStats]:
        """Per-day rows; a department admin sees only their own department's calls."""
        actor.require(Permission.READ_METERING)
        if not actor.can(Permission.MANAGE_DEPARTMENTS):
            if department_id not in (None, actor.department_id):
                raise PermissionDeniedError("you may read the metering of your own department only")
            department_id = actor.department_id
        self.flush()
        t = api_call_daily
        q = select(t).order_by(t.c.day, t.c.route, t.c.method)
        if start:
            q = q.where(t.c.day >= start)
        if end:
            q = q.where(t.c.day <= end)
        if department_id is not None:
            q = q.where(t.c.department_id == department_id)
        if api_key_id is not None:
            q = q.where(t.c.api_key_id == api_key_id)
        if route:
            q = q.where(t.c.route == route)
        with self.store.read() as conn:
            return [
                CallStats(
                    day=r.day,
                    api_key_id=r.api_key_id or None,
                    department_id=r.department_id or None,
                    route=r.route,
                    method=r.method,
                    calls=r.calls,
                    errors=r.errors,
                    mean_ms=r.total_ms / r.calls if r.calls else 0.0,
                    max_ms=r.max_ms,
                )
                for r in conn.execute(q)
            ]

    def totals_by_department(self, actor: Actor, day: date | None = None) -> dict[int | None, int]:
        actor.require(Permission.READ_METERING)
        self.flush()
        t = api_call_daily
        q = select(t.c.department_id, func.sum(t.c.calls)).group_by(t.c.department_id)
        if day:
            q = q.where(t.c.day == day)
        if not actor.can(Permission.MANAGE_DEPARTMENTS):
            q = q.where(t.c.department_id == actor.department_id)
        with self.store.read() as conn:
            return {(r[0] or None): int(r[1]) for r in conn.execute(q)}
