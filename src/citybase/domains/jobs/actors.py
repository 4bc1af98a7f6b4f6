"""Who a job acts for: the submitting caller is written into the job's params and rebuilt when it runs
(possibly in another process, after a restart)."""

from __future__ import annotations

from typing import Any

from citybase.domains.access import Actor, Role
from citybase.domains.jobs.service import JobContext


def actor_params(actor: Actor) -> dict[str, Any]:
    """The caller as job params (its name is the job's ``created_by``)."""
    return {
        "role": actor.role.value if actor.role else None,
        "actor_kind": actor.kind,
        "department_id": actor.department_id,
        "user_id": actor.user_id,
    }


def job_actor(ctx: JobContext) -> Actor:
    """The caller a job was submitted by, from :func:`actor_params`."""
    p = ctx.params
    return Actor(
        name=ctx.created_by,
        kind=p.get("actor_kind", "user"),
        role=Role(p["role"]) if p.get("role") else None,
        department_id=p.get("department_id"),
        user_id=p.get("user_id"),
    )
