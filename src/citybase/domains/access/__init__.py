"""Departments, users, roles, API keys, the audit log and call metering."""

from citybase.domains.access.audit import AuditEntry, audit_entries, record_audit
from citybase.domains.access.metering import CallStats, Meter
from citybase.domains.access.roles import ANONYMOUS, SYSTEM, Actor, Permission, Role
from citybase.domains.access.service import AccessService, ApiKey, Department, IssuedApiKey, User

__all__ = [
    "ANONYMOUS",
    "SYSTEM",
    "AccessService",
    "Actor",
    "ApiKey",
    "AuditEntry",
    "CallStats",
    "Department",
    "IssuedApiKey",
    "Meter",
    "Permission",
    "Role",
    "User",
    "audit_entries",
    "record_audit",
]
