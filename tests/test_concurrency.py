"""No lost updates: versions, ETags and If-Match under real concurrency.

Each backend gets a real deployment, shared by this module's tests: a throwaway database migrated by
`casetrack migrate`, an editor token, and two uvicorn server processes sharing that database (on SQLite,
the same file). Fifty clients then read-modify-write one sentence's ``term_months`` at the same time,
alternating between the two servers, each a fixed number of times and never retrying a refused write.
Whatever the interleaving, every acknowledged write must be in the final state, every refused one must
have been refused with 412, and nothing may fail with 5xx.

A separate test checks that a write is committed before its answer leaves the server (the session is
committed by a dependency with scope="function"); on SQLite, write transactions begin IMMEDIATE so
concurrent writers queue on the lock instead of failing, and a writer that waited for the lock longer
than SQLite's busy timeout is answered 503 with Retry-After, never 500 (docs/deployment.md).
"""

import asyncio
import re
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from starlette.types import Message, Receive, Scope, Send

from app.auth.roles import Role
from app.config import Settings
from app.db import make_engine
from app.main import create_app
from tests.databases import add_token, migrated_database
from tests.helpers import API, assert_problem
from tests.servers import Deployment, deployed, server_errors

CLIENTS = 50
ROUNDS = 3  # read-modify-write attempts per client; the first one all clients start together
INITIAL_TERM = 12
RACE_TIMEOUT = 300.0  # safety nets against a hang, not speed requirements
SETTLE_TIMEOUT = 30.0


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deployment]:
    async with deployed(request.param, tmp_path_factory.mktemp(f"deployment-{request.param}")) as deployment:
        yield deployment


async def _once_committed(
    http: httpx.AsyncClient, path: str, committed: Callable[[httpx.Response], bool]
) -> httpx.Response:
    """GET ``path`` until ``committed(response)``, for at most SETTLE_TIMEOUT seconds; the last answer.

    A safety net only: an acknowledged write is committed already (its own test checks that), so the
    first answer normally settles it.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_TIMEOUT
    response = await http.get(path)
    while not committed(response) and loop.time() < deadline:
        await asyncio.sleep(0.05)
        response = await http.get(path)
    return response


async def _create_sentence(deployment: Deployment) -> str:
    """A person, a case and a sentence of INITIAL_TERM months; the sentence's path."""
    async with deployment.client() as http:

        async def post(path: str, body: dict) -> dict:
            response = await http.post(f"{API}{path}", json=body)
            assert response.status_code == 201, response.text
            await _once_committed(http, response.headers["location"], lambda read: read.status_code == 200)
            return response.json()

        person = await post("/people", {"name": "Vladimir Kozlov"})
        case = await post("/cases", {"title": "Kozlov case"})
        sentence = await post(
            f"/cases/{case['id']}/sentences", {"person_id": person["id"], "term_months": INITIAL_TERM}
        )
    assert sentence["version"] == 1
    return f"{API}/sentences/{sentence['id']}"


def version_in(etag: str) -> int:
    """The record version a strong record ETag (``"<version>-<digest>"``) carries."""
    found = re.fullmatch(r'"(\d+)-[0-9a-f]{32}"', etag)
    assert found, f"not a record ETag: {etag!r}"
    return int(found.group(1))


@dataclass
class Outcome:
    reads: list[httpx.Response] = field(default_factory=list)
    writes: list[httpx.Response] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)  # requests the server dropped without an answer


async def _client(deployment: Deployment, index: int, path: str, together: asyncio.Barrier) -> Outcome:
    """One client: ROUNDS times, GET the sentence, then PATCH term_months + 1 under If-Match. No retries."""
    outcome = Outcome()
    async with deployment.client(index) as http:
        for round_ in range(ROUNDS):
            try:
                read = await http.get(path)
            except httpx.TransportError as exc:
                read = None
                outcome.unanswered.append(f"GET: {exc!r}")
            else:
                outcome.reads.append(read)
            if round_ == 0:
                # Every client has read the same version before any writes: their If-Match values are
                # all equal, and only a check against the version current when each write runs (the
                # write locks the record first) can keep them apart.
                await together.wait()
            if read is None or read.status_code != 200:
                continue
            body, etag = {"term_months": read.json()["term_months"] + 1}, read.headers["etag"]
            try:
                outcome.writes.append(await http.patch(path, json=body, headers={"If-Match": etag}))
            except httpx.TransportError as exc:
                outcome.unanswered.append(f"PATCH: {exc!r}")
    return outcome


async def test_if_match_guards_patch_and_delete_across_servers(deployment: Deployment) -> None:
    """A write through one server makes the other server refuse an If-Match on the old version."""
    path = await _create_sentence(deployment)
    async with deployment.client(0) as one, deployment.client(1) as other:
        read = await other.get(path)
        assert version_in(read.headers["etag"]) == 1

        changed = await one.patch(path, json={"term_months": 24}, headers={"If-Match": '"1"'})
        assert changed.status_code == 200, changed.text
        assert version_in(changed.headers["etag"]) == 2
        await _once_committed(other, path, lambda read: read.json().get("version") == 2)

        stale_patch = await other.patch(path, json={"term_months": 36}, headers={"If-Match": '"1"'})
        assert_problem(stale_patch, 412)
        stale_delete = await other.delete(path, headers={"If-Match": '"1"'})
        assert_problem(stale_delete, 412)
        current = await other.get(path)
        assert current.status_code == 200
        assert current.json()["term_months"] == 24
        assert version_in(current.headers["etag"]) == 2

        deleted = await other.delete(path, headers={"If-Match": current.headers["etag"]})
        assert deleted.status_code == 204, deleted.text
        gone = await _once_committed(one, path, lambda read: read.status_code != 200)
        assert_problem(gone, 404)


async def test_a_write_is_committed_before_it_is_acknowledged(deployment: Deployment) -> None:
    """When the last byte of a 200 to a PATCH goes to the client, another connection sees the change.

    The app is driven in this process over ASGI, on the deployment's database, so that the moment the
    answer leaves the app can be watched exactly: from inside the ASGI ``send`` a server would use.
    """
    path = await _create_sentence(deployment)
    sentence_id = path.rsplit("/", 1)[1]
    settings = Settings(
        database_url=deployment.url, auto_migrate=False, rate_limit_per_address="", rate_limit_per_token=""
    )
    app = create_app(settings)
    observer = make_engine(settings)
    seen_when_acknowledged: list[tuple[int, int]] = []

    async def server(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_to_client(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body") and scope["method"] == "PATCH":
                async with observer.connect() as connection:
                    row = (
                        await connection.execute(
                            text("SELECT term_months, version FROM sentences WHERE id = :id"), {"id": sentence_id}
                        )
                    ).one()
                seen_when_acknowledged.append((row.term_months, row.version))
            await send(message)

        await app(scope, receive, send_to_client)

    try:
        transport = httpx.ASGITransport(app=server)
        headers = {"Authorization": f"Bearer {deployment.token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://casetrack.test", headers=headers) as http:
            response = await http.patch(path, json={"term_months": 99}, headers={"If-Match": '"1"'})
            assert response.status_code == 200, response.text
            assert (await http.get(path)).json()["term_months"] == 99  # committed, in the end
        assert seen_when_acknowledged == [(99, 2)]
    finally:
        await observer.dispose()
        await app.state.engine.dispose()


# Last for each deployment: the heaviest test.
async def test_concurrent_read_modify_write_loses_no_update(
    deployment: Deployment, request: pytest.FixtureRequest
) -> None:
    path = await _create_sentence(deployment)

    together = asyncio.Barrier(CLIENTS)
    async with asyncio.timeout(RACE_TIMEOUT):
        outcomes = await asyncio.gather(*(_client(deployment, i, path, together) for i in range(CLIENTS)))
    reads = [response for outcome in outcomes for response in outcome.reads]
    writes = [response for outcome in outcomes for response in outcome.writes]
    unanswered = [failure for outcome in outcomes for failure in outcome.unanswered]

    statuses = sorted(response.status_code for response in reads + writes)
    assert not [s for s in statuses if s >= 500], f"5xx answers: {statuses}\n{server_errors(deployment.servers)}"
    assert not unanswered, f"requests without an answer: {unanswered}\n{server_errors(deployment.servers)}"
    assert all(response.status_code == 200 for response in reads), statuses
    assert len(writes) == CLIENTS * ROUNDS

    acknowledged = [response for response in writes if response.status_code == 200]
    for response in writes:
        if response.status_code != 200:
            assert_problem(response, 412)
    for response in acknowledged:
        assert version_in(response.headers["etag"]) == response.json()["version"]
    assert acknowledged, "no write got through"
    assert len(acknowledged) < len(writes), "fifty clients writing the same version all got through"

    # Each acknowledged write built on the one before it: no two wrote the same value.
    written = sorted(response.json()["term_months"] for response in acknowledged)
    assert written == list(range(INITIAL_TERM + 1, INITIAL_TERM + len(acknowledged) + 1))

    expected_version = 1 + len(acknowledged)
    for index in range(len(deployment.servers)):
        async with deployment.client(index) as http:
            final = await _once_committed(http, path, lambda read: read.json().get("version", 0) >= expected_version)
        assert final.status_code == 200, final.text
        assert final.json()["term_months"] == INITIAL_TERM + len(acknowledged)
        assert final.json()["version"] == expected_version
        assert version_in(final.headers["etag"]) == expected_version


# Another process holds SQLite's write lock (BEGIN IMMEDIATE) until its standard input closes.
HOLD_THE_WRITE_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("holding", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""


def app_running_on_connect(settings: Settings, statement: str) -> FastAPI:
    """An app on ``settings`` whose every new database connection first runs ``statement`` (a shorter wait
    for locks, so a test does not wait the service's half a minute)."""
    app = create_app(settings)

    @event.listens_for(app.state.engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(statement)
        cursor.close()

    return app


async def test_a_writer_that_waited_past_the_busy_timeout_gets_503_with_retry_after(tmp_path: Path) -> None:
    """On SQLite a write waits for the write lock up to the busy timeout (30 s in app/db.py; 0.2 s here, so
    the test does not wait half a minute), then is refused with a 503 problem and Retry-After, not a 500;
    once the lock is free, the same write succeeds."""
    async with migrated_database("sqlite", tmp_path) as url:
        settings = Settings(database_url=url, auto_migrate=False, rate_limit_per_address="", rate_limit_per_token="")
        token = await add_token(settings, "editor", Role.editor)
        app = app_running_on_connect(settings, "PRAGMA busy_timeout=200")

        holder = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            HOLD_THE_WRITE_LOCK,
            make_url(url).database,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert (await holder.stdout.readline()).strip() == b"holding"
            transport = httpx.ASGITransport(app=app)
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://casetrack.test", headers=headers
            ) as http:
                refused = await http.post(f"{API}/people", json={"name": "Vladimir Kozlov"})
                assert_problem(refused, 503, "busy with other writes", "nothing was changed")
                assert int(refused.headers["retry-after"]) >= 1
                assert (await http.get(f"{API}/people")).status_code == 200  # readers are not blocked (WAL)

                holder.stdin.close()
                assert await asyncio.wait_for(holder.wait(), SETTLE_TIMEOUT) == 0
                created = await http.post(f"{API}/people", json={"name": "Vladimir Kozlov"})
                assert created.status_code == 201, created.text
        finally:
            if holder.returncode is None:
                holder.kill()
                await holder.wait()
            await app.state.engine.dispose()


async def test_a_write_that_waited_past_postgresqls_lock_timeout_gets_503_with_retry_after(tmp_path: Path) -> None:
    """On PostgreSQL a write waits for the row lock another transaction holds; past `lock_timeout` (set to
    0.2 s here for the service's connections) it is refused with a 503 problem that says the database is
    busy and nothing was changed, not a 500; once the lock is free, the same write succeeds."""
    async with migrated_database("postgresql", tmp_path) as url:
        settings = Settings(database_url=url, auto_migrate=False, rate_limit_per_address="", rate_limit_per_token="")
        token = await add_token(settings, "editor", Role.editor)
        app = app_running_on_connect(settings, "SET lock_timeout = '200ms'")

        holder = make_engine(settings)
        transport = httpx.ASGITransport(app=app)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="http://casetrack.test", headers=headers
            ) as http:
                created = await http.post(f"{API}/people", json={"name": "Vladimir Kozlov"})
                assert created.status_code == 201, created.text
                person = created.json()["id"]
                async with holder.connect() as other:
                    transaction = await other.begin()
                    await other.execute(text("select 1 from people where id = :id for update"), {"id": person})
                    refused = await http.patch(f"{API}/people/{person}", json={"description": "changed"})
                    assert_problem(refused, 503, "busy with other writes", "nothing was changed")
                    assert int(refused.headers["retry-after"]) >= 1
                    await transaction.rollback()
                changed = await http.patch(f"{API}/people/{person}", json={"description": "changed"})
                assert changed.status_code == 200, changed.text
                assert changed.json()["description"] == "changed"
        finally:
            await holder.dispose()
            await app.state.engine.dispose()
