"""Personal-data grants: a platform admin lets one department read unmasked personal data, for a stated
purpose, over all people (scope ``all``) or the residents of one address subtree (``node:<id>``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from citybase.domains.access import Actor, Permission, record_audit
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue, NotFoundError
from citybase.store import Store
from citybase.store.people_tables import personal_data_grant
from citybase.store.schema import department

SCOPE_ALL = "all"


def check_scope(scope: Any) -> str:
    if scope == SCOPE_ALL:
        return SCOPE_ALL
    if isinstance(scope, str) and scope.startswith("node:") and scope[5:].isdigit():
        return scope
    raise InvalidInputError(
        "bad grant scope", issues=[Issue("scope", f"{scope!r} is neither 'all' nor 'node:<address node id>'", "grant")]
    )


def grant_json(m: Any) -> dict[str, Any]:
    return {
        "id": m.id,
        "department_id": m.department_id,
        "scope": m.scope,
        "purpose": m.purpose,
        "granted_by": m.granted_by,
        "granted_at": m.granted_at.isoformat(),
        "revoked_by": m.revoked_by,
        "revoked_at": m.revoked_at.isoformat() if m.revoked_at else None,
        "active": m.revoked_at is None,
    }


def active_scopes(conn: Connection, department_id: int | None) -> list[str]:
    """The scopes of a department's active grants (empty for no department)."""
    if department_id is None:
        return []
    g = personal_data_grant.c
    q = select(g.scope).where(g.department_id == department_id, g.revoked_at.is_(None))
    return [str(s) for s in conn.execute(q).scalars()]


class GrantService:
    def __init__(self, store: Store) -> None:
        self.store = store

    def grant(self, actor: Actor, department_id: int, scope: str, purpose: str) -> dict[str, Any]:
        actor.require(Permission.MANAGE_DEPARTMENTS)  # platform admins only
        scope = check_scope(scope)
        if not isinstance(purpose, str) or not purpose.strip():
            raise InvalidInputError("missing purpose", issues=[Issue("purpose", "a grant needs a purpose", "grant")])
        with self.store.write() as conn:
            if conn.execute(select(department.c.id).where(department.c.id == department_id)).first() is None:
                raise InvalidInputError(
                    "unknown department", issues=[Issue("department_id", f"no department {department_id}", "grant")]
                )
            row = conn.execute(
                personal_data_grant.insert()
                .values(
                    department_id=department_id,
                    scope=scope,
                    purpose=purpose.strip()[:500],
                    granted_by=actor.name,
                    granted_at=datetime.now(UTC),
                )
                .returning(*personal_data_grant.c)
            ).one()
            record_audit(
                conn,
                actor,
                "personal_grant.create",
                "personal_data_grant",
                str(row.id),
                purpose=purpose,
                detail={"department_id": department_id, "scope": scope},
            )
            return grant_json(row)

    def revoke(self, actor: Actor, grant_id: int) -> dict[str, Any]:
        actor.require(Permission.MANAGE_DEPARTMENTS)
        g = personal_data_grant.c
        with self.store.write() as conn:
            row = conn.execute(select(personal_data_grant).where(g.id == grant_id)).first()
            if row is None:
                raise NotFoundError(f"no personal-data grant {grant_id}")
            if row.revoked_at is not None:
                raise ConflictError(f"personal-data grant {grant_id} was revoked already")
            conn.execute(
                update(personal_data_grant)
                .where(g.id == grant_id)
                .values(revoked_at=datetime.now(UTC), revoked_by=actor.name)
            )
            record_audit(conn, actor, "personal_grant.revoke", "personal_data_grant", str(grant_id))
            return grant_json(conn.execute(select(personal_data_grant).where(g.id == grant_id)).one())

    def list(self, actor: Actor, department_id: int | None = None) -> list[dict[str, Any]]:
        """Platform admins see every grant; a department sees its own."""
        g = personal_data_grant.c
        q = select(personal_data_grant).order_by(g.id)
        if not actor.can(Permission.MANAGE_DEPARTMENTS):
            actor.require(Permission.READ)
            department_id = actor.department_id if actor.department_id is not None else -1
        if department_id is not None:
            q = q.where(g.department_id == department_id)
        with self.store.read() as conn:
            return [grant_json(r) for r in conn.execute(q)]
