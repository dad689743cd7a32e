"""Throwaway databases for tests that need one of their own (committed data, other processes, migrations).

PostgreSQL: CASETRACK_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) names a server
and a database to connect to; new databases are made beside it and dropped afterwards.
"""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.auth.roles import Role
from app.auth.service import create_token
from app.config import Settings, async_database_url
from app.db import make_engine
from app.migrate import upgrade_engine
from app.sessions import make_sessionmaker

POSTGRES_URL = os.environ.get("CASETRACK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def postgres_admin(statement: str) -> None:
    """Run one statement on the test server outside any transaction (CREATE/DROP DATABASE...)."""
    admin = create_async_engine(async_database_url(POSTGRES_URL), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await admin.dispose()


def postgres_url(name: str) -> str:
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@asynccontextmanager
async def throwaway_database(kind: str, directory: Path, create_options: str = "") -> AsyncIterator[str]:
    """The URL of a new, empty database: an SQLite file in ``directory``, or a PostgreSQL database made
    beside POSTGRES_URL (``CREATE DATABASE name <create_options>``) and dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / f'casetrack-{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"casetrack_test_{uuid.uuid4().hex[:12]}"
    await postgres_admin(f'CREATE DATABASE "{name}" {create_options}')
    try:
        yield postgres_url(name)
    finally:
        await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def migrate_with_token(settings: Settings, name: str, role: Role) -> str:
    """Bring a throwaway database to the current schema, committed, with one token in it (returned)."""
    engine = make_engine(settings)
    try:
        await upgrade_engine(engine)
        async with make_sessionmaker(engine)() as session:
            token = await create_token(session, name, role)
            await session.commit()
    finally:
        await engine.dispose()
    return token
