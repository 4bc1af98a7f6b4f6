"""Bulk code assignment (``codes.assign`` job): every uncoded object of a selection, in chunks.

All or nothing, as far as the data decides: before anything is written the whole selection is
checked (classes, the locator's districts, legacy ids: missing department, too long, repeated in the
selection, already mapped), and any problem fails the run with a row-level report and no code
issued. The selection is then coded in chunks of ``CHUNK`` objects in id order. Each chunk takes its
serials in a short transaction and writes its codes, registry, Beidou and crosswalk rows (and the job
checkpoint) in one more, so no chunk is ever half-coded. An interrupted run (a crash, a restart, a
lost database) keeps the chunks it committed - their codes are issued for good, never taken back or
reused - and a rerun codes what is left. On PostgreSQL ``WORKERS`` chunks are written side by side.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, String, cast, func, null, select

from citybase.domains.codes.model import Selection
from citybase.domains.codes.writing import Clock, Prepared, allocate, batch_from_rows, prepare, write
from citybase.domains.jobs import JobContext, JobFailed
from citybase.domains.objects import LifecycleState
from citybase.kernel.errors import Issue
from citybase.store import bbox_intersects
from citybase.store.counters import wkb
from citybase.store.schema import city_object, code_crosswalk

if TYPE_CHECKING:
    from citybase.domains.codes.service import CodeService

CHUNK = 50_000
WORKERS = 2
MAX_ISSUES = 200
Progress = Callable[[int, int | None], None]
Save = Callable[[Connection, int], None]


def conditions(sel: Selection) -> list[Any]:
    t = city_object
    conds: list[Any] = [t.c.code.is_(None), t.c.state != LifecycleState.RETIRED.value]
    if sel.class_code is not None:
        conds.append(t.c.class_code == sel.class_code)
    if sel.department_id is not None:
        conds.append(t.c.department_id == sel.department_id)
    if sel.bbox is not None:
        conds.append(bbox_intersects(t.c.geom, sel.bbox))
    return conds


def legacy_column(sel: Selection) -> Any:
    if not sel.legacy_attribute:
        return null()
    return cast(city_object.c.attributes[sel.legacy_attribute].as_string(), String)


def batch_query(sel: Selection, after_id: int, limit: int) -> Any:
    t = city_object
    return (
        select(t.c.id, t.c.class_code, t.c.department_id, wkb(t.c.geom), legacy_column(sel))
        .where(*conditions(sel), t.c.id > after_id)
        .order_by(t.c.id)
        .limit(limit)
    )


def precheck(svc: CodeService, conn: Connection, sel: Selection) -> list[Issue]:
    """Every reason the selection cannot be coded, found before anything is written."""
    t = city_object
    conds = conditions(sel)
    issues = list(svc.locate.problems(conn))
    known = {c.code for c in svc.classes.all()}
    for (class_code,) in conn.execute(select(t.c.class_code).where(*conds).distinct()):
        if class_code not in known:
            issues.append(Issue("class_code", f"objects of class {class_code!r}, which is not in the class table"))
    if sel.legacy_attribute:
        issues += _legacy_problems(conn, sel, conds)
    return issues


def _legacy_problems(conn: Connection, sel: Selection, conds: list[Any]) -> list[Issue]:
    t, x = city_object, code_crosswalk
    legacy = legacy_column(sel)
    field = f"attributes.{sel.legacy_attribute}"
    given = [*conds, legacy.is_not(None)]
    issues = [
        Issue(field, "has a legacy id but no owning department to map it for", r.id)
        for r in conn.execute(select(t.c.id).where(*given, t.c.department_id.is_(None)).order_by(t.c.id).limit(50))
    ]
    issues += [
        Issue(field, "legacy ids are 1-100 characters", r.id)
        for r in conn.execute(
            select(t.c.id)
            .where(*given, (func.length(legacy) > 100) | (func.length(func.trim(legacy)) == 0))
            .order_by(t.c.id)
            .limit(50)
        )
    ]
    dup = (
        select(t.c.department_id, legacy.label("legacy_id"), func.count().label("n"), func.min(t.c.id).label("first"))
        .where(*given, t.c.department_id.is_not(None))
        .group_by(t.c.department_id, legacy)
        .having(func.count() > 1)
        .limit(50)
    )
    issues += [
        Issue(field, f"department {r.department_id} legacy id {r.legacy_id!r} is held by {r.n} objects", r.first)
        for r in conn.execute(dup)
    ]
    taken = (
        select(t.c.id, x.c.legacy_id, x.c.code)
        .join(x, (x.c.department_id == t.c.department_id) & (x.c.legacy_id == legacy))
        .where(*given)
        .order_by(t.c.id)
        .limit(50)
    )
    issues += [
        Issue(field, f"legacy id {r.legacy_id!r} of its department already maps to code {r.code}", r.id)
        for r in conn.execute(taken)
    ]
    return issues


class _Tally:
    """Objects coded so far (thread-safe), reported to the progress callback after each commit."""

    def __init__(self, done: int, total: int, progress: Progress | None) -> None:
        self.done, self.total, self.progress = done, total, progress
        self.lock = threading.Lock()
        self.commit_lock = threading.Lock()
        self.timings: dict[str, float] = {}

    def add(self, n: int, timings: dict[str, float]) -> None:
        with self.lock:
            self.done += n
            for k, v in timings.items():
                self.timings[k] = self.timings.get(k, 0.0) + v
            done = self.done
        if self.progress:
            self.progress(done, self.total)


def workers_for(svc: CodeService) -> int:
    """Parallel chunk writers: PostgreSQL writes chunks side by side; SQLite has one writer anyway."""
    return max(1, svc.workers) if svc.store.name == "postgis" else 1


def run(
    svc: CodeService,
    sel: Selection,
    actor_name: str,
    checkpoint: dict[str, Any],
    progress: Progress | None = None,
    save: Save | None = None,
) -> dict[str, Any]:
    """Check, then code the selection chunk by chunk; return a summary.

    The main thread reads chunks (and locates them) while up to ``workers`` threads allocate and
    write earlier ones. Resuming needs no position: the selection is "uncoded objects", so a rerun
    codes exactly what an interrupted one left.
    """
    started = time.perf_counter()
    with svc.store.read() as conn:
        issues = precheck(svc, conn, sel)
        remaining = conn.execute(select(func.count()).select_from(city_object).where(*conditions(sel))).scalar_one()
    if issues:
        raise JobFailed(f"{len(issues)} problem(s) in the selection; no code was issued", issues=issues[:MAX_ISSUES])
    done_before = int(checkpoint.get("coded", 0))
    tally = _Tally(done_before, done_before + remaining, progress)
    tally.timings["precheck"] = time.perf_counter() - started
    if progress:
        progress(done_before, tally.total)
    workers = workers_for(svc)
    chunks, after = 0, 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="citybase-codes") as pool:
        pending: deque[Future[None]] = deque()
        try:
            while True:
                while len(pending) >= workers:
                    pending.popleft().result()
                timings: dict[str, float] = {}
                prep = _read(svc, sel, batch_query(sel, after, svc.chunk), Clock(timings))
                if prep is None:
                    break
                after, chunks = prep.batch.ids[-1], chunks + 1
                pending.append(pool.submit(_code_chunk, svc, prep, actor_name, tally, save, timings))
        finally:
            errors = [f.exception() for f in pending]
        for exc in errors:
            if exc is not None:
                raise exc
    return {
        "coded": tally.done - done_before,
        "total_coded": tally.done,
        "resumed_at": done_before,
        "chunks": chunks,
        "workers": workers,
        "seconds": {k: round(v, 3) for k, v in tally.timings.items()},
    }


def _read(svc: CodeService, sel: Selection, query: Any, clock: Clock) -> Prepared | None:
    with svc.store.read() as conn:
        rows = conn.execute(query).all()
        clock.lap("read")
        return prepare(conn, svc.locate, batch_from_rows(rows), clock) if rows else None


def _code_chunk(
    svc: CodeService, prep: Prepared, actor_name: str, tally: _Tally, save: Save | None, timings: dict[str, float]
) -> None:
    """Serials in a short transaction, then the write; its checkpoint and commit happen under the
    tally's commit lock, so the count saved with each commit is exact even when chunks finish out of
    order. Objects someone else coded meanwhile are skipped (their serials stay unused)."""
    clock = Clock(timings)
    with svc.store.write() as conn:
        coded = allocate(conn, svc.scheme, prep, clock)
    locked = False
    try:
        with svc.store.write() as conn:
            done = write(conn, svc.scheme, prep, coded, actor_name, clock, skip_taken=True)
            tally.commit_lock.acquire()
            locked = True
            if save:
                save(conn, tally.done + done)
        tally.add(done, timings)
    finally:
        if locked:
            tally.commit_lock.release()


def make_handler(svc: CodeService) -> Callable[[JobContext], dict[str, Any]]:
    def handle(ctx: JobContext) -> dict[str, Any]:
        def save(conn: Connection, coded: int) -> None:
            ctx.save_checkpoint(conn, {"coded": coded}, done=coded)

        sel = Selection.from_params(ctx.params)
        return run(
            svc,
            sel,
            str(ctx.params.get("actor") or ctx.created_by),
            ctx.checkpoint,
            lambda done, total: ctx.progress(done, total),
            save,
        )

    return handle
