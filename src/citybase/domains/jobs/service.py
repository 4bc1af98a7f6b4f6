"""Persisted jobs for long work: progress, result, error report, resumable after a restart.

A job row is the whole truth: a runner claims a queued row with a guarded UPDATE (so two runners,
in-process or in separate worker processes, never take the same job), reports progress and
heartbeats, and saves a checkpoint *inside the transaction of each chunk it writes*, so a restarted
job resumes exactly after the last committed chunk.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from citybase.domains.access import Actor, Permission
from citybase.kernel.errors import (
    AuthenticationError,
    CityBaseError,
    ConflictError,
    InvalidInputError,
    Issue,
    NotFoundError,
)
from citybase.store import Store
from citybase.store.schema import job

log = logging.getLogger(__name__)

STATES = ("queued", "running", "succeeded", "failed", "cancelled")
STALE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    params: dict[str, Any]
    state: str
    done: int
    total: int | None
    message: str | None
    result: dict[str, Any] | None
    errors: list[dict[str, Any]] | None
    checkpoint: dict[str, Any] | None
    attempts: int
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None


class JobCancelled(Exception):
    pass


class JobContext:
    """What a handler sees: its params, where it left off, and ways to report."""

    def __init__(self, store: Store, row: Job) -> None:
        self.store = store
        self.job_id = row.id
        self.params = row.params
        self.checkpoint: dict[str, Any] = dict(row.checkpoint or {})
        self.created_by = row.created_by

    def progress(self, done: int, total: int | None = None, message: str | None = None) -> None:
        values: dict[str, Any] = {"done": done, "heartbeat_at": datetime.now(UTC)}
        if total is not None:
            values["total"] = total
        if message is not None:
            values["message"] = message
        with self.store.write() as conn:
            state = conn.execute(select(job.c.state).where(job.c.id == self.job_id)).scalar_one()
            conn.execute(update(job).where(job.c.id == self.job_id).values(**values))
        if state == "cancelled":
            raise JobCancelled()

    def save_checkpoint(self, conn: Connection, checkpoint: dict[str, Any], done: int | None = None) -> None:
        """Record where to resume, in the same transaction as the chunk the handler just wrote."""
        values: dict[str, Any] = {"checkpoint": checkpoint, "heartbeat_at": datetime.now(UTC)}
        if done is not None:
            values["done"] = done
        conn.execute(update(job).where(job.c.id == self.job_id).values(**values))
        self.checkpoint = dict(checkpoint)


class JobFailed(CityBaseError):
    """Raised by a handler to fail with a row-level error report."""

    title = "Job failed"


Handler = Callable[[JobContext], dict[str, Any]]


class JobService:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.handlers: dict[str, Handler] = {}
        self._wake = threading.Event()

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    def submit(self, actor: Actor, kind: str, params: dict[str, Any]) -> Job:
        actor.require(Permission.RUN_JOBS)
        if kind not in self.handlers:
            raise InvalidInputError(
                "unknown job kind", issues=[Issue("kind", f"{kind!r} is not one of {sorted(self.handlers)}")]
            )
        with self.store.write() as conn:
            new_id = conn.execute(
                job.insert().values(
                    kind=kind,
                    params=params,
                    state="queued",
                    done=0,
                    attempts=0,
                    created_by=actor.name,
                    created_at=datetime.now(UTC),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        self._wake.set()
        return self.get(int(new_id))

    def get(self, job_id: int) -> Job:
        with self.store.read() as conn:
            row = conn.execute(select(job).where(job.c.id == job_id)).first()
        if row is None:
            raise NotFoundError(f"no job {job_id}")
        return Job(**row._mapping)

    def visible_to(self, actor: Actor, job_id: int) -> Job:
        """A job as its caller may see it: platform admins see every job, others their own."""
        found = self.get(job_id)
        if not actor.can(Permission.MANAGE_DEPARTMENTS) and found.created_by != actor.name:
            raise NotFoundError(f"no job {job_id}")
        return found

    def list(
        self, *, state: str | None = None, kind: str | None = None, limit: int = 50, actor: Actor | None = None
    ) -> list[Job]:
        """Recent jobs; with ``actor`` only those the actor may see (anonymous callers see none)."""
        if actor is not None and actor.kind == "anonymous":
            raise AuthenticationError("log in to see jobs")
        q = select(job).order_by(job.c.id.desc()).limit(limit)
        if actor is not None and not actor.can(Permission.MANAGE_DEPARTMENTS):
            q = q.where(job.c.created_by == actor.name)
        if state:
            q = q.where(job.c.state == state)
        if kind:
            q = q.where(job.c.kind == kind)
        with self.store.read() as conn:
            return [Job(**r._mapping) for r in conn.execute(q)]

    def cancel(self, actor: Actor, job_id: int) -> Job:
        actor.require(Permission.RUN_JOBS)
        self.visible_to(actor, job_id)
        with self.store.write() as conn:
            n = conn.execute(
                update(job)
                .where(job.c.id == job_id, job.c.state.in_(("queued", "running")))
                .values(state="cancelled", finished_at=datetime.now(UTC))
            ).rowcount
        if not n:
            current = self.get(job_id)
            raise ConflictError(f"job {job_id} is {current.state}; only queued or running jobs can be cancelled")
        return self.get(job_id)

    # --- running -----------------------------------------------------------------------------------
    def requeue_stale(self, now: datetime | None = None) -> int:
        """Put running jobs whose worker stopped heartbeating back in the queue (resume from checkpoint)."""
        cutoff = (now or datetime.now(UTC)) - STALE_AFTER
        with self.store.write() as conn:
            return int(
                conn.execute(
                    update(job)
                    .where(job.c.state == "running", job.c.heartbeat_at < cutoff)
                    .values(state="queued", message="resumed after an interrupted run")
                ).rowcount
            )

    def claim_next(self) -> Job | None:
        with self.store.write() as conn:
            row = conn.execute(select(job.c.id).where(job.c.state == "queued").order_by(job.c.id).limit(1)).first()
            if row is None:
                return None
            now = datetime.now(UTC)
            claimed = conn.execute(
                update(job)
                .where(job.c.id == row.id, job.c.state == "queued")
                .values(state="running", started_at=now, heartbeat_at=now, attempts=job.c.attempts + 1)
            ).rowcount
        return self.get(row.id) if claimed else None

    def run_one(self) -> Job | None:
        """Claim and run one queued job in this thread; return it finished, or None if the queue is empty."""
        claimed = self.claim_next()
        if claimed is None:
            return None
        ctx = JobContext(self.store, claimed)
        values: dict[str, Any]
        try:
            result = self.handlers[claimed.kind](ctx)
            values = {"state": "succeeded", "result": result, "message": "done"}
        except JobCancelled:
            return self.get(claimed.id)
        except CityBaseError as exc:
            values = {"state": "failed", "message": exc.detail, "errors": [i.as_dict() for i in exc.issues]}
        except Exception as exc:  # a bug in a handler must not kill the runner
            log.exception("job %s failed", claimed.id)
            values = {
                "state": "failed",
                "message": f"internal error: {exc}",
                "errors": [{"field": "-", "reason": traceback.format_exc(limit=3)}],
            }
        with self.store.write() as conn:
            conn.execute(
                update(job)
                .where(job.c.id == claimed.id, job.c.state == "running")
                .values(finished_at=datetime.now(UTC), **values)
            )
        return self.get(claimed.id)

    def run_pending(self) -> int:
        n = 0
        while self.run_one() is not None:
            n += 1
        return n


class JobRunner:
    """In-process worker threads. A separate worker process would run the same loop."""

    def __init__(self, service: JobService, workers: int = 1, poll_seconds: float = 2.0) -> None:
        self.service = service
        self.workers = workers
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self.service.requeue_stale()
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"citybase-job-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if self.service.run_one() is None:
                    self.service._wake.wait(self.poll_seconds)
                    self.service._wake.clear()
            except Exception:
                log.exception("job runner loop error")
                self._stop.wait(self.poll_seconds)

    def stop(self) -> None:
        self._stop.set()
        self.service._wake.set()
        for t in self._threads:
            t.join(timeout=10)
        self._threads.clear()
