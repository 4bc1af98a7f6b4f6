"""L0: settings, errors and value types shared by every layer."""

from citybase.kernel.errors import (
    AuthenticationError,
    CityBaseError,
    ConfigurationError,
    ConflictError,
    InvalidInputError,
    Issue,
    NotFoundError,
    PermissionDeniedError,
    UnavailableError,
)

__all__ = [
    "AuthenticationError",
    "CityBaseError",
    "ConfigurationError",
    "ConflictError",
    "InvalidInputError",
    "Issue",
    "NotFoundError",
    "PermissionDeniedError",
    "UnavailableError",
]
