"""Property-based tests (Hypothesis) of every paged endpoint: whatever a client sends as a cursor (any
bytes, any text, or a real cursor with one thing changed), the answer is a page (200) or a 400 problem
naming the cursor, never a 500; and a page the public gets shows none of the hidden records.

The paged endpoints are read from the OpenAPI document (every GET taking `cursor`), each with and
without `q=` where it searches, in its default order and by each sortable field both ways; plus the
timelines both ways, the HTML case list, and /changes `since` (a number: 200 or a 422 naming it).
Every test runs on SQLite and on PostgreSQL, each on one world of records built once per test (the
requests only read, so the examples can share it).
"""

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.main import create_app
from tests.helpers import API, assert_problem, make_case, make_organization, make_person, make_source, post

Q = "zhanuzakov"
PROPERTIES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass(frozen=True)
class Endpoint:
    path: str  # with {case_id} / {record_id} to fill in
    params: tuple[tuple[str, str], ...]
    readers_only: bool  # the audit log, histories: no public view to check

    def url(self, world: "World") -> str:
        if "{record_id}" in self.path:  # /api/v1/<kind>/{record_id}/history
            return self.path.format(record_id=world.records[self.path.split("/")[3]])
        return self.path.format(case_id=world.case)


def _endpoints() -> list[Endpoint]:
    """Every paged GET of the API, each with every `sort` and `q` it takes."""
    document = create_app(Settings(database_url="sqlite://")).openapi()
    endpoints = []
    for path, operations in document["paths"].items():
        get = operations.get("get")
        parameters = {p["name"]: p for p in (get or {}).get("parameters", [])}
        if "cursor" not in parameters:
            continue
        readers_only = path.endswith("/history") or path.endswith("/audit")
        sorts: list[str | None] = [None]
        if "sort" in parameters:
            names = re.search(r"\(\?:([^)]*)\)", parameters["sort"]["schema"]["pattern"])
            assert names is not None, path
            sorts += [prefix + name for name in names.group(1).split("|") for prefix in ("", "-")]
        if "order" in parameters:  # the timeline
            sorts = [None]
        for sort in sorts:
            for q in [None, Q] if "q" in parameters else [None]:
                for order in ["asc", "desc"] if "order" in parameters else [None]:
                    params = {"limit": "1", "sort": sort, "q": q, "order": order}
                    endpoints.append(
                        Endpoint(path, tuple((k, v) for k, v in params.items() if v is not None), readers_only)
                    )
    return endpoints


ENDPOINTS = _endpoints()
PUBLIC_ENDPOINTS = [e for e in ENDPOINTS if not e.readers_only]


def test_every_paged_endpoint_is_covered() -> None:
    """The list above is the API's own: a new paged endpoint is tested without being named here."""
    paths = {e.path.removeprefix(API) for e in ENDPOINTS}
    assert {"/people", "/cases", "/audit", "/cases/{case_id}/timeline", "/people/{record_id}/history"} <= paths
    assert len(paths) >= 25
    assert any(dict(e.params).get("q") for e in ENDPOINTS if e.path == f"{API}/people")
    assert any(dict(e.params).get("sort") == "-term_months" for e in ENDPOINTS if e.path == f"{API}/sentences")


@dataclass
class World:
    case: str
    records: dict[str, str]  # URL segment -> id of a public record of that kind
    hidden: set[str]  # ids the public must never see
    cursors: dict[tuple[str, Endpoint], str | None]  # real cursors, fetched once per (viewer, endpoint)


@pytest.fixture
async def world(client: httpx.AsyncClient) -> World:
    """Two public records of every kind (so every list has a next page at limit=1), and restricted and
    deleted ones that match the same searches and sit in the same case."""
    hidden: set[str] = set()
    case = (await make_case(client, "Zhanuzakov case", summary="Zhanuzakov in Zhanaozen"))["id"]
    other_case = (await make_case(client, "Second Zhanuzakov case"))["id"]
    hidden.add((await make_case(client, "Zhanuzakov hidden case", restricted=True))["id"])
    people = [(await make_person(client, name, birth_date="1970"))["id"] for name in ("Zhanuzakov A", "Zhanuzakov B")]
    hidden.add((await make_person(client, "Zhanuzakov Hidden", restricted=True))["id"])
    deleted = (await make_person(client, "Zhanuzakov Deleted"))["id"]
    assert (await client.delete(f"{API}/people/{deleted}")).status_code == 204
    hidden.add(deleted)
    organizations = [(await make_organization(client, f"Zhanuzakov prison {i}"))["id"] for i in range(2)]
    hidden.add((await make_organization(client, "Zhanuzakov hidden prison", restricted=True))["id"])
    sources = [(await make_source(client, title=f"Report {i}", publisher=f"P{i}"))["id"] for i in range(2)]
    hidden.add((await make_source(client, title="Hidden report", restricted=True))["id"])
    records = {"people": people[0], "organizations": organizations[0], "sources": sources[0], "cases": case}
    bodies = {
        "participants": [{"person_id": p, "role": "defendant", "since": "2012-01-23"} for p in people],
        "charges": [{"description": f"Charge {i}", "date": f"201{i}", "statute": f"Art. {i}"} for i in range(2)],
        "sentences": [{"person_id": p, "term_months": 90 - i, "start_date": "2012"} for i, p in enumerate(people)],
        "hearings": [{"kind": "trial", "date": f"2012-0{i + 1}"} for i in range(2)],
        "outcomes": [{"kind": "convicted", "date": f"2012-1{i}"} for i in range(2)],
        "events": [{"kind": "arrest", "date": f"2011-0{i + 1}", "title": f"Zhanuzakov arrest {i}"} for i in range(2)],
    }
    for kind, pair in bodies.items():
        made = [(await post(client, f"/cases/{case}/{kind}", body))["id"] for body in pair]
        records[kind] = made[0]
        hidden.add((await post(client, f"/cases/{case}/{kind}", {**pair[0], "restricted": True}))["id"])
        await post(client, f"/cases/{other_case}/{kind}", pair[1])
    edits = {
        "people": {"name": "Zhanuzakov A."},
        "organizations": {"name": "Zhanuzakov prison"},
        "sources": {"title": "Report"},
        "cases": {"title": "Zhanuzakov case"},
        "participants": {"note": "edited"},
        "charges": {"description": "Charge"},
        "sentences": {"note": "edited"},
        "hearings": {"summary": "edited"},
        "outcomes": {"summary": "edited"},
        "events": {"title": "Zhanuzakov arrest"},
    }
    for kind, edit in edits.items():  # a second entry in each history, so each has a second page
        response = await client.patch(f"{API}/{kind}/{records[kind]}", json=edit)
        assert response.status_code == 200, response.text
    return World(case, records, hidden, {})


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def payload_of(cursor: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


async def real_cursor(http: httpx.AsyncClient, viewer: str, world: World, endpoint: Endpoint) -> str | None:
    key = (viewer, endpoint)
    if key not in world.cursors:
        response = await http.get(endpoint.url(world), params=dict(endpoint.params))
        assert response.status_code == 200, response.text
        world.cursors[key] = response.json()["next"]
    return world.cursors[key]


async def check(http: httpx.AsyncClient, viewer: str, world: World, url: str, params: dict[str, str]) -> None:
    response = await http.get(url, params=params)
    assert response.status_code != 500, response.text
    if response.status_code == 200:
        if viewer == "public":
            leaked = [record for record in world.hidden if record in response.text]
            assert not leaked, f"hidden records {leaked} in {response.text}"
        return
    assert_problem(response, 400, "cursor")


# Values a forger would try in a cursor: every JSON type, and for each kind of sort value the ones at and
# beyond what its column holds: numbers past 32 and 64 bits, huge, infinite and NaN; timestamps whose UTC
# falls off the calendar or without their offset; dates at the calendar's ends; text no database stores.
HUGE_NUMBERS = [2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 2**64, 10**400, 1e308, float("inf"), float("nan"), 0.5]
BAD_TEXT = ["a\x00b", "\ud800", "", "\uffff" * 40]


def _edges_like(value: Any) -> st.SearchStrategy[Any]:
    """Edge values of the same kind as ``value`` (a value taken from a real cursor)."""
    if isinstance(value, bool) or value is None:
        return st.sampled_from([None, True, False, 0])
    if isinstance(value, int | float):
        return st.sampled_from([*HUGE_NUMBERS, str(value), True])
    if isinstance(value, str) and "T" in value and value[:4].isdigit():  # a timestamp
        naive = value[:19]
        return st.sampled_from(
            ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", naive, naive + "+14:00", *BAD_TEXT, 1.5]
        )
    if isinstance(value, str) and value[:4].isdigit():  # a date
        return st.sampled_from(["0001-01-01", "9999-12-31", "2015-02-30", value + "T00:00:00", *BAD_TEXT, 20150101])
    return st.sampled_from([*BAD_TEXT, value + "\x00", 2**63, None])


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from(HUGE_NUMBERS),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=30),
        st.sampled_from(["0001-01-01T00:00:00+14:00", "2015-01-01T00:00:00", "9999-12-31", *BAD_TEXT]),
    ),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=5,
)


def _values(payload: Any) -> list[Any] | None:
    """The list of sort values a cursor holds (the list itself for a timeline cursor)."""
    if isinstance(payload, dict):
        return payload.get("v") if isinstance(payload.get("v"), list) else None
    return payload if isinstance(payload, list) else None


@st.composite
def mutations(draw: Any, cursor: str) -> str:
    """``cursor`` with one thing changed, the way a client editing it might."""
    how = draw(st.sampled_from(["edge", "edge", "edge", "value", "drop", "append", "order", "whole", "characters"]))
    if how == "characters":
        chars = list(cursor)
        position = draw(st.integers(min_value=0, max_value=len(chars)))
        replacement = draw(
            st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/", max_size=3)
        )
        return "".join(chars[:position] + list(replacement) + chars[position + draw(st.integers(0, 3)) :])
    payload = payload_of(cursor)
    values = _values(payload)
    if how == "whole" or values is None:
        payload = draw(JSON_VALUES)
    elif how == "edge" and values:
        at = draw(st.integers(min_value=0, max_value=len(values) - 1))
        values[at] = draw(_edges_like(values[at]))
    elif how == "value" and values:
        values[draw(st.integers(min_value=0, max_value=len(values) - 1))] = draw(JSON_VALUES)
    elif how == "drop" and values:
        values.pop(draw(st.integers(min_value=0, max_value=len(values) - 1)))
    elif how == "append":
        values.append(draw(JSON_VALUES))
    elif how == "order" and isinstance(payload, dict):
        payload["o"] = draw(st.one_of(JSON_VALUES, st.just(str(payload.get("o", "")).lstrip("-"))))
    return b64(json.dumps(payload).encode())


def _viewer(
    draw: Any, client: httpx.AsyncClient, anonymous: httpx.AsyncClient, endpoint: Endpoint
) -> tuple[str, httpx.AsyncClient]:
    """An admin or the public (the audit log and histories: an admin)."""
    viewer = "admin" if endpoint.readers_only else draw(st.sampled_from(["admin", "public"]))
    return viewer, client if viewer == "admin" else anonymous


@PROPERTIES
@given(data=st.data())
async def test_any_bytes_or_text_as_a_cursor_is_a_page_or_a_400(client, anonymous, world, data) -> None:
    endpoint = data.draw(st.sampled_from(ENDPOINTS))
    viewer, http = _viewer(data.draw, client, anonymous, endpoint)
    cursor = data.draw(
        st.one_of(
            st.binary(max_size=740).map(b64),
            st.text(max_size=1000),
            JSON_VALUES.map(lambda v: b64(json.dumps(v).encode())),
        )
    )
    await check(http, viewer, world, endpoint.url(world), {**dict(endpoint.params), "cursor": cursor})


@PROPERTIES
@given(data=st.data())
async def test_a_real_cursor_with_one_thing_changed_is_a_page_or_a_400(client, anonymous, world, data) -> None:
    endpoint = data.draw(st.sampled_from(ENDPOINTS))
    viewer, http = _viewer(data.draw, client, anonymous, endpoint)
    cursor = await real_cursor(http, viewer, world, endpoint)
    assert cursor is not None, f"{endpoint} has no second page: the world is too small to test it"
    edited = data.draw(mutations(cursor))
    await check(http, viewer, world, endpoint.url(world), {**dict(endpoint.params), "cursor": edited[:1000]})


@PROPERTIES
@given(data=st.data())
async def test_a_real_cursor_on_another_endpoint_or_order_is_a_page_or_a_400(client, anonymous, world, data) -> None:
    taken_from, used_on = data.draw(st.sampled_from(PUBLIC_ENDPOINTS)), data.draw(st.sampled_from(ENDPOINTS))
    viewer, http = _viewer(data.draw, client, anonymous, used_on)
    cursor = await real_cursor(anonymous, "public", world, taken_from)
    assert cursor is not None
    await check(http, viewer, world, used_on.url(world), {**dict(used_on.params), "cursor": cursor})


@PROPERTIES
@given(cursor=st.one_of(st.binary(max_size=740).map(b64), st.text(max_size=1000)), q=st.sampled_from([None, Q]))
async def test_any_cursor_on_the_html_case_list_is_a_page_or_a_400(anonymous, world, cursor, q) -> None:
    params = {"cursor": cursor} | ({"q": q} if q else {})
    response = await anonymous.get("/", params=params)
    assert response.status_code in (200, 400), response.text
    leaked = [record for record in world.hidden if record in response.text]
    assert not leaked


@PROPERTIES
@given(
    since=st.one_of(
        st.integers(min_value=0, max_value=2**70).map(str),
        st.integers(min_value=-(2**70), max_value=-1).map(str),
        st.text(max_size=20),
        st.from_regex(r"[0-9]{1,20}", fullmatch=True),
    )
)
async def test_any_since_on_the_changes_feed_is_a_page_or_a_422(client, world, since) -> None:
    response = await client.get(f"{API}/changes", params={"since": since, "limit": 5})
    if response.status_code == 200:
        assert int(since) <= 2**63 - 1
        return
    # NUL is refused for every query parameter by the one parameter check, before `since` is parsed.
    assert_problem(response, 400 if "\x00" in since else 422, "since")
