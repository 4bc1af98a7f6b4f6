"""Typed settings, built once at the edge (CLI or app factory) and passed in.

Sources, strongest first: explicit arguments, ``CITYBASE_*`` environment variables, a TOML file
(``CITYBASE_CONFIG`` or ``citybase.toml`` in the data directory), defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_DATA_DIR = Path("citybase-data")


def _toml_path() -> Path:
    explicit = os.environ.get("CITYBASE_CONFIG")
    if explicit:
        return Path(explicit)
    data_dir = Path(os.environ.get("CITYBASE_DATA_DIR", DEFAULT_DATA_DIR))
    return data_dir / "citybase.toml"


class Settings(BaseSettings):
    """Every setting of the platform; see docs/settings.md (a test keeps that page complete)."""

    model_config = SettingsConfigDict(env_prefix="CITYBASE_", extra="ignore")

    data_dir: Path = Field(DEFAULT_DATA_DIR, description="Directory for the SQLite database, caches and keys.")
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; empty means a SQLite file in the data directory. "
        "Use postgresql://user:pass@host/db for PostgreSQL + PostGIS.",
    )
    host: str = Field("127.0.0.1", description="Address the server binds to.")
    port: int = Field(8000, description="Port the server binds to.")
    division_code: str = Field("420600", description="GB/T 2260 code of the city this platform serves.")
    log_level: str = Field("INFO", description="Python log level name.")
    log_json: bool = Field(True, description="Write logs as JSON lines (one object per line).")
    anonymous_read: bool = Field(
        True, description="Let callers without a login or API key read public objects (the citizen map)."
    )
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed by CORS.")
    session_hours: int = Field(12, description="Lifetime of a portal login session, in hours.")
    public_base_url: str = Field(
        "http://127.0.0.1:8000", description="URL the platform is reached at (used in QR labels and links)."
    )
    metering_flush_seconds: float = Field(5.0, description="How often buffered call counts are written.")
    job_workers: int = Field(1, description="In-process job worker threads (0 disables the runner).")
    address_code_template: str = Field(
        "{division}{level}{serial:06d}",
        description="Template of standard-address display codes (fields: division, county, town, community, "
        "level, level_name, serial, id; see docs/address-registry.md).",
    )
    address_naming_department: str = Field(
        "mzj", description="Code of the civil-affairs department (民政) that approves names and records addresses."
    )
    address_housing_department: str = Field(
        "zjj", description="Code of the housing department (住建) that reviews compound names."
    )
    personal_data_key_file: Path | None = Field(
        None,
        description="File holding the 32-byte key that encrypts identity numbers, names and phones at rest "
        "(base64). Keep it outside the database and its backups. Default: <data_dir>/keys/personal.key, "
        "created with mode 0600 on first use.",
    )

    @field_validator("division_code")
    @classmethod
    def _six_digits(cls, v: str) -> str:
        if len(v) != 6 or not v.isdigit():
            raise ValueError("division_code must be a 6-digit GB/T 2260 code, e.g. 420600")
        return v

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'citybase.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_toml_path())
        return (init_settings, env_settings, toml)


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment and TOML file, with explicit overrides on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
