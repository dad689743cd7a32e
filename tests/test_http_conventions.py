"""HTTP conventions on every response: ETags and conditional GETs (304), gzip, CORS, and the OpenAPI
description's operation ids and tags.

Every test runs on SQLite and on PostgreSQL, each in its own rolled-back transaction.
"""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.routing import Mount, Route
from starlette.types import Message, Receive, Scope, Send

from app import main
from app.auth.dependencies import authorize_method
from app.auth.roles import Role
from app.config import Settings
from app.filters import check_request_params
from app.main import create_app
from app.sessions import make_sessionmaker
from tests.conftest import app_for, make_token
from tests.helpers import API, make_case, make_person, post
from tests.test_auth import World, make_world

FRONTEND = "https://frontend.example"


@asynccontextmanager
async def client_for(settings: Settings, connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app built with ``settings``, writing into the test's transaction (as conftest's does)."""
    async with app_for(settings) as app:
        app.state.sessionmaker = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://casetrack.test") as http_client:
            yield http_client


@pytest.fixture
async def cors_client(
    settings: Settings, connection: AsyncConnection, client: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """Like ``client`` (same transaction, same credentials if it sends any), on an app allowing FRONTEND."""
    cors = Settings(database_url=settings.database_url, auto_migrate=False, cors_origins=FRONTEND)
    async with client_for(cors, connection) as http_client:
        if "authorization" in client.headers:
            http_client.headers["Authorization"] = client.headers["authorization"]
        yield http_client


async def fetch(client: httpx.AsyncClient, path: str, etag: str | None = None, **kw: Any) -> httpx.Response:
    headers = dict(kw.pop("headers", {}))
    if etag is not None:
        headers["If-None-Match"] = etag
    return await client.get(f"{API}{path}", headers=headers, **kw)


def etag_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    etag = response.headers.get("etag")
    assert etag, f"no ETag on {response.request.url}"
    assert etag.strip('W/"'), etag
    return etag


async def assert_not_modified(
    client: httpx.AsyncClient, path: str, etag: str, sent: str | None = None, **kw: Any
) -> None:
    """If-None-Match: ``sent`` (default: ``etag``) gets a 304 with no body and the current ``etag``."""
    response = await fetch(client, path, sent or etag, **kw)
    assert response.status_code == 304, response.text
    assert response.content == b""
    assert response.headers["etag"] == etag


# ETag and If-None-Match


@pytest.fixture
async def story(client: httpx.AsyncClient) -> dict[str, str]:
    person = (await make_person(client, "Vladimir Kozlov", country="KZ"))["id"]
    await make_person(client, "Aliya Turusbekova", country="KZ")
    case = (await make_case(client, "Kozlov case"))["id"]
    hearing = (await post(client, f"/cases/{case}/hearings", {"kind": "trial", "date": "2012-08-16"}))["id"]
    return {"person": person, "case": case, "hearing": hearing}


async def test_a_record_has_an_etag_and_answers_304_until_it_changes(
    client: httpx.AsyncClient, story: dict[str, str]
) -> None:
    path = f"/people/{story['person']}"
    first = await fetch(client, path)
    etag = etag_of(first)
    assert etag_of(await fetch(client, path)) == etag  # stable while nothing changes
    await assert_not_modified(client, path, etag)

    patched = await client.patch(f"{API}{path}", json={"description": "Opposition leader"})
    assert patched.status_code == 200
    again = await fetch(client, path, etag)  # the old tag no longer matches
    assert again.status_code == 200
    assert again.json()["description"] == "Opposition leader"
    new_etag = etag_of(again)
    assert new_etag != etag
    await assert_not_modified(client, path, new_etag)


async def test_a_list_has_an_etag_that_follows_its_content(client: httpx.AsyncClient, story: dict[str, str]) -> None:
    etag = etag_of(await fetch(client, "/people"))
    await assert_not_modified(client, "/people", etag)
    other_list = etag_of(await fetch(client, "/people", params={"sort": "-name"}))
    assert other_list != etag  # another order is another representation

    patched = await client.patch(f"{API}/people/{story['person']}", json={"name": "Vladimir Kozlov Jr"})
    assert patched.status_code == 200
    response = await fetch(client, "/people", etag)
    assert response.status_code == 200
    assert "Vladimir Kozlov Jr" in {p["name"] for p in response.json()["items"]}
    assert etag_of(response) != etag


async def test_a_timeline_has_an_etag_that_follows_its_content(
    client: httpx.AsyncClient, story: dict[str, str]
) -> None:
    path = f"/cases/{story['case']}/timeline"
    etag = etag_of(await fetch(client, path))
    await assert_not_modified(client, path, etag)

    patched = await client.patch(f"{API}/hearings/{story['hearing']}", json={"date": "2012-08-17"})
    assert patched.status_code == 200
    response = await fetch(client, path, etag)
    assert response.status_code == 200
    assert response.json()["items"][0]["date"] == "2012-08-17"
    new_etag = etag_of(response)
    assert new_etag != etag
    await assert_not_modified(client, path, new_etag)


async def test_if_none_match_forms(client: httpx.AsyncClient, story: dict[str, str]) -> None:
    path = f"/people/{story['person']}"
    etag = etag_of(await fetch(client, path))
    strong = etag.removeprefix("W/")
    await assert_not_modified(client, path, etag, strong)  # weak comparison: W/ does not matter
    await assert_not_modified(client, path, etag, f'W/"0000", {etag}')  # one of several
    await assert_not_modified(client, path, etag, "*")
    assert (await fetch(client, path, 'W/"0000"')).status_code == 200


async def test_post_and_patch_are_not_conditional_gets(client: httpx.AsyncClient, story: dict[str, str]) -> None:
    path = f"/people/{story['person']}"
    etag = etag_of(await fetch(client, path))
    created = await client.post(f"{API}/people", json={"name": "Someone"}, headers={"If-None-Match": "*"})
    assert created.status_code == 201
    assert created.json()["name"] == "Someone"
    unchanged = {"country": "KZ"}  # the same value again: the record's representation may stay the same
    patched = await client.patch(f"{API}{path}", json=unchanged, headers={"If-None-Match": etag})
    assert patched.status_code == 200
    assert patched.json()["id"] == story["person"]
    patched = await client.patch(f"{API}{path}", json=unchanged, headers={"If-None-Match": "*"})
    assert patched.status_code == 200 and patched.content


async def test_errors_carry_no_etag_and_are_never_304(client: httpx.AsyncClient) -> None:
    missing = await fetch(client, "/people/nosuchperson", "*")
    assert missing.status_code == 404
    assert "etag" not in missing.headers
    bad = await fetch(client, "/people", "*", params={"sort": "nope"})
    assert bad.status_code == 422


# gzip


async def test_a_large_list_is_gzipped_when_the_client_accepts_it(client: httpx.AsyncClient) -> None:
    for i in range(40):
        await make_person(client, f"Person {i:02d}", description="A long description of this person. " * 4)
    gzipped = await fetch(client, "/people", params={"limit": 500}, headers={"Accept-Encoding": "gzip"})
    assert gzipped.status_code == 200
    assert gzipped.headers.get("content-encoding") == "gzip"
    assert "accept-encoding" in gzipped.headers.get("vary", "").lower()
    assert int(gzipped.headers["content-length"]) < len(gzipped.content)  # compressed on the wire
    plain = await fetch(client, "/people", params={"limit": 500}, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert gzipped.json() == plain.json()  # httpx decoded it
    assert len(plain.json()["items"]) == 40
    # The tag describes the content, not its encoding: a conditional GET works either way.
    assert gzipped.headers["etag"] == plain.headers["etag"]
    await assert_not_modified(
        client, "/people", plain.headers["etag"], params={"limit": 500}, headers={"Accept-Encoding": "gzip"}
    )


# CORS


async def test_a_preflight_from_the_configured_origin_is_allowed(cors_client: httpx.AsyncClient) -> None:
    preflight = await cors_client.options(
        f"{API}/people",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "Content-Type, If-None-Match",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] == FRONTEND
    assert "PATCH" in preflight.headers["access-control-allow-methods"]
    allowed_headers = preflight.headers["access-control-allow-headers"].lower()
    assert "if-none-match" in allowed_headers and "content-type" in allowed_headers


async def test_responses_to_the_configured_origin_expose_etag_link_and_location(
    cors_client: httpx.AsyncClient,
) -> None:
    for i in range(3):
        await make_person(cors_client, f"Person {i}")
    listed = await cors_client.get(f"{API}/people", params={"limit": 1}, headers={"Origin": FRONTEND})
    assert listed.status_code == 200
    assert listed.headers["access-control-allow-origin"] == FRONTEND
    exposed = {h.strip().lower() for h in listed.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "link", "location"} <= exposed
    assert "etag" in listed.headers and "link" in listed.headers  # and they are there to read

    created = await cors_client.post(f"{API}/people", json={"name": "New"}, headers={"Origin": FRONTEND})
    assert created.status_code == 201
    assert created.headers["access-control-allow-origin"] == FRONTEND
    assert created.headers["location"].endswith(created.json()["id"])


@pytest.mark.parametrize("origin", ["https://evil.example", "http://frontend.example", "https://frontend.example.org"])
async def test_another_origin_is_not_allowed(cors_client: httpx.AsyncClient, origin: str) -> None:
    preflight = await cors_client.options(
        f"{API}/people", headers={"Origin": origin, "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code >= 400
    response = await cors_client.get(f"{API}/people", headers={"Origin": origin})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_without_configured_origins_there_is_no_cross_origin_access(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        f"{API}/people", headers={"Origin": FRONTEND, "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in preflight.headers
    response = await client.get(f"{API}/people", headers={"Origin": FRONTEND})
    assert "access-control-allow-origin" not in response.headers


# OpenAPI


def test_every_operation_has_a_unique_operation_id_and_a_tag() -> None:
    schema = create_app(Settings(database_url="sqlite:///unused.db", auto_migrate=False)).openapi()
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    ]
    assert len(operations) >= 40
    ids = [operation.get("operationId") for _, _, operation in operations]
    assert all(ids), [(p, m) for p, m, o in operations if not o.get("operationId")]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, duplicates
    untagged = [(path, method) for path, method, operation in operations if not operation.get("tags")]
    assert not untagged, untagged


def _route_table(app: FastAPI) -> list[tuple[Any, ...]]:
    """What each route is and runs, as FastAPI resolves it (through any included routers)."""

    def calls(dependant: Any) -> list[Any]:
        return [dependant.call, [p.alias for p in dependant.query_params], [calls(d) for d in dependant.dependencies]]

    return [
        (context.path, context.methods, context.name, type(context.original_route))
        + (
            (context.unique_id, calls(context.dependant), context.response_class, context.status_code)
            if isinstance(context.original_route, APIRoute)
            else ()
        )
        for context in iter_route_contexts(app.routes)
    ]


def test_the_flat_route_table_is_the_one_the_included_routers_make(monkeypatch: pytest.MonkeyPatch) -> None:
    """app.main.flatten_routes puts every route of the included routers in the app's own table: the same
    routes in the same order, each with the same path, dependencies, operation id and so OpenAPI document
    as when FastAPI reaches it through the inclusions; every API route is guarded by authorize_method and
    check_request_params."""
    settings = Settings(database_url="sqlite:///unused.db", auto_migrate=False)
    flat = create_app(settings)
    monkeypatch.setattr(main, "flatten_routes", lambda router: None)
    nested = create_app(settings)
    assert not all(isinstance(route, (APIRoute, Route, Mount)) for route in nested.router.routes)
    assert all(isinstance(route, (APIRoute, Route, Mount)) for route in flat.router.routes)
    assert json.dumps(flat.openapi()) == json.dumps(nested.openapi())
    assert _route_table(flat) == _route_table(nested)
    api = [route for route in flat.router.routes if route.path.startswith(main.API_PREFIX)]
    assert len(api) >= 90
    for route in api:
        assert isinstance(route, APIRoute)
        guards = [dependency.dependency for dependency in route.dependencies[:2]]
        assert guards == [authorize_method, check_request_params], route.path


# HEAD wherever GET


def _filled(template: str, world: World) -> str:
    """A path template with each ``{...}`` replaced by the id of the world's record of the collection
    named just before it (``/cases/{case_id}``, ``/people/{record_id}/history``)."""
    segments = template.split("/")
    return "/".join(world[segments[i - 1]] if s.startswith("{") else s for i, s in enumerate(segments))


def _headers(response: httpx.Response, volatile: set[str]) -> dict[str, str]:
    return {name: value for name, value in response.headers.items() if name not in volatile}


@asynccontextmanager
async def body_recording_client(
    settings: Settings, connection: AsyncConnection, token: str, sent: list[bytes]
) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client whose app's response body bytes are appended to ``sent``: httpx's ASGI transport
    drops the body of a HEAD answer itself, as a real server does, so only this sees what the app sent."""
    async with app_for(settings) as app:
        app.state.sessionmaker = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
        async with _recording_client(app, token, sent) as http:
            yield http


@asynccontextmanager
async def _recording_client(app: Any, token: str, sent: list[bytes]) -> AsyncIterator[httpx.AsyncClient]:
    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        async def record(message: Message) -> None:
            if message["type"] == "http.response.body":
                sent.append(message.get("body", b""))
            await send(message)

        await app(scope, receive, record)

    transport = httpx.ASGITransport(app=recording, raise_app_exceptions=False)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://casetrack.test", headers=headers) as http:
        yield http


async def test_head_answers_as_get_does_on_every_get_route(settings: Settings, connection: AsyncConnection) -> None:
    """Every GET of the OpenAPI document, and the HTML pages, answer HEAD with the status and headers
    of GET (content type, length, ETag, encoding...) and no body."""
    sent: list[bytes] = []
    async with body_recording_client(settings, connection, await make_token(connection, Role.admin), sent) as client:
        world = await make_world(client)
        schema = (await client.get("/openapi.json")).json()
        templates = [path for path, operations in schema["paths"].items() if "get" in operations]
        assert len(templates) >= 40
        paths = [_filled(t, world) for t in templates] + ["/", "/?q=Kozlov", f"/cases/{world['cases']}", "/docs"]
        paths += [f"{API}/cases/{'0' * 32}", "/cases/missing", "/openapi.json"]  # a 404, a page's 404, the schema
        failures = []
        for path in paths:
            first, second = await client.get(path), await client.get(path)
            # What differs between two GETs anyway (the request id; /metrics counts the requests it serves).
            volatile = {n for n in {*first.headers, *second.headers} if first.headers.get(n) != second.headers.get(n)}
            sent.clear()
            head = await client.head(path)
            if head.status_code != second.status_code or b"".join(sent) != b"":
                failures.append(
                    f"HEAD {path}: {head.status_code}, {len(b''.join(sent))} bytes; GET {second.status_code}"
                )
            elif _headers(head, volatile) != _headers(second, volatile):
                failures.append(
                    f"HEAD {path}: headers {_headers(head, volatile)} != GET's {_headers(second, volatile)}"
                )
            assert "x-request-id" in head.headers
        assert not failures, "\n".join(failures)
        # The access log and the metrics tell a HEAD by its route, as a GET.
        assert 'method="HEAD",route="/api/v1/cases/{case_id}",status="200"' in (await client.get("/metrics")).text
        # A conditional HEAD is answered as a conditional GET.
        record = await client.get(f"{API}/cases/{world['cases']}")
        cached = await client.head(f"{API}/cases/{world['cases']}", headers={"If-None-Match": record.headers["etag"]})
        assert (cached.status_code, cached.headers["etag"]) == (304, record.headers["etag"])


async def test_head_is_listed_in_allow_and_refused_where_get_is_not(client: httpx.AsyncClient) -> None:
    person = (await make_person(client))["id"]
    refused = await client.put(f"{API}/people/{person}", json={})
    assert {m.strip() for m in refused.headers["allow"].split(",")} == {"GET", "HEAD", "PATCH", "DELETE"}
    # A path that serves no GET serves no HEAD either.
    case = (await make_case(client))["id"]
    head = await client.head(f"{API}/cases/{case}/restore")
    assert head.status_code == 405, head.text
    assert "HEAD" not in head.headers["allow"] and "POST" in head.headers["allow"]


async def test_a_cross_origin_head_with_a_token_passes_its_preflight(cors_client: httpx.AsyncClient) -> None:
    preflight = await cors_client.options(
        f"{API}/people",
        headers={
            "Origin": FRONTEND,
            "Access-Control-Request-Method": "HEAD",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert preflight.status_code == 200, preflight.text
    assert "HEAD" in preflight.headers["access-control-allow-methods"]
