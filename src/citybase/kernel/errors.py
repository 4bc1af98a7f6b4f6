"""Domain errors.

Every error the platform raises on purpose is a subclass of :class:`CityBaseError`. They are plain
classes: the web adaptor maps them to HTTP status and RFC 9457 problem JSON in one table
(``citybase.web.errors``); the CLI prints them. An error carries ``issues`` when it is about input:
each issue names the record, the field and the reason, so a department can fix its file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with one field of one input record."""

    field: str
    reason: str
    record: str | int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def __str__(self) -> str:
        where = f"record {self.record}, " if self.record is not None else ""
        return f"{where}field {self.field!r}: {self.reason}"


class CityBaseError(Exception):
    """Base of every deliberate error; ``title`` is a short, stable summary."""

    title = "Error"

    def __init__(self, detail: str, *, issues: list[Issue] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.issues: list[Issue] = list(issues or [])

    def __str__(self) -> str:
        if not self.issues:
            return self.detail
        shown = "; ".join(str(i) for i in self.issues[:10])
        more = f" (+{len(self.issues) - 10} more)" if len(self.issues) > 10 else ""
        return f"{self.detail}: {shown}{more}"


class InvalidInputError(CityBaseError):
    """Input that breaks a rule: a bad field, a malformed code, an out-of-range coordinate."""

    title = "Invalid input"


class NotFoundError(CityBaseError):
    title = "Not found"


class ConflictError(CityBaseError):
    """The request clashes with current state: a stale version, a duplicate, a forbidden transition."""

    title = "Conflict"


class AuthenticationError(CityBaseError):
    title = "Authentication required"


class PermissionDeniedError(CityBaseError):
    title = "Permission denied"


class ConfigurationError(CityBaseError):
    title = "Configuration error"


class UnavailableError(CityBaseError):
    """A dependency (database, broker) is not reachable right now."""

    title = "Service unavailable"


class RateLimitedError(CityBaseError):
    """Too many requests from one client in a window; ``retry_after`` seconds until the next is allowed."""

    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
