"""Real casetrack deployments for tests: throwaway databases at the current schema (copies of one migrated
template, see tests/databases.py), and uvicorn server processes on free loopback ports, stopped and dropped
afterwards.

Every wait here is bounded by a timeout; the timeouts are safety nets, never assertions about speed.
"""

import asyncio
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.auth.roles import Role
from app.auth.service import create_token
from app.config import Settings
from app.db import make_engine
from app.sessions import make_sessionmaker
from tests.databases import migrated_database

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0  # seconds for a server process to answer its first request
STOP_TIMEOUT = 15.0
MIGRATE_TIMEOUT = 180.0


def server_environment(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a server process: this one's, minus any casetrack setting, plus these.

    ``settings`` are casetrack settings by their field name (``rate_limit_per_address="10/minute"``);
    rate limits are off unless given, the schema is migrated beforehand, not on start.
    """
    env = {key: value for key, value in os.environ.items() if not key.upper().startswith("CASETRACK_")}
    env.pop("DATABASE_URL", None)
    env["DATABASE_URL"] = database_url
    defaults = {"rate_limit_per_address": "", "rate_limit_per_token": "", "auto_migrate": "false"}
    for name, value in (defaults | settings).items():
        env[f"CASETRACK_{name.upper()}"] = value
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def migrate(database_url: str) -> None:
    """`casetrack migrate`, run as the operator would."""
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app.cli", "migrate"],
        cwd=ROOT,
        env=server_environment(database_url),
        capture_output=True,
        text=True,
        timeout=MIGRATE_TIMEOUT,
    )
    assert result.returncode == 0, f"casetrack migrate failed:\n{result.stdout}\n{result.stderr}"


async def new_token(database_url: str, role: Role, name: str | None = None) -> str:
    """A token stored in that database (the way `casetrack tokens create` does it)."""
    engine = make_engine(Settings(database_url=database_url))
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await create_token(session, name or f"{role.name}-{uuid.uuid4().hex[:8]}", role)
    finally:
        await engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=STOP_TIMEOUT)


async def _wait_until_answering(server: Server) -> bool:
    """True once the server answers over HTTP, False if the process died first (its port was taken)."""
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as probe:
        while asyncio.get_running_loop().time() < deadline:
            if server.process.poll() is not None:
                return False
            try:
                response = await probe.get("/openapi.json")
            except httpx.TransportError:
                await asyncio.sleep(0.1)
                continue
            assert response.status_code == 200, response.text
            return True
    raise AssertionError(f"the server on port {server.port} did not answer in {START_TIMEOUT} s:\n{server.output()}")


@asynccontextmanager
async def running_servers(count: int, env: dict[str, str], directory: Path) -> AsyncIterator[list[Server]]:
    """``count`` uvicorn processes serving the app with this environment, each on its own free loopback
    port, answering before this yields; always stopped afterwards."""
    servers: list[Server] = []
    try:
        for index in range(count):
            for attempt in range(5):  # a free port may be taken between the probe and uvicorn's bind
                log = directory / f"server-{index}-{attempt}-{uuid.uuid4().hex[:6]}.log"
                port = _free_port()
                with log.open("wb") as sink:
                    process = await asyncio.to_thread(
                        subprocess.Popen,
                        [
                            sys.executable,
                            "-m",
                            "uvicorn",
                            "app.main:create_server_app",
                            "--factory",
                            "--host",
                            "127.0.0.1",
                            "--port",
                            str(port),
                            "--log-level",
                            "warning",
                            "--no-access-log",
                        ],
                        cwd=ROOT,
                        env=env,
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                    )
                server = Server(process, port, log)
                servers.append(server)
                if await _wait_until_answering(server):
                    break
                await asyncio.to_thread(_stop, server)
                servers.remove(server)
            else:
                raise AssertionError(f"no server process would start:\n{log.read_text(errors='replace')}")
        yield servers
    finally:
        for server in servers:
            await asyncio.to_thread(_stop, server)


@dataclass
class Deployment:
    """A throwaway database at the current schema, one token, and server processes sharing it."""

    backend: str
    url: str
    token: str
    servers: list[Server]

    def client(self, index: int = 0, token: str | None = None) -> httpx.AsyncClient:
        """A client of server ``index`` (modulo their number), sending the deployment's token or ``token``."""
        server = self.servers[index % len(self.servers)]
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.AsyncClient(base_url=server.url, headers=headers, timeout=120.0)


@asynccontextmanager
async def deployed(
    backend: str, directory: Path, role: Role = Role.editor, count: int = 2, **settings: str
) -> AsyncIterator[Deployment]:
    """A deployment on a new ``backend`` database ("sqlite" or "postgresql") with a token of ``role`` and
    ``count`` server processes (casetrack ``settings`` as in server_environment)."""
    async with migrated_database(backend, directory) as url:
        token = await new_token(url, role)
        async with running_servers(count, server_environment(url, **settings), directory) as servers:
            yield Deployment(backend, url, token, servers)


def server_errors(servers: list[Server], limit: int = 6000) -> str:
    """What the servers logged beyond routine access lines (tracebacks of 5xx answers, for instance),
    the end of it, for assertion messages."""
    parts = []
    for server in servers:
        lines = [line for line in server.output().splitlines() if '"level": "INFO"' not in line]
        parts.append(f"--- server on port {server.port}:\n" + "\n".join(lines)[-limit:])
    return "\n".join(parts)


def own_loopback_address() -> str:
    """A random loopback address (127.x.y.z) to send from, so that per-address counters of this test
    are its own even in a storage other runs share."""
    while True:
        number = uuid.uuid4().int
        candidate = f"127.{number % 200 + 20}.{(number >> 8) % 250 + 1}.{(number >> 16) % 250 + 1}"
        with socket.socket() as probe:
            try:
                probe.bind((candidate, 0))
            except OSError:
                continue
        return candidate
