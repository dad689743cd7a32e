"""Small builders for tests: create records through the API and return their JSON."""

import base64
import json
from dataclasses import dataclass
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


def spreadsheet_text(cell: str) -> str:
    """The text a CSV cell holds. The service writes one `'` before a text that begins with `=`, `+`, `-`,
    `@`, a tab or a carriage return (or spaces and then one of the first four), which a spreadsheet would
    run as a formula, and before one that begins with `'` itself; so one leading `'` always comes off."""
    return cell[1:] if cell.startswith("'") else cell


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


# Every kind of record, by URL segment: the standalone ones, then those that live inside a case.
STANDALONE = ("people", "organizations", "sources", "cases")
INSIDE = ("participants", "charges", "sentences", "hearings", "outcomes", "events")
KINDS = STANDALONE + INSIDE


def collection(kind: str, case_id: str) -> str:
    """Where records of ``kind`` are created (those inside a case, under it)."""
    return f"/cases/{case_id}/{kind}" if kind in INSIDE else f"/{kind}"


async def ok(http: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
    response = await http.get(path if path.startswith(API) else f"{API}{path}", params=params)
    assert response.status_code == 200, f"{path} {params}: {response.status_code} {response.text}"
    return response


@dataclass
class Ctx:
    """Records the records under test refer to."""

    person: str
    organization: str
    source: str
    case: str


async def make_refs(
    client: httpx.AsyncClient, person: str, organization: str, source: str, case: str, **organization_fields: Any
) -> Ctx:
    return Ctx(
        person=(await make_person(client, person))["id"],
        organization=(await make_organization(client, organization, **organization_fields))["id"],
        source=(await make_source(client, title=source))["id"],
        case=(await make_case(client, case))["id"],
    )


def forged_cursor(payload: Any) -> str:
    """A cursor as the service encodes one (base64 of JSON), holding whatever a test puts in it."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
