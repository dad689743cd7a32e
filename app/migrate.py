"""Run the Alembic migrations from code (the service on start, `casetrack migrate`, the tests)."""

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

import migrations
from app.db import CONNECT_FAILURES, begin_sqlite_transaction

# Alembic (with Mako and Pygments, which it loads) is imported by the functions that use it: a process
# that never migrates nor reads a revision (`casetrack --help`, `casetrack tokens list`...) does not pay for it.
if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = logging.getLogger("casetrack.migrate")
SCRIPT_LOCATION = Path(migrations.__file__).parent


def alembic_config(database_url: str) -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Blocking, with its own event loop: for the command line, not from inside async code."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def _driver_leaves_transactions_to_us(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None


async def upgrade_engine(
    engine: AsyncEngine, revision: str = "head", on_step: Callable[[str], None] | None = None
) -> None:
    """Upgrade the database an engine points at, from inside a running event loop.
    ``on_step`` hears about each revision applied (for progress output)."""
    from alembic import command

    def run(connection: Connection) -> None:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        if on_step is not None:
            config.attributes["on_version_apply"] = lambda ctx, step, heads, run_args: on_step(
                f"{step.up_revision_id} ({step.up_revision.doc if step.up_revision else 'merge'})"
            )
        command.upgrade(config, revision)

    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            await connection.run_sync(run)
        return
    # SQLite alters a table by copying it: with foreign keys enforced, dropping the old copy would
    # cascade into the rows that reference it. Migrate on a connection that does not enforce them,
    # then check the result.
    migrator = create_async_engine(engine.url, poolclass=NullPool)
    event.listen(migrator.sync_engine, "connect", _driver_leaves_transactions_to_us)
    event.listen(migrator.sync_engine, "begin", begin_sqlite_transaction)  # the whole upgrade is one transaction
    try:
        async with migrator.begin() as connection:
            await connection.run_sync(run)
            problems = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if problems:
                raise RuntimeError(f"the migration left rows with broken references: {problems[:5]}")
    finally:
        await migrator.dispose()


def downgrade(database_url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


def current_heads(database_url: str) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


@functools.cache
def _scripts() -> "ScriptDirectory":
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(""))


def head_revision() -> str | None:
    """The revision this code's models correspond to."""
    return _scripts().get_current_head()


async def database_revision(engine: AsyncEngine) -> str | None:
    """The revision the database has been migrated to; None when it has never been migrated."""
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


def is_behind(revision: str | None) -> bool:
    """The database is at no revision or at one of this code's older ones: `casetrack migrate` brings it
    up. (One this code does not know was migrated by newer code, whose schema the older code may well
    still work on during a rolling deploy.)"""
    if revision == head_revision():
        return False
    if revision is None:
        return True
    from alembic.util import CommandError

    try:
        return _scripts().get_revision(revision) is not None
    except CommandError:
        return False


def schema_advice(revision: str | None) -> str | None:
    """What to tell the operator about a database at ``revision``; None when it is at the code's."""
    head = head_revision()
    if revision == head:
        return None
    if revision is None:
        return "The database has never been migrated (it has no casetrack schema): run `casetrack migrate`."
    if is_behind(revision):
        return f"The database schema is at revision {revision!r}, this code needs {head!r}: run `casetrack migrate`."
    return (
        f"The database schema is at revision {revision!r}, which this code (at {head!r}) does not know: "
        "it was migrated by a newer casetrack."
    )


class SchemaGate:
    """Whether this process has found its database behind the code's migrations, and what to tell.

    Checked when the process starts, and again when a query runs into a missing table or column, never
    otherwise: a request on a database at the current revision costs no statement more. While behind,
    every request checks again first (the operator may have migrated meanwhile) and is refused with the
    advice until the database is at the current revision."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.advice: str | None = None

    async def check(self) -> str | None:
        """Read the database's revision; the advice while it is behind, else None."""
        revision = await database_revision(self.engine)
        self.advice = schema_advice(revision) if is_behind(revision) else None
        return self.advice

    async def check_on_start(self) -> None:
        try:
            advice = await self.check()
        except CONNECT_FAILURES as exc:  # not there yet: requests say so (503) until it is
            log.warning("cannot read the database's schema revision on start: %s: %s", type(exc).__name__, exc)
            return
        if advice is not None:
            log.warning("%s Requests are answered 503 until then.", advice)
