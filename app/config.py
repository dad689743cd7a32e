"""Settings read from the environment; bad values stop the service at start-up."""

from functools import lru_cache
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg"}


def async_database_url(url: str) -> str:
    """Turn a plain URL (``sqlite:///x.db``, ``postgresql://u@h/db``) into one with an async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported database {backend!r}: use sqlite:///PATH or postgresql://USER@HOST/DB")
    return parsed.set(drivername=ASYNC_DRIVERS[backend]).render_as_string(hide_password=False)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASETRACK_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///casetrack.db",
        validation_alias=AliasChoices("DATABASE_URL", "CASETRACK_DATABASE_URL"),
        description="Where the data lives: sqlite:///PATH (default, in the working directory) "
        "or postgresql://USER@HOST/DB. The async driver is chosen automatically.",
    )
    default_parole_fraction: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Share of a sentence after which parole may be sought, used when a sentence does not say.",
    )
    auto_migrate: bool | None = Field(
        default=None,
        description="Upgrade the schema on start. Default: yes for SQLite, no for PostgreSQL "
        "(run `casetrack migrate` there).",
    )
    sql_echo: bool = False
    database_pool_size: int = Field(
        default=10,
        ge=1,
        le=1000,
        description="Connections each server process keeps open to the database (it may open "
        "`database_max_overflow` more under load). Size it with the workers against PostgreSQL's "
        "max_connections: see docs/deployment.md.",
    )
    database_max_overflow: int = Field(
        default=10,
        ge=0,
        le=1000,
        description="Extra connections a process may open past the pool size, closed when returned.",
    )
    database_pre_ping: bool = Field(
        default=False,
        description="Check each pooled connection with a round trip before lending it to a request. Off: a "
        "connection the server or a pooler closed fails one request (503) and is replaced; on: no such "
        "failure, one more round trip per request.",
    )
    database_pool_recycle: int = Field(
        default=1800,
        ge=-1,
        description="Seconds after which a pooled connection is replaced (-1: never); keep it under any idle "
        "timeout of PostgreSQL, PgBouncer or a firewall between them.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Log level of the JSON log lines on standard error."
    )
    require_token_for_reads: bool = Field(
        default=False, description="Refuse every request without a valid API token, reads included."
    )
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="Larger request bodies get 413.")
    rate_limit_per_address: str = Field(
        default="600/minute",
        description="Requests one client address may make (limits syntax, e.g. 600/minute); empty: no limit.",
    )
    rate_limit_per_token: str = Field(
        default="6000/minute", description="Requests one API token may make; empty: no limit."
    )
    rate_limit_storage: str = Field(
        default="async+memory://",
        description="Where rate-limit counters live: async+memory:// (this process only) or "
        "async+redis://HOST:6379 to share them between server processes.",
    )
    cors_origins: str = Field(
        default="",
        description="Comma-separated origins allowed to call the API from a browser "
        "(e.g. https://app.example.org), or * for any; empty: no cross-origin access.",
    )

    @field_validator("rate_limit_per_address", "rate_limit_per_token")
    @classmethod
    def _rate_is_parseable(cls, value: str) -> str:
        if value:
            from limits import parse

            try:
                parse(value)
            except ValueError as exc:
                raise ValueError(f"not a rate limit like 600/minute: {value!r}") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_usable(cls, value: str) -> str:
        try:
            async_database_url(value)
        except ArgumentError as exc:
            raise ValueError(f"DATABASE_URL is not a database URL: {exc}") from exc
        return value

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def async_database_url(self) -> str:
        return async_database_url(self.database_url)

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.database_url).get_backend_name() == "sqlite"

    @property
    def migrate_on_start(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate


@lru_cache
def get_settings() -> Settings:
    return Settings()


async def settings_of(request: Request) -> Settings:
    """The settings the running app was created with (tests build apps with their own)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_of)]
