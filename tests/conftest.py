"""Every API test runs against the real app over HTTP (httpx's ASGI transport) on a real database,
once on SQLite and once on PostgreSQL. The schema is built by the Alembic migrations (a copy of a
template migrated once per process, tests/databases.py); each test runs
inside a transaction that is rolled back, so tests never see each other's data.

A module whose tests all read the same records can build them once per database with ``shared_world``
(see there): its tests then run inside savepoints of one module-wide transaction that holds them.

PostgreSQL: CASETRACK_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test) names a
server and a database to connect to; the suite creates its own throwaway database beside it.
"""

import asyncio
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest
import uvloop
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.auth.roles import Role
from app.auth.service import create_token
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from app.sessions import make_sessionmaker
from tests.databases import migrated_database


@dataclass
class StatementCounter:
    statements: list[str] = field(default_factory=list)
    active: bool = False

    @contextmanager
    def count(self) -> Iterator[list[str]]:
        self.statements.clear()
        self.active = True
        try:
            yield self.statements
        finally:
            self.active = False


@dataclass
class Database:
    name: str  # "sqlite" or "postgresql"
    url: str
    engine: AsyncEngine
    counter: StatementCounter


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path_factory.mktemp("db")) as url:
        engine = make_engine(Settings(database_url=url))
        counter = StatementCounter()

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            if counter.active:
                counter.statements.append(statement)

        try:
            yield Database(request.param, url, engine, counter)
        finally:
            await engine.dispose()


W = TypeVar("W")
Builder = Callable[[httpx.AsyncClient], Awaitable[Any]]

# Module name -> the builders of the worlds its tests share (see ``shared_world``).
_shared_worlds: dict[str, list[Builder]] = {}


@dataclass
class ModuleWorld:
    connection: AsyncConnection  # inside the module's transaction, which holds the worlds
    built: dict[Builder, Any]  # builder -> what it returned


def shared_world(build: Callable[[httpx.AsyncClient], Awaitable[W]]) -> Any:
    """A fixture giving what ``build`` returns, built once per module and database instead of once per test.

    ``world = shared_world(build_world)`` at the top level of a test module: ``build`` makes its records
    with an admin client of its own, in a transaction that stays open while the module's tests run and is
    rolled back after them. Every test of that module (whether it asks for the world or not) then runs in a
    SAVEPOINT of that transaction, rolled back after the test: it sees the world exactly as built, and
    whatever it changes is gone for the next test (tests/test_shared_world.py proves it). The world is
    built with the suite's default settings, whatever ``settings`` the module may override.
    """
    module = sys._getframe(1).f_globals["__name__"]
    _shared_worlds.setdefault(module, []).append(build)

    @pytest.fixture
    def world(_module_world: ModuleWorld | None, connection: AsyncConnection) -> W:
        assert _module_world is not None
        value: W = _module_world.built[build]
        return value

    return world


def _test_settings(database: Database) -> Settings:
    # Rate limits off: the suite makes thousands of requests from one address (they have their own tests).
    return Settings(database_url=database.url, auto_migrate=False, rate_limit_per_address="", rate_limit_per_token="")


@pytest.fixture(scope="module")
async def _module_world(request: pytest.FixtureRequest, database: Database) -> AsyncIterator[ModuleWorld | None]:
    """The worlds of this module (``shared_world``), built in a transaction rolled back after the module;
    None in a module without any."""
    if request.module.__name__ not in _shared_worlds:
        yield None
        return
    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        try:
            module_world = ModuleWorld(connection, {})
            token = await make_token(connection, Role.admin, "shared-world-builder")
            async with _http_client(_test_settings(database), connection, token) as http:
                for build in _shared_worlds[request.module.__name__]:
                    module_world.built[build] = await build(http)
            yield module_world
        finally:
            await transaction.rollback()


@pytest.fixture
async def connection(database: Database, _module_world: ModuleWorld | None) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test.

    In a module with a ``shared_world`` it is the module's connection, inside a savepoint of the
    transaction that holds the world."""
    if _module_world is not None:
        savepoint = await _module_world.connection.begin_nested()
        try:
            yield _module_world.connection
        finally:
            await savepoint.rollback()
        return
    async with database.engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
def settings(database: Database) -> Settings:
    return _test_settings(database)


# Building an app costs about half a second (FastAPI analyses every route's dependencies), so the suite
# builds one per configuration and reuses it: a test only swaps in its own sessionmaker. An app that
# keeps counters of its own (rate limits) is built fresh for each client, since tests count on them.
_apps: dict[str, FastAPI] = {}


def _keeps_no_counters(settings: Settings) -> bool:
    return not settings.rate_limit_per_address and not settings.rate_limit_per_token


@asynccontextmanager
async def app_for(settings: Settings) -> AsyncIterator[FastAPI]:
    if not _keeps_no_counters(settings):
        app = create_app(settings)
        try:
            yield app
        finally:
            await app.state.engine.dispose()
        return
    key = settings.model_dump_json()
    if key not in _apps:
        _apps[key] = create_app(settings)
    yield _apps[key]


@pytest.fixture(scope="session", autouse=True)
async def _dispose_shared_apps() -> AsyncIterator[None]:
    yield
    for app in _apps.values():
        await app.state.engine.dispose()
    _apps.clear()


@asynccontextmanager
async def _http_client(settings: Settings, connection: AsyncConnection, token: str | None):
    async with app_for(settings) as app:
        # Each request's session commits into a savepoint of the test's transaction.
        app.state.sessionmaker = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://casetrack.test", headers=headers) as http:
            yield http


async def make_token(connection: AsyncConnection, role: Role, name: str | None = None) -> str:
    """A token of this role, stored in the test's transaction."""
    async with make_sessionmaker(connection, join_transaction_mode="create_savepoint")() as session:
        secret = await create_token(session, name or f"test-{role.name}-{uuid.uuid4().hex[:6]}", role)
        await session.commit()
    return secret


@pytest.fixture
async def client(settings: Settings, connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """An admin: may do anything, sees everything."""
    async with _http_client(settings, connection, await make_token(connection, Role.admin)) as http:
        yield http


@pytest.fixture
async def anonymous(settings: Settings, connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """No token at all: the public."""
    async with _http_client(settings, connection, None) as http:
        yield http


@pytest.fixture
async def client_as(settings: Settings, connection: AsyncConnection) -> AsyncIterator[Any]:
    """``await client_as(Role.reader)`` (or a raw token string): a client sending that token."""
    async with AsyncExitStack() as stack:

        async def make(who: Role | str) -> httpx.AsyncClient:
            token = who if isinstance(who, str) else await make_token(connection, who)
            return await stack.enter_async_context(_http_client(settings, connection, token))

        yield make


@pytest.fixture
def statements(database: Database) -> StatementCounter:
    """``with statements.count() as executed:`` collects every SQL statement the block runs."""
    return database.counter


def pytest_configure(config: pytest.Config) -> None:
    """Every event loop of the suite is uvloop's, as in the service: ``casetrack serve`` runs on uvicorn's fastest
    stack (uvloop and httptools, from ``uvicorn[standard]``). Set as the policy, not through pytest-asyncio alone,
    so the loops Schemathesis starts in threads for its ASGI client (tests/test_fuzz.py) are uvloop's too."""
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    # httpx, the tests' client, logs every request it sends at INFO, which the service's JSON log handler would
    # format and write beside the service's own access line: the client's chatter, not the service's behaviour.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Tests that say how much they ran (a ``record_property("ran", ...)``) have it printed at the end."""
    lines = [
        f"{report.nodeid}: {value}"
        for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
        if report.when == "call"
        for name, value in report.user_properties
        if name == "ran"
    ]
    if lines:
        terminalreporter.section("how much was run")
        for line in lines:
            terminalreporter.write_line(line)
