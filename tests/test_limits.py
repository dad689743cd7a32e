"""Limits: request body size (413), string and list lengths in the schemas (422), and rate limits (429)
per client address and per API token, counted per process in memory or shared between server
processes through Redis.

The in-process tests drive the app over ASGI on the suite's databases (SQLite and PostgreSQL), with
settings of their own; the last ones start real uvicorn processes sharing a Redis rate-limit storage.
"""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import coredis
import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.roles import Role
from app.config import Settings
from app.models import Base
from tests.conftest import Database, _http_client, make_token
from tests.databases import migrated_database
from tests.helpers import API, assert_problem, make_source
from tests.servers import (
    Server,
    new_token,
    own_loopback_address,
    running_servers,
    server_environment,
)

SMALL_LIMIT = 2048  # bytes; the smallest the settings allow is 1024
REDIS_URL = "redis://127.0.0.1:6379/9"  # a Redis database kept for these tests; only their own keys are touched


def _settings(database: Database, **overrides: Any) -> Settings:
    return Settings(
        **{
            "database_url": database.url,
            "auto_migrate": False,
            "rate_limit_per_address": "",
            "rate_limit_per_token": "",
            **overrides,
        }
    )


async def _rows(connection: AsyncConnection) -> dict[str, int]:
    """How many rows each table holds, so that "nothing was written" can be checked in the database."""
    counts = {}
    for table in Base.metadata.sorted_tables:
        counts[table.name] = (await connection.execute(text(f'select count(*) from "{table.name}"'))).scalar_one()
    return counts


def _padded(body: dict[str, Any], size: int) -> bytes:
    """``body`` as JSON of exactly ``size`` bytes: trailing whitespace, which JSON ignores."""
    encoded = json.dumps(body).encode()
    assert len(encoded) <= size
    return encoded + b" " * (size - len(encoded))


def _streamed(data: bytes, chunk: int = 512) -> AsyncIterator[bytes]:
    """The body as an async stream: httpx then sends it chunked, without Content-Length."""

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), chunk):
            yield data[start : start + chunk]

    return chunks()


JSON = {"Content-Type": "application/json"}


# Body size


@pytest.mark.parametrize("size", [SMALL_LIMIT + 1, 10 * SMALL_LIMIT])
async def test_a_body_announced_over_the_limit_is_refused_and_nothing_is_written(
    database: Database, connection: AsyncConnection, size: int
) -> None:
    token = await make_token(connection, Role.editor)
    async with _http_client(_settings(database, max_body_bytes=SMALL_LIMIT), connection, token) as http:
        before = await _rows(connection)
        # Valid JSON for a valid person, only too long.
        response = await http.post(f"{API}/people", content=_padded({"name": "Vladimir Kozlov"}, size), headers=JSON)
        assert response.request.headers["content-length"] == str(size)
        assert_problem(response, 413, str(SMALL_LIMIT))
        assert await _rows(connection) == before


async def test_a_body_of_exactly_the_limit_is_accepted(database: Database, connection: AsyncConnection) -> None:
    token = await make_token(connection, Role.editor)
    async with _http_client(_settings(database, max_body_bytes=SMALL_LIMIT), connection, token) as http:
        body = _padded({"name": "Vladimir Kozlov"}, SMALL_LIMIT)
        announced = await http.post(f"{API}/people", content=body, headers=JSON)
        assert announced.status_code == 201, announced.text
        streamed = await http.post(f"{API}/people", content=_streamed(body), headers=JSON)
        assert "content-length" not in streamed.request.headers
        assert streamed.status_code == 201, streamed.text


@pytest.mark.parametrize("size", [SMALL_LIMIT + 1, 10 * SMALL_LIMIT])
async def test_a_body_streamed_over_the_limit_is_refused_and_nothing_is_written(
    database: Database, connection: AsyncConnection, size: int
) -> None:
    token = await make_token(connection, Role.editor)
    async with _http_client(_settings(database, max_body_bytes=SMALL_LIMIT), connection, token) as http:
        before = await _rows(connection)
        body = _padded({"name": "Vladimir Kozlov"}, size)
        response = await http.post(f"{API}/people", content=_streamed(body), headers=JSON)
        assert "content-length" not in response.request.headers
        assert await _rows(connection) == before
        assert_problem(response, 413, str(SMALL_LIMIT))


async def test_the_default_limit_is_one_megabyte(
    database: Database, connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CASETRACK_MAX_BODY_BYTES", raising=False)
    settings = _settings(database)
    assert settings.max_body_bytes == 1_000_000
    token = await make_token(connection, Role.editor)
    async with _http_client(settings, connection, token) as http:
        before = await _rows(connection)
        response = await http.post(
            f"{API}/people", content=_padded({"name": "Vladimir Kozlov"}, 1_000_001), headers=JSON
        )
        assert_problem(response, 413, "1000000")
        assert await _rows(connection) == before
        response = await http.post(
            f"{API}/people", content=_padded({"name": "Vladimir Kozlov"}, 1_000_000), headers=JSON
        )
        assert response.status_code == 201, response.text


async def test_a_patch_over_the_limit_changes_nothing(database: Database, connection: AsyncConnection) -> None:
    token = await make_token(connection, Role.editor)
    async with _http_client(_settings(database, max_body_bytes=SMALL_LIMIT), connection, token) as http:
        source = await make_source(http)
        response = await http.patch(
            f"{API}/sources/{source['id']}", content=_padded({"title": "Changed"}, SMALL_LIMIT + 1), headers=JSON
        )
        assert_problem(response, 413)
        current = await http.get(f"{API}/sources/{source['id']}")
        assert current.json()["title"] == source["title"]
        assert current.json()["version"] == source["version"]


# Lengths bounded by the schemas


async def test_a_name_longer_than_500_characters_is_refused(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    before = await _rows(connection)
    body = assert_problem(await client.post(f"{API}/people", json={"name": "x" * 600}), 422, "500")
    assert [error["field"] for error in body["errors"]] == ["name"]
    assert await _rows(connection) == before

    accepted = await client.post(f"{API}/people", json={"name": "x" * 500})
    assert accepted.status_code == 201, accepted.text
    person = accepted.json()
    refused = await client.patch(f"{API}/people/{person['id']}", json={"name": "y" * 600})
    assert [error["field"] for error in assert_problem(refused, 422, "500")["errors"]] == ["name"]
    assert (await client.get(f"{API}/people/{person['id']}")).json()["name"] == "x" * 500


async def test_more_than_200_ids_in_a_list_are_refused(client: httpx.AsyncClient, connection: AsyncConnection) -> None:
    source = await make_source(client)
    before = await _rows(connection)
    ids = [source["id"]] * 300
    body = assert_problem(
        await client.post(f"{API}/cases", json={"title": "Kozlov case", "source_ids": ids}), 422, "200"
    )
    assert [error["field"] for error in body["errors"]] == ["source_ids"]
    assert await _rows(connection) == before


# Rate limits, in one process


def _rate_headers(response: httpx.Response) -> tuple[int, int, int]:
    limit = int(response.headers["ratelimit-limit"])
    remaining = int(response.headers["ratelimit-remaining"])
    reset = int(response.headers["ratelimit-reset"])
    assert 0 <= remaining <= limit
    assert 0 <= reset <= 60
    return limit, remaining, reset


def _assert_too_many(response: httpx.Response, limit: int) -> None:
    assert_problem(response, 429, str(limit))
    limits = _rate_headers(response)
    assert limits[:2] == (limit, 0)
    assert int(response.headers["retry-after"]) >= max(limits[2], 1)


async def test_the_sixth_request_a_minute_from_one_address_gets_429(
    database: Database, connection: AsyncConnection
) -> None:
    token = await make_token(connection, Role.editor)
    settings = _settings(database, rate_limit_per_address="5/minute")
    async with _http_client(settings, connection, token) as http:
        remaining = []
        for _ in range(5):
            response = await http.get(f"{API}/people")
            assert response.status_code == 200, response.text
            limit, left, _reset = _rate_headers(response)
            assert limit == 5
            remaining.append(left)
        assert remaining == [4, 3, 2, 1, 0]

        before = await _rows(connection)
        refused = await http.post(f"{API}/people", json={"name": "Vladimir Kozlov"})
        _assert_too_many(refused, 5)
        assert await _rows(connection) == before  # the refused write did not happen
        _assert_too_many(await http.get(f"{API}/people"), 5)

        # The probes stay answerable: an orchestrator polling them from one address is not throttled.
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200


async def test_limits_off_means_no_rate_headers(database: Database, connection: AsyncConnection) -> None:
    async with _http_client(_settings(database), connection, None) as http:
        for _ in range(10):
            response = await http.get(f"{API}/people")
            assert response.status_code == 200
            assert "ratelimit-limit" not in response.headers


async def test_each_token_has_its_own_limit_apart_from_the_address(
    database: Database, connection: AsyncConnection
) -> None:
    first, second = await make_token(connection, Role.reader), await make_token(connection, Role.reader)
    settings = _settings(database, rate_limit_per_address="100/minute", rate_limit_per_token="3/minute")
    async with _http_client(settings, connection, None) as http:  # one app: one count
        as_first = {"Authorization": f"Bearer {first}"}
        for left in (2, 1, 0):
            response = await http.get(f"{API}/people", headers=as_first)
            assert response.status_code == 200
            assert _rate_headers(response)[:2] == (3, left)  # the tighter of the two limits is shown
        _assert_too_many(await http.get(f"{API}/people", headers=as_first), 3)

        # Same address, another token: a count of its own.
        response = await http.get(f"{API}/people", headers={"Authorization": f"Bearer {second}"})
        assert response.status_code == 200
        assert _rate_headers(response)[:2] == (3, 2)
        # Same address, no token: only the address counts (five requests before this one).
        response = await http.get(f"{API}/people")
        assert response.status_code == 200
        assert _rate_headers(response)[:2] == (100, 94)


async def test_the_address_limit_holds_whatever_the_token(database: Database, connection: AsyncConnection) -> None:
    tokens = [await make_token(connection, Role.reader) for _ in range(3)]
    settings = _settings(database, rate_limit_per_address="5/minute", rate_limit_per_token="100/minute")
    async with _http_client(settings, connection, None) as anonymous:
        for number in range(5):
            token = tokens[number % 3]
            response = await anonymous.get(f"{API}/people", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text
            assert _rate_headers(response)[:2] == (5, 4 - number)
        for who in [*tokens, None]:
            headers = {"Authorization": f"Bearer {who}"} if who else {}
            _assert_too_many(await anonymous.get(f"{API}/people", headers=headers), 5)


@pytest.mark.parametrize(
    "path",
    ["/", "/?q=Kozlov", "/cases/{case}", "/metrics", "/openapi.json", "/docs", "/static/favicon.svg"],
)
async def test_pages_and_metrics_count_against_the_address_limit(
    database: Database, connection: AsyncConnection, path: str
) -> None:
    """Everything the service serves is counted, not only /api/: a scraper of the HTML pages or of
    /metrics meets the same limit as one of the JSON API. Only /healthz and /readyz are exempt."""
    editor = await make_token(connection, Role.editor)
    async with _http_client(_settings(database), connection, editor) as unlimited:
        case = (await unlimited.post(f"{API}/cases", json={"title": "Kozlov case"})).json()["id"]
    path = path.format(case=case)
    settings = _settings(database, rate_limit_per_address="3/minute")
    async with _http_client(settings, connection, None) as http:
        for left in (2, 1):
            response = await http.get(path)
            assert response.status_code == 200, response.text
            assert _rate_headers(response)[:2] == (3, left), path
        assert (await http.get(f"{API}/people")).status_code == 200  # the API shares the same count
        _assert_too_many(await http.get(path), 3)
        for probe in ("/healthz", "/readyz"):
            answer = await http.get(probe)
            assert answer.status_code == 200, answer.text
            assert "ratelimit-limit" not in answer.headers


@pytest.mark.parametrize("header", ["Bearer   {token}", "bearer {token}", "BEARER {token}  ", "Bearer {token}"])
async def test_spellings_of_one_bearer_token_share_its_limit(
    database: Database, connection: AsyncConnection, header: str
) -> None:
    """The per-token count is keyed on the token that authenticates the request, not on the raw header:
    the scheme's case and the spaces around the secret change nothing."""
    token = await make_token(connection, Role.reader)
    settings = _settings(database, rate_limit_per_address="100/minute", rate_limit_per_token="3/minute")
    async with _http_client(settings, connection, None) as http:
        for left, spelling in zip((2, 1, 0), ("Bearer {token}", header, "bearer  {token}"), strict=True):
            response = await http.get(f"{API}/people", headers={"Authorization": spelling.format(token=token)})
            assert response.status_code == 200, response.text  # every spelling authenticates the same token
            assert _rate_headers(response)[:2] == (3, left), spelling
        _assert_too_many(await http.get(f"{API}/people", headers={"Authorization": header.format(token=token)}), 3)


# Real server processes sharing a Redis rate-limit storage


@dataclass
class SharedLimit:
    servers: list[Server]
    token: str


async def _redis_keys(address: str, delete: bool = False) -> list[str]:
    """The keys of this address's counters in the shared Redis database; deleted if asked."""
    redis = coredis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        keys = [key async for key in redis.scan_iter(match=f"*address:{address}*")]
        if keys and delete:
            await redis.delete(keys)
        return keys
    finally:
        redis.connection_pool.disconnect()


@pytest.fixture(scope="module")
async def shared_limit(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SharedLimit]:
    """Two uvicorn processes on one database, counting per address in one Redis: 10 requests a minute."""
    directory = tmp_path_factory.mktemp("shared-limit")
    async with migrated_database("sqlite", directory) as url:
        token = await new_token(url, Role.editor)
        env = server_environment(
            url,
            rate_limit_per_address="10/minute",
            rate_limit_storage=f"async+{REDIS_URL}",
            max_body_bytes=str(SMALL_LIMIT),
        )
        async with running_servers(2, env, directory) as servers:
            yield SharedLimit(servers, token)


@pytest.fixture
async def address() -> AsyncIterator[str]:
    """A loopback address of this test's own to send from: its counters in Redis are its own."""
    address = own_loopback_address()
    await _redis_keys(address, delete=True)
    try:
        yield address
    finally:
        await _redis_keys(address, delete=True)


def _client_from(address: str, server: Server, token: str | None = None) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(transport=transport, base_url=server.url, headers=headers, timeout=60.0)


async def test_server_processes_share_the_count_through_redis(shared_limit: SharedLimit, address: str) -> None:
    one, other = shared_limit.servers
    answers = []
    async with _client_from(address, one) as first, _client_from(address, other) as second:
        for http in [first] * 6 + [second] * 6:
            answers.append(await http.get(f"{API}/people"))
    assert [response.status_code for response in answers] == [200] * 10 + [429] * 2
    assert [_rate_headers(response)[1] for response in answers[:10]] == [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
    for response in answers[10:]:
        _assert_too_many(response, 10)
    assert await _redis_keys(address), "the count is not in Redis"


async def test_the_shared_count_is_per_address(shared_limit: SharedLimit, address: str) -> None:
    """Another address is not slowed down by one that used up its limit on both servers."""
    one, other = shared_limit.servers
    async with _client_from(address, one) as first, _client_from(address, other) as second:
        for number in range(10):
            assert (await (first if number % 2 else second).get(f"{API}/people")).status_code == 200
        _assert_too_many(await first.get(f"{API}/people"), 10)
        _assert_too_many(await second.get(f"{API}/people"), 10)
    neighbour = own_loopback_address()
    try:
        async with _client_from(neighbour, other) as http:
            response = await http.get(f"{API}/people")
            assert response.status_code == 200
            assert _rate_headers(response)[:2] == (10, 9)
    finally:
        await _redis_keys(neighbour, delete=True)


async def test_a_body_announced_over_the_limit_over_real_http(shared_limit: SharedLimit, address: str) -> None:
    async with _client_from(address, shared_limit.servers[0], shared_limit.token) as http:
        body = _padded({"title": "A report"}, SMALL_LIMIT + 1)
        assert_problem(await http.post(f"{API}/sources", content=body, headers=JSON), 413, str(SMALL_LIMIT))
        assert (await http.get(f"{API}/sources")).json()["items"] == []


async def test_a_body_streamed_over_the_limit_over_real_http(shared_limit: SharedLimit, address: str) -> None:
    async with _client_from(address, shared_limit.servers[1], shared_limit.token) as http:
        body = _streamed(_padded({"title": "A report"}, 4 * SMALL_LIMIT))
        response = await http.post(f"{API}/sources", content=body, headers=JSON)
        assert "content-length" not in response.request.headers
        assert (await http.get(f"{API}/sources")).json()["items"] == []
        assert_problem(response, 413, str(SMALL_LIMIT))
