"""Engine, session-per-request, and the declarative base shared by every domain package."""

import logging
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from fastapi import Depends, Request
from sqlalchemy import Boolean, DateTime, FromClause, Integer, MetaData, String, event, false, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InvalidatePoolError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

from app.config import Settings
from app.errors import DatabaseNotMigrated, DatabaseUnavailable

log = logging.getLogger("casetrack.db")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 32


def new_id() -> str:
    """Opaque record id: 32 lowercase hex characters, random."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def _same_as_created(context: Any) -> datetime:
    created_at: datetime = context.get_current_parameters()["created_at"]
    return created_at


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always handed back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Record:
    """Columns every stored record has: an opaque id, the system's own timestamps, a version that
    every update increments (an UPDATE that finds another version fails: no lost updates), whether
    the record is restricted (invisible without reader rights), and when it was deleted (deletes are
    soft until an admin purges)."""

    record_type: ClassVar[str]  # the kind, as the audit log, citations and search name it
    if TYPE_CHECKING:  # what the declarative Base it is mixed with provides, as DeclarativeBase declares them
        __table__: ClassVar[FromClause]

        def __init__(self, **kw: Any) -> None: ...

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_same_as_created, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    restricted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    # SQLite ignores foreign keys unless asked on every connection; WAL lets readers work
    # while one request writes, and the busy timeout makes writers queue instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
    # Let SQLAlchemy, not the driver, decide when transactions begin, so SAVEPOINTs and
    # transactional DDL behave as on PostgreSQL (the recipe from SQLAlchemy's SQLite notes).
    dbapi_connection.isolation_level = None


def begin_sqlite_transaction(connection: Any) -> None:
    options = connection.get_execution_options()
    if options.get(READ_ONLY, False):
        return  # each statement is its own snapshot, as in PostgreSQL's READ COMMITTED
    connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(IMMEDIATE, False) else "BEGIN")


class SQLiteFile:
    """Keeps an engine on the database file it opened, wherever that file goes.

    An open SQLite connection follows its file, not its path: moved or deleted, the file goes on being
    read and written (a deleted one is lost when the last connection closes), and a new connection to a
    missing path creates an empty database there. So once the engine has opened the file, its new
    connections open it read-write without creating it, and a pooled connection whose file is no longer
    the one at the path is discarded when lent, with every pooled connection as old: requests then fail
    to connect (503) until the file is back, and then use the file at the path."""

    def __init__(self, path: str) -> None:
        self.path = Path(path).resolve()
        self.opened = False

    def identity(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return stat.st_dev, stat.st_ino

    def install(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "do_connect", self._do_connect)
        event.listen(engine.sync_engine, "connect", self._connected)
        event.listen(engine.sync_engine.pool, "checkout", self._check_out)

    def _do_connect(self, dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        if self.opened:
            cargs[:1] = [f"{self.path.as_uri()}?mode=rw"]
            cparams["uri"] = True

    def _connected(self, dbapi_connection: Any, record: Any) -> None:
        self.opened = True
        record.info["sqlite_file"] = self.identity()

    def _check_out(self, dbapi_connection: Any, record: Any, proxy: Any) -> None:
        current = self.identity()
        if current is None or record.info.get("sqlite_file") != current:
            raise InvalidatePoolError(f"the database file {self.path} was moved, replaced or deleted")


def make_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.async_database_url)
    pool: dict[str, Any] = {"pool_pre_ping": settings.database_pre_ping, "pool_recycle": settings.database_pool_recycle}
    in_memory = url.database in (None, "", ":memory:")  # an in-memory SQLite database lives in its one connection
    if not in_memory:
        pool |= {"pool_size": settings.database_pool_size, "max_overflow": settings.database_max_overflow}
    engine = create_async_engine(url, echo=settings.sql_echo, **pool)
    if settings.is_sqlite:
        event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
        event.listen(engine.sync_engine, "begin", begin_sqlite_transaction)
        if not in_memory and url.database and not url.query.get("uri"):  # (a URI filename says its own mode)
            SQLiteFile(url.database).install(engine)
    return engine


class CasetrackSession(Session):
    """The ORM session class; app/visibility.py filters every query it runs by the viewer in ``info``
    (installed by app.sessions.make_sessionmaker, which makes every factory of these sessions)."""


# The execution option with which a statement also sees deleted records (restore, purge, history).
INCLUDE_DELETED = "include_deleted"


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
IMMEDIATE = "casetrack_write_transaction"
READ_ONLY = "casetrack_read_only"


def read_only_options(bind: AsyncEngine | AsyncConnection) -> dict[str, Any]:
    """Execution options for a request that only reads: no BEGIN and COMMIT around it (two round trips
    on PostgreSQL, two thread hops on SQLite). Every statement still sees one consistent snapshot, which
    is what PostgreSQL's default READ COMMITTED gives a multi-statement transaction anyway."""
    if bind.dialect.name == "postgresql":
        return {"isolation_level": "AUTOCOMMIT"}
    return {READ_ONLY: True}


# What connecting raises when the database is not there: a driver's refusal (no such database, too many
# connections, SQLite's "unable to open database file"), a network failure (refused, reset, timed out:
# OSError), or no pooled connection freed in time.
CONNECT_FAILURES = (DBAPIError, OSError, PoolTimeoutError)


@dataclass(frozen=True)
class DatabaseFailure:
    """A kind of failure the databases report: PostgreSQL by SQLSTATE, SQLite in words (the start of its
    message, on an OperationalError)."""

    sqlstates: frozenset[str]
    sqlite_messages: tuple[str, ...]

    def __call__(self, exc: BaseException) -> bool:
        if not isinstance(exc, DBAPIError):
            return False
        if getattr(exc.orig, "sqlstate", None) in self.sqlstates:
            return True
        return isinstance(exc, OperationalError) and str(exc.orig).startswith(self.sqlite_messages)


# A query ran into a table or column that is not there: the database may be behind the migrations.
# (PostgreSQL's undefined_table and undefined_column.)
missing_schema = DatabaseFailure(frozenset({"42P01", "42703"}), ("no such table", "no such column"))

# Other transactions held what this one needed for too long: retrying the request may succeed.
# (PostgreSQL's serialization_failure, deadlock_detected and lock_not_available.)
busy = DatabaseFailure(frozenset({"40001", "40P01", "55P03"}), ("database is locked", "database table is locked"))


async def _not_migrated(request: Request) -> str | None:
    """The advice when the database is behind the migrations (app.migrate.SchemaGate), read again."""
    try:
        advice: str | None = await request.app.state.schema_gate.check()
    except (*CONNECT_FAILURES, DBAPIError):
        return None
    return advice


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, committed here and only here when the request succeeded."""
    async with request.app.state.sessionmaker() as session:
        try:
            if request.method in WRITE_METHODS:
                # On SQLite a write transaction takes the write lock when it begins (BEGIN IMMEDIATE), so
                # concurrent writers wait for each other instead of failing with "database is locked".
                await session.connection(execution_options={IMMEDIATE: True})
            elif isinstance(session.bind, AsyncEngine):  # (tests bind sessions to a connection in a transaction)
                await session.connection(execution_options=read_only_options(session.bind))
            # Only once this process has found the schema behind: no statement more otherwise.
            if request.app.state.schema_gate.advice is not None and (advice := await _not_migrated(request)):
                raise DatabaseNotMigrated(advice)
        except CONNECT_FAILURES as exc:
            if busy(exc):
                log.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
                raise DatabaseUnavailable.busy() from exc
            log.warning("cannot connect to the database: %s: %s", type(exc).__name__, exc)
            raise DatabaseUnavailable.unreachable() from exc
        try:
            yield session
            await session.commit()
        except BaseException as exc:
            await session.rollback()
            if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                log.warning("database connection lost on %s %s: %s", request.method, request.url.path, exc.orig)
                raise DatabaseUnavailable.connection_lost() from exc
            if busy(exc):
                log.warning("database busy on %s %s: %s", request.method, request.url.path, exc.__cause__ or exc)
                raise DatabaseUnavailable.busy() from exc
            if missing_schema(exc) and (advice := await _not_migrated(request)):
                log.warning("%s %s: %s", request.method, request.url.path, advice)
                raise DatabaseNotMigrated(advice) from exc
            raise


# scope="function": the commit happens before the response is sent, so a 2xx means the write is durable.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
