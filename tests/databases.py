"""Throwaway databases for tests that need one of their own (committed data, other processes, migrations).

PostgreSQL: CASETRACK_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) names a server
and a database to connect to; new databases are made beside it and dropped afterwards.

A test that needs a database at the current schema but does not test the migrations themselves takes a
``migrated_database``: a copy of a template that this process migrated once (Alembic, as `casetrack migrate`
does) instead of running every migration again. tests/test_migrations.py checks that such a copy is what
the migrations build and shows no drift from the models.
"""

import asyncio
import atexit
import os
import shutil
import sqlite3
import tempfile
import uuid
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.auth.roles import Role
from app.auth.service import create_token
from app.config import Settings, async_database_url
from app.db import make_engine
from app.migrate import head_revision, upgrade_engine
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


# The templates this process made: kind -> SQLite file or PostgreSQL database name; made on first use.
_templates: dict[str, str] = {}
_template_locks: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = weakref.WeakKeyDictionary()


def _template_name() -> str:
    """Unique to this process (an xdist worker, or the only one) and to the migration head, so that test
    runs and workers sharing one PostgreSQL server never clone or drop each other's template."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return f"casetrack_template_{head_revision()}_{worker}_{os.getpid()}"


async def _make_sqlite_template() -> str:
    directory = Path(tempfile.mkdtemp(prefix="casetrack-template-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    path = directory / f"{_template_name()}.db"
    engine = make_engine(Settings(database_url=f"sqlite:///{path}"))
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()
    # Everything in the file itself (no write-ahead log beside it), so that a copy of the file is all of it.
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert not path.with_name(f"{path.name}-wal").exists(), "the template's write-ahead log outlived its connections"
    return str(path)


def _drop_postgres_template(name: str) -> None:
    asyncio.run(postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _make_postgres_template() -> str:
    name = _template_name()
    await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # left by a crashed run of this pid
    await postgres_admin(f'CREATE DATABASE "{name}"')
    atexit.register(_drop_postgres_template, name)
    engine = make_engine(Settings(database_url=postgres_url(name)))
    try:
        await upgrade_engine(engine)
    finally:
        await engine.dispose()
    # Nobody connects to it from here on: CREATE DATABASE ... TEMPLATE refuses a template in use.
    await postgres_admin(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
    return name


async def _template(kind: str) -> str:
    lock = _template_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        if kind not in _templates:
            _templates[kind] = await (_make_sqlite_template() if kind == "sqlite" else _make_postgres_template())
        return _templates[kind]


@asynccontextmanager
async def migrated_database(kind: str, directory: Path) -> AsyncIterator[str]:
    """The URL of a new database at the current schema (and no data): an SQLite file in ``directory``, or a
    PostgreSQL database beside POSTGRES_URL, dropped afterwards; a copy of this process's migrated template."""
    template = await _template(kind)
    if kind == "sqlite":
        path = directory / f"casetrack-{uuid.uuid4().hex[:8]}.db"
        await asyncio.to_thread(shutil.copyfile, template, path)
        yield f"sqlite:///{path}"
        return
    async with throwaway_database(kind, directory, f'TEMPLATE "{template}"') as url:
        yield url


async def add_token(settings: Settings, name: str, role: Role) -> str:
    """Store a token in a migrated throwaway database, committed; returns its secret."""
    engine = make_engine(settings)
    try:
        async with make_sessionmaker(engine)() as session:
            token = await create_token(session, name, role)
            await session.commit()
    finally:
        await engine.dispose()
    return token
