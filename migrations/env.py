"""Alembic environment: the URL comes from the service's settings (DATABASE_URL), never from alembic.ini."""

import asyncio
import logging.config

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from app.config import Settings, async_database_url
from app.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# Full-text search structures that only one database has, created by hand in the migrations:
# they are not in the models, so autogenerate must not call them drift.
DATABASE_SPECIFIC = ("search_fts", "ix_search_documents_fulltext")


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    return not (name and name.startswith(DATABASE_SPECIFIC))


def database_url() -> str:
    return config.attributes.get("database_url") or Settings().database_url


def do_run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
        on_version_apply=config.attributes.get("on_version_apply"),
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_async_engine(async_database_url(database_url()), poolclass=NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
elif (shared := config.attributes.get("connection")) is not None:
    # Called from inside the service or the tests, on a connection they already hold.
    do_run_migrations(shared)
else:
    asyncio.run(run_async_migrations())
