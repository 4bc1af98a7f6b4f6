"""Roles, permissions and the acting caller."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from citybase.kernel.errors import AuthenticationError, PermissionDeniedError


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    DEPARTMENT_ADMIN = "department_admin"
    DEPARTMENT_USER = "department_user"
    GRID_WORKER = "grid_worker"
    REVIEWER = "reviewer"
    VIEWER = "viewer"


class Permission(StrEnum):
    READ = "read"
    WRITE_OWN_OBJECTS = "objects.write_own"  # objects owned by the caller's department (一数一源)
    WRITE_ANY_OBJECTS = "objects.write_any"
    MANAGE_CLASSES = "classes.manage"
    MANAGE_DEPARTMENTS = "departments.manage"
    MANAGE_USERS = "users.manage"  # department admins: users of their own department only
    MANAGE_API_KEYS = "api_keys.manage"
    READ_AUDIT = "audit.read"
    READ_METERING = "metering.read"  # own department; platform admins all
    RUN_JOBS = "jobs.run"
    # 三实 registries and the collection loop (issue 6)
    WRITE_REGISTRY = "registry.write"  # houses, people, organisations of the caller's remit
    READ_PERSONAL = "personal.read"  # unmasked personal data; departments also get it by grant
    MANAGE_GRIDS = "grids.manage"
    COLLECT = "collect.submit"  # grid workers and collectors: take and submit field tasks
    REVIEW_FIRST = "collect.review_first"  # street reviewers (初审)
    REVIEW_SECOND = "collect.review_second"  # department reviewers (复审)


_ALL = frozenset(Permission)
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.PLATFORM_ADMIN: _ALL,
    Role.DEPARTMENT_ADMIN: frozenset(
        {
            Permission.READ,
            Permission.WRITE_OWN_OBJECTS,
            Permission.MANAGE_USERS,
            Permission.MANAGE_API_KEYS,
            Permission.READ_AUDIT,
            Permission.READ_METERING,
            Permission.RUN_JOBS,
            Permission.WRITE_REGISTRY,
            Permission.COLLECT,
            Permission.REVIEW_SECOND,
        }
    ),
    Role.DEPARTMENT_USER: frozenset(
        {
            Permission.READ,
            Permission.WRITE_OWN_OBJECTS,
            Permission.RUN_JOBS,
            Permission.WRITE_REGISTRY,
            Permission.COLLECT,
            Permission.REVIEW_SECOND,
        }
    ),
    # Personal data is never part of a role below platform admin: a department reads it unmasked only
    # by grant (registry.grants), and a grid worker only for people in their own grids.
    Role.GRID_WORKER: frozenset({Permission.READ, Permission.COLLECT}),
    Role.REVIEWER: frozenset({Permission.READ, Permission.REVIEW_FIRST}),
    Role.VIEWER: frozenset({Permission.READ}),
}


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is calling: a user, an API key, the system itself, or an anonymous citizen."""

    name: str
    kind: str  # "user" | "api_key" | "system" | "anonymous"
    role: Role | None = None
    department_id: int | None = None
    user_id: int | None = None
    api_key_id: int | None = None

    @property
    def permissions(self) -> frozenset[Permission]:
        if self.kind == "system":
            return _ALL
        if self.role is None:
            return frozenset()
        return ROLE_PERMISSIONS[self.role]

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if self.can(permission):
            return
        if self.kind == "anonymous":
            raise AuthenticationError("log in or send an API key to do this")
        raise PermissionDeniedError(f"role {self.role} may not {permission.value}")

    def may_write_department(self, department_id: int | None) -> bool:
        if self.can(Permission.WRITE_ANY_OBJECTS):
            return True
        return self.can(Permission.WRITE_OWN_OBJECTS) and department_id == self.department_id


SYSTEM = Actor(name="system", kind="system")
ANONYMOUS = Actor(name="anonymous", kind="anonymous", role=Role.VIEWER)
