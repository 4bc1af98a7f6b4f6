"""The append-only audit log: writes, and every read of personal data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from citybase.domains.access.roles import Actor, Permission
from citybase.store import Store
from citybase.store.schema import audit_log


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    actor_kind: str
    department_id: int | None
    action: str
    target_type: str
    target_id: str | None
    purpose: str | None
    detail: dict[str, Any] | None


def record_audit(
    conn: Connection,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | None = None,
    *,
    purpose: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry inside the caller's transaction, so the entry and the change commit together."""
    conn.execute(
        audit_log.insert().values(
            at=datetime.now(UTC),
            actor=actor.name,
            actor_kind=actor.kind,
            department_id=actor.department_id,
            action=action,
            target_type=target_type,
            target_id=target_id,
            purpose=purpose,
            detail=detail,
        )
    )


def audit_entries(
    store: Store,
    actor: Actor,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    actor.require(Permission.READ_AUDIT)
    q = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit).offset(offset)
    if not actor.can(Permission.MANAGE_DEPARTMENTS):
        q = q.where(audit_log.c.department_id == actor.department_id)
    if target_type:
        q = q.where(audit_log.c.target_type == target_type)
    if target_id:
        q = q.where(audit_log.c.target_id == target_id)
    if action:
        q = q.where(audit_log.c.action == action)
    with store.read() as conn:
        return [AuditEntry(**r._mapping) for r in conn.execute(q)]
