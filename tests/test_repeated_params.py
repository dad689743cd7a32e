"""A query parameter given twice is refused naming it, instead of silently keeping its last value
(`?kind=arrest&kind=visit` would count one kind). Several values go comma-separated in one parameter."""

import re
from typing import Any

import httpx
import pytest

from tests.helpers import API, assert_problem, make_case, make_person, ok, post

MISSING = "0" * 32

REPRESENTATIVE = [  # (path, parameter, its two values); "{case}" stands for a real case's id
    ("/events", "kind", "arrest", "visit"),
    ("/cases", "sort", "bogus", "title"),
    ("/people", "limit", "1", "2"),
    ("/people", "cursor", "abc", "def"),
    ("/people", "q", "kozlov", "umarova"),
    ("/outcomes", "date_from", "2012", "2013"),
    ("/hearings", "public", "true", "false"),
    ("/organizations", "kind", "prison", "prison"),  # the same value twice is still twice
    ("/sources", "format", "csv", "json"),
    ("/people", "fields", "id", "name"),
    ("/cases/{case}", "include", "hearings", "events"),
    ("/cases/{case}/timeline", "from", "2012", "2013"),
    ("/cases/{case}/events", "count", "true", "true"),
    ("/hearings.ics", "kind", "trial", "appeal"),
    ("/changes", "since", "0", "1"),
]


@pytest.mark.parametrize(("path", "name", "first", "second"), REPRESENTATIVE)
async def test_a_repeated_parameter_is_a_400_naming_it(
    client: httpx.AsyncClient, path: str, name: str, first: str, second: str
) -> None:
    case = (await make_case(client))["id"]
    url = API + path.replace("{case}", case)
    assert (await client.get(url, params={name: first})).status_code in (200, 400, 422)  # taken once
    body = assert_problem(await client.get(url, params=[(name, first), (name, second)]), 400, repr(name))
    assert "more than once" in body["detail"] and "comma" in body["detail"]


async def test_repeated_kinds_do_not_silently_count_one(client: httpx.AsyncClient) -> None:
    case = (await make_case(client))["id"]
    for kind in ("arrest", "visit"):
        await post(client, f"/cases/{case}/events", {"kind": kind, "date": "2015", "title": kind})
    both = (await ok(client, "/events", kind="arrest,visit", count="true")).json()
    assert both["count"] == 2
    assert_problem(await client.get(f"{API}/events", params=[("kind", "arrest"), ("kind", "visit")]), 400, "'kind'")


async def test_every_parameter_of_every_operation_is_refused_when_repeated(client: httpx.AsyncClient) -> None:
    ids = {"case_id": (await make_case(client))["id"], "person_id": (await make_person(client))["id"]}
    spec = (await client.get("/openapi.json")).json()
    checked, failures = 0, []
    for template, operations in spec["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: ids.get(m[1], MISSING), template)
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            name = parameter["name"]
            value = str((parameter.get("examples") or parameter["schema"].get("examples") or ["1"])[0])
            response = await client.get(path, params=[(name, value), (name, value)])
            checked += 1
            if response.status_code != 400 or repr(name) not in response.json().get("detail", ""):
                failures.append(f"GET {template}?{name}=…&{name}=…: {response.status_code} {response.text[:120]}")
    assert checked >= 100
    assert failures == []


def _query_parameters(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", parameter)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    ]


async def test_the_openapi_document_says_each_parameter_is_given_once(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    parameters = _query_parameters(spec)
    assert parameters
    # No parameter is an array (which OpenAPI sends as repeated keys): lists are comma-separated strings.
    arrays = [where for where, parameter in parameters if parameter["schema"].get("type") == "array"]
    assert arrays == []
    # Every operation that takes query parameters documents the 400 for one given twice.
    undocumented = [
        f"{method} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if any(p["in"] == "query" for p in operation.get("parameters", []))
        and "more than once" not in operation["responses"].get("400", {}).get("description", "")
    ]
    assert undocumented == []
