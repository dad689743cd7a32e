"""Small builders for tests: create records through the API and return their JSON."""

from typing import Any

import httpx

API = "/api/v1"


async def post(client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"{API}{path}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def make_source(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    return await post(client, "/sources", {"title": "A report", **fields})


async def make_person(client: httpx.AsyncClient, name: str = "Vladimir Kozlov", **fields: Any) -> dict[str, Any]:
    return await post(client, "/people", {"name": name, **fields})


async def make_organization(client: httpx.AsyncClient, name: str = "Jail outside Almaty", **fields: Any) -> dict:
    return await post(client, "/organizations", {"name": name, "kind": "prison", **fields})


async def make_case(client: httpx.AsyncClient, title: str = "Kozlov case", **fields: Any) -> dict[str, Any]:
    return await post(client, "/cases", {"title": title, **fields})


def assert_problem(response: httpx.Response, status: int, *mentions: str) -> dict[str, Any]:
    """An RFC 9457 problem document with this status whose text names each of ``mentions``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    for mention in mentions:
        assert mention in response.text, f"{mention!r} not in {response.text}"
    return body
