"""Run the Alembic migrations from code (the service on start, `casetrack migrate`, the tests)."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

import migrations
from app.db import begin_sqlite_transaction

SCRIPT_LOCATION = Path(migrations.__file__).parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Blocking, with its own event loop: for the command line, not from inside async code."""
    command.upgrade(alembic_config(database_url), revision)


def _driver_leaves_transactions_to_us(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None


async def upgrade_engine(
    engine: AsyncEngine, revision: str = "head", on_step: Callable[[str], None] | None = None
) -> None:
    """Upgrade the database an engine points at, from inside a running event loop.
    ``on_step`` hears about each revision applied (for progress output)."""

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
    command.downgrade(alembic_config(database_url), revision)


def current_heads(database_url: str) -> set[str]:
    from alembic.script import ScriptDirectory

    return set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
