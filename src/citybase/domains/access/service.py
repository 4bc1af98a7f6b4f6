"""Departments, users, login sessions and API keys."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from citybase.domains.access.audit import record_audit
from citybase.domains.access.roles import Actor, Permission, Role
from citybase.domains.access.secrets import hash_password, hash_token, new_token, verify_password
from citybase.kernel.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    Issue,
    NotFoundError,
    PermissionDeniedError,
)
from citybase.store import Store
from citybase.store.schema import api_key, app_user, department, login_session

_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,31}$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
API_KEY_PREFIX = "cbk"


@dataclass(frozen=True, slots=True)
class Department:
    id: int
    code: str
    name: str
    name_en: str | None
    division_code: str | None


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    department_id: int | None
    active: bool


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    prefix: str
    name: str
    role: Role
    department_id: int
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    key: ApiKey
    secret: str  # the full key, shown once and never stored


def _now() -> datetime:
    return datetime.now(UTC)


def _role(value: str, field: str = "role") -> Role:
    try:
        return Role(value)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise InvalidInputError("unknown role", issues=[Issue(field, f"{value!r} is not one of {allowed}")]) from None


class AccessService:
    def __init__(self, store: Store, session_hours: int = 12) -> None:
        self.store = store
        self.session_hours = session_hours

    # --- departments ---------------------------------------------------------------------------
    def create_department(
        self, actor: Actor, code: str, name: str, name_en: str | None = None, division_code: str | None = None
    ) -> Department:
        actor.require(Permission.MANAGE_DEPARTMENTS)
        if not _CODE.match(code):
            raise InvalidInputError(
                "bad department code", issues=[Issue("code", "2-32 characters: lower-case letters, digits, '-' or '_'")]
            )
        if not name.strip():
            raise InvalidInputError("bad department", issues=[Issue("name", "must not be empty")])
        with self.store.write() as conn:
            try:
                new_id = conn.execute(
                    department.insert().values(
                        code=code,
                        name=name.strip(),
                        name_en=name_en,
                        division_code=division_code,
                        created_at=_now(),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            except IntegrityError:
                raise ConflictError(f"department {code!r} exists already") from None
            record_audit(conn, actor, "department.create", "department", str(new_id), detail={"code": code})
        return self.department(code)

    def departments(self) -> list[Department]:
        with self.store.read() as conn:
            return [
                Department(**r._mapping)
                for r in conn.execute(
                    select(
                        department.c.id,
                        department.c.code,
                        department.c.name,
                        department.c.name_en,
                        department.c.division_code,
                    ).order_by(department.c.id)
                )
            ]

    def department(self, code_or_id: str | int) -> Department:
        col = department.c.id if isinstance(code_or_id, int) else department.c.code
        with self.store.read() as conn:
            row = conn.execute(
                select(
                    department.c.id,
                    department.c.code,
                    department.c.name,
                    department.c.name_en,
                    department.c.division_code,
                ).where(col == code_or_id)
            ).first()
        if row is None:
            raise NotFoundError(f"no department {code_or_id!r}")
        return Department(**row._mapping)

    # --- users -----------------------------------------------------------------------------------
    def create_user(
        self,
        actor: Actor,
        username: str,
        password: str,
        role: str,
        department_code: str | None,
        display_name: str | None = None,
    ) -> User:
        actor.require(Permission.MANAGE_USERS)
        the_role = _role(role)
        issues = []
        if not _USERNAME.match(username):
            issues.append(Issue("username", "2-64 characters: letters, digits, '_', '.', '@' or '-'"))
        if len(password) < 8:
            issues.append(Issue("password", "at least 8 characters"))
        if issues:
            raise InvalidInputError("bad user", issues=issues)
        dept = self.department(department_code) if department_code else None
        # A department admin manages users of their own department, and never makes admins of the platform.
        outside_own = dept is None or dept.id != actor.department_id or the_role == Role.PLATFORM_ADMIN
        if not actor.can(Permission.MANAGE_DEPARTMENTS) and outside_own:
            raise PermissionDeniedError("department admins manage users of their own department only")
        with self.store.write() as conn:
            try:
                new_id = conn.execute(
                    app_user.insert().values(
                        username=username,
                        display_name=display_name or username,
                        password_hash=hash_password(password),
                        role=the_role.value,
                        department_id=dept.id if dept else None,
                        active=True,
                        created_at=_now(),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]
            except IntegrityError:
                raise ConflictError(f"user {username!r} exists already") from None
            record_audit(conn, actor, "user.create", "user", str(new_id), detail={"username": username, "role": role})
        return self.user(username)

    def user(self, username: str) -> User:
        with self.store.read() as conn:
            row = conn.execute(select(app_user).where(app_user.c.username == username)).first()
        if row is None:
            raise NotFoundError(f"no user {username!r}")
        return _user(row._mapping)

    def users(self, actor: Actor) -> list[User]:
        actor.require(Permission.MANAGE_USERS)
        q = select(app_user).order_by(app_user.c.id)
        if not actor.can(Permission.MANAGE_DEPARTMENTS):
            q = q.where(app_user.c.department_id == actor.department_id)
        with self.store.read() as conn:
            return [_user(r._mapping) for r in conn.execute(q)]

    # --- sessions --------------------------------------------------------------------------------
    def login(self, username: str, password: str) -> tuple[str, User]:
        """Check a password and open a session; returns the bearer token (shown once) and the user."""
        with self.store.read() as conn:
            row = conn.execute(select(app_user).where(app_user.c.username == username)).first()
        if row is None or not row.active or not verify_password(password, row.password_hash):
            raise AuthenticationError("wrong username or password")
        token = new_token()
        now = _now()
        with self.store.write() as conn:
            conn.execute(
                login_session.insert().values(
                    token_hash=hash_token(token),
                    user_id=row.id,
                    created_at=now,
                    expires_at=now + timedelta(hours=self.session_hours),
                )
            )
        return token, _user(row._mapping)

    def logout(self, token: str) -> None:
        with self.store.write() as conn:
            conn.execute(
                update(login_session).where(login_session.c.token_hash == hash_token(token)).values(expires_at=_now())
            )

    def actor_for_token(self, token: str) -> Actor:
        """Resolve a bearer value: an API key (``cbk_…``) or a login session token."""
        if token.startswith(API_KEY_PREFIX + "_"):
            return self._actor_for_api_key(token)
        with self.store.read() as conn:
            row = conn.execute(
                select(app_user, login_session.c.expires_at)
                .join(login_session, login_session.c.user_id == app_user.c.id)
                .where(login_session.c.token_hash == hash_token(token))
            ).first()
        if row is None or row.expires_at <= _now() or not row.active:
            raise AuthenticationError("session expired or unknown; log in again")
        return Actor(
            name=row.username, kind="user", role=Role(row.role), department_id=row.department_id, user_id=row.id
        )

    # --- API keys --------------------------------------------------------------------------------
    def issue_api_key(
        self, actor: Actor, department_code: str, name: str, role: str = "department_user"
    ) -> IssuedApiKey:
        actor.require(Permission.MANAGE_API_KEYS)
        the_role = _role(role)
        dept = self.department(department_code)
        if not actor.can(Permission.MANAGE_DEPARTMENTS) and (
            dept.id != actor.department_id or the_role == Role.PLATFORM_ADMIN
        ):
            raise PermissionDeniedError("department admins issue keys for their own department only")
        prefix = new_token(6)[:8].replace("-", "x").replace("_", "y")
        secret = f"{API_KEY_PREFIX}_{prefix}_{new_token(24)}"
        with self.store.write() as conn:
            new_id = conn.execute(
                api_key.insert().values(
                    prefix=prefix,
                    key_hash=hash_token(secret),
                    name=name,
                    role=the_role.value,
                    department_id=dept.id,
                    created_by=actor.user_id,
                    created_at=_now(),
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            record_audit(conn, actor, "api_key.issue", "api_key", str(new_id), detail={"name": name, "prefix": prefix})
        return IssuedApiKey(self._api_key(new_id), secret)

    def revoke_api_key(self, actor: Actor, key_id: int) -> ApiKey:
        actor.require(Permission.MANAGE_API_KEYS)
        key = self._api_key(key_id)
        if not actor.can(Permission.MANAGE_DEPARTMENTS) and key.department_id != actor.department_id:
            raise PermissionDeniedError("department admins revoke keys of their own department only")
        with self.store.write() as conn:
            conn.execute(
                update(api_key).where(api_key.c.id == key_id, api_key.c.revoked_at.is_(None)).values(revoked_at=_now())
            )
            record_audit(conn, actor, "api_key.revoke", "api_key", str(key_id))
        return self._api_key(key_id)

    def api_keys(self, actor: Actor) -> list[ApiKey]:
        actor.require(Permission.MANAGE_API_KEYS)
        q = select(*_KEY_COLS).order_by(api_key.c.id)
        if not actor.can(Permission.MANAGE_DEPARTMENTS):
            q = q.where(api_key.c.department_id == actor.department_id)
        with self.store.read() as conn:
            return [_key(r._mapping) for r in conn.execute(q)]

    def _api_key(self, key_id: int) -> ApiKey:
        with self.store.read() as conn:
            row = conn.execute(select(*_KEY_COLS).where(api_key.c.id == key_id)).first()
        if row is None:
            raise NotFoundError(f"no API key {key_id}")
        return _key(row._mapping)

    def _actor_for_api_key(self, secret: str) -> Actor:
        parts = secret.split("_", 2)
        if len(parts) != 3:
            raise AuthenticationError("malformed API key")
        with self.store.read() as conn:
            row = conn.execute(select(api_key).where(api_key.c.prefix == parts[1])).first()
        if row is None or not hmac.compare_digest(row.key_hash, hash_token(secret)):
            raise AuthenticationError("unknown API key")
        if row.revoked_at is not None:
            raise AuthenticationError("API key revoked")
        return Actor(
            name=f"key:{row.prefix}:{row.name}",
            kind="api_key",
            role=Role(row.role),
            department_id=row.department_id,
            api_key_id=row.id,
        )

    def bootstrap_admin(self, conn: Connection, username: str, password: str) -> None:
        """Create the first platform admin inside an open transaction (used by ``citybase init``)."""
        conn.execute(
            app_user.insert().values(
                username=username,
                display_name="平台管理员",
                password_hash=hash_password(password),
                role=Role.PLATFORM_ADMIN.value,
                department_id=None,
                active=True,
                created_at=_now(),
            )
        )


_KEY_COLS = (
    api_key.c.id,
    api_key.c.prefix,
    api_key.c.name,
    api_key.c.role,
    api_key.c.department_id,
    api_key.c.created_at,
    api_key.c.revoked_at,
)


def _user(m: Any) -> User:
    return User(
        id=m["id"],
        username=m["username"],
        display_name=m["display_name"],
        role=Role(m["role"]),
        department_id=m["department_id"],
        active=bool(m["active"]),
    )


def _key(m: Any) -> ApiKey:
    return ApiKey(
        id=m["id"],
        prefix=m["prefix"],
        name=m["name"],
        role=Role(m["role"]),
        department_id=m["department_id"],
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
    )
