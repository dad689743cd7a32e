"""Failures the client did not cause, over real HTTP: an unexpected error inside the app, and the
database disappearing under running server processes (dropped, unreachable, its file moved away).

An unexpected error is a 500 problem document that keeps the request id, on a connection the server
keeps open. A database that cannot be reached is a 503 with Retry-After on every request that needs it,
JSON API and HTML pages alike, for as long as it is gone; once it is back the same processes serve again.
"""

import asyncio
import contextlib
import os
import shutil
import socket
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy.engine import make_url

from app.auth.roles import Role
from app.config import Settings
from app.main import create_app
from tests.conftest import Database
from tests.databases import POSTGRES_URL, migrated_database, postgres_admin
from tests.helpers import API, assert_problem
from tests.servers import Server, migrate, new_token, running_servers, server_environment, server_errors

START_TIMEOUT = 60.0  # safety nets against a hang, never assertions about speed


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _connection_of(response: httpx.Response) -> object:
    """The local address of the TCP connection a response came on (equal for two responses when the
    client's pool reused the connection), or None when that connection is closed already."""
    try:
        return response.extensions["network_stream"].get_extra_info("client_addr")
    except OSError:
        return None


# An unexpected error


@contextlib.asynccontextmanager
async def in_process_server(app: object) -> AsyncIterator[str]:
    """A real uvicorn server for ``app`` on a free loopback port, in this test's event loop."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=_free_port(), log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(START_TIMEOUT):
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        await task


async def test_an_unexpected_error_keeps_the_request_id_and_the_connection(database: Database) -> None:
    settings = Settings(
        database_url=database.url, auto_migrate=False, rate_limit_per_address="", rate_limit_per_token=""
    )
    app = create_app(settings)

    # Only in this test's own app: a route failing the way a bug would.
    @app.get("/test-only/failing")
    async def failing() -> None:
        raise RuntimeError("a bug in a route")

    async with in_process_server(app) as url, httpx.AsyncClient(base_url=url, timeout=30.0) as http:
        before = await http.get(f"{API}/cases")
        assert before.status_code == 200, before.text
        connection = _connection_of(before)
        failed = await http.get("/test-only/failing", headers={"X-Request-ID": "failure-11"})
        assert _connection_of(failed) == connection
        body = assert_problem(failed, 500)
        assert body["type"] == "urn:casetrack:problem:internal-error"
        assert "a bug in a route" not in failed.text  # the log has the detail; the client gets none
        assert failed.headers.get("x-request-id") == "failure-11"
        # The connection behaves: kept open (the next request goes over it and succeeds), or closed by saying so.
        if "close" not in failed.headers.get("connection", "").lower():
            after = await http.get(f"{API}/cases")
            assert after.status_code == 200, after.text
            assert _connection_of(after) == connection, "the server closed the connection without saying so"
        made_up = await http.get("/test-only/failing")
        assert len(made_up.headers.get("x-request-id", "")) >= 16  # one is made when the client sends none
    await app.state.engine.dispose()


# The database disappears


class TcpRelay:
    """A TCP relay to PostgreSQL: the network between the service and its database, which a test can cut
    (refusing new connections and breaking open ones) and restore on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = _free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def down(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()
        self.server = None

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.transport.abort()
            return
        self.writers |= {client_writer, server_writer}

        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            writer.transport.abort()

        await asyncio.gather(pipe(client_reader, server_writer), pipe(server_reader, client_writer))
        self.writers -= {client_writer, server_writer}


Outage = Callable[[], Awaitable[None]]
Restore = Callable[[], Awaitable[str]]  # brings the database back; the id of a case in it


async def _answers(server: Server, case_id: str) -> dict[str, httpx.Response]:
    """One request of each kind that needs the database: API reads and a write, and the HTML pages."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60.0) as http:
        return {
            "list": await http.get(f"{API}/cases"),
            "record": await http.get(f"{API}/cases/{case_id}"),
            "write": await http.post(f"{API}/people", json={"name": "Aliya Turusbekova"}),
            "timeline": await http.get(f"{API}/cases/{case_id}/timeline"),
            "page": await http.get("/"),
            "search page": await http.get("/", params={"q": "Kozlov"}),
            "case page": await http.get(f"/cases/{case_id}"),
            "readiness": await http.get("/readyz"),
        }


def _served(answers: dict[str, httpx.Response]) -> dict[str, int]:
    return {name: response.status_code for name, response in answers.items()}


SERVED = {
    "list": 200,
    "record": 200,
    "write": 401,  # no token: refused before anything is written, as ever
    "timeline": 200,
    "page": 200,
    "search page": 200,
    "case page": 200,
    "readiness": 200,
}


def _assert_unavailable(answers: dict[str, httpx.Response], servers: list[Server]) -> None:
    failures = []
    for name, response in answers.items():
        retry_after = response.headers.get("retry-after", "")
        if response.status_code != 503 or not retry_after.isdigit() or int(retry_after) < 1:
            failures.append(f"{name}: {response.status_code} Retry-After={retry_after!r} {response.text[:300]}")
        elif "x-request-id" not in response.headers:
            failures.append(f"{name}: no X-Request-ID")
        elif name.endswith("page"):
            if not response.headers["content-type"].startswith("text/html"):
                failures.append(f"{name}: a page answered {response.headers['content-type']}")
        else:
            assert_problem(response, 503)
    assert not failures, "\n".join(failures) + "\n" + server_errors(servers)


async def _check_outage(servers: list[Server], case_id: str, cut: Outage, restore: Restore) -> None:
    """Served before; 503 with Retry-After on every request, several rounds, while cut; served again after."""
    (server,) = servers
    assert _served(await _answers(server, case_id)) == SERVED, server_errors(servers)
    await cut()
    for _ in range(3):  # the first request after the cut, and every one after it
        _assert_unavailable(await _answers(server, case_id), servers)
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get("/healthz")).status_code == 200  # the process itself is alive
    case_id = await restore()
    assert _served(await _answers(server, case_id)) == SERVED, server_errors(servers)


async def _new_case(url: str) -> str:
    """The id of a case written through the API (of an app of this test's own) into that database."""
    token = await new_token(url, Role.editor)
    app = create_app(Settings(database_url=url, auto_migrate=False, rate_limit_per_address="", rate_limit_per_token=""))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(
            transport=transport, base_url="http://casetrack.test", headers={"Authorization": f"Bearer {token}"}
        ) as http:
            response = await http.post(f"{API}/cases", json={"title": "Kozlov case"})
            assert response.status_code == 201, response.text
            return response.json()["id"]
    finally:
        await app.state.engine.dispose()


async def test_a_dropped_postgresql_database_is_503_until_it_is_back(tmp_path: Path) -> None:
    async with migrated_database("postgresql", tmp_path) as url:
        name = make_url(url).database

        async def drop() -> None:
            await postgres_admin(f'DROP DATABASE "{name}" WITH (FORCE)')

        async def recreate() -> str:  # as an operator would: an empty database, migrated, filled again
            await postgres_admin(f'CREATE DATABASE "{name}"')
            await migrate(url)
            return await _new_case(url)

        case_id = await _new_case(url)
        async with running_servers(1, server_environment(url), tmp_path) as servers:
            await _check_outage(servers, case_id, drop, recreate)


async def test_an_unreachable_postgresql_server_is_503_until_it_is_back(tmp_path: Path) -> None:
    async with migrated_database("postgresql", tmp_path) as url:
        case_id = await _new_case(url)
        target = make_url(POSTGRES_URL)
        relay = TcpRelay((target.host or "127.0.0.1", target.port or 5432))
        await relay.up()
        through_relay = make_url(url).set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)

        async def reconnect() -> str:
            await relay.up()
            return case_id

        try:
            async with running_servers(1, server_environment(through_relay), tmp_path) as servers:
                await _check_outage(servers, case_id, relay.down, reconnect)
        finally:
            if relay.server is not None:
                await relay.down()


async def test_a_moved_sqlite_file_is_503_until_it_is_back(tmp_path: Path) -> None:
    async with migrated_database("sqlite", tmp_path) as url:
        case_id = await _new_case(url)
        path = Path(make_url(url).database or "")
        away = path.with_name(path.name + ".away")

        async def move_away() -> None:
            os.rename(path, away)

        async def move_back() -> str:
            os.rename(away, path)
            return case_id  # the same file: the case written before is served again

        async with running_servers(1, server_environment(url), tmp_path) as servers:
            await _check_outage(servers, case_id, move_away, move_back)


async def test_a_deleted_sqlite_file_is_503_until_a_backup_is_put_back(tmp_path: Path) -> None:
    """Deleted, the file is not recreated empty by the next connection; a copy put in its place (another
    file at the same path) is what the same server process then serves."""
    async with migrated_database("sqlite", tmp_path) as url:
        case_id = await _new_case(url)
        path = Path(make_url(url).database or "")
        backup = tmp_path / "backup.db"
        with contextlib.closing(sqlite3.connect(path)) as live, contextlib.closing(sqlite3.connect(backup)) as copy:
            live.backup(copy)

        async def delete() -> None:
            os.unlink(path)

        async def restore() -> str:
            assert not await asyncio.to_thread(os.path.exists, path), (
                "a connection created a new database file in place of the deleted one"
            )
            shutil.copyfile(backup, path)
            return case_id

        async with running_servers(1, server_environment(url), tmp_path) as servers:
            await _check_outage(servers, case_id, delete, restore)
