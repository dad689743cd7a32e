"""GET /api/v1/cases/{id}?include=...: one request for a whole case, the records inside it, the people,
organizations and sources they name, and the timeline, in a fixed number of SQL statements.

Every test runs on SQLite and on PostgreSQL, each in its own rolled-back transaction.
"""

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import shared_world
from tests.helpers import API, INSIDE, assert_problem, make_case, make_organization, make_person, make_source, post

Body = dict[str, Any]
EVERYTHING = ",".join([*INSIDE, "sources"])
EMBEDDED_KEYS = {*INSIDE, "sources", "people", "organizations", "timeline"}


@dataclass
class Filled:
    """What one case holds: its records by kind, and the people, organizations and sources they name."""

    case: str
    records: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in INSIDE})
    people: set[str] = field(default_factory=set)
    organizations: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    people_by_role: dict[str, set[str]] = field(default_factory=dict)
    organizations_by_role: dict[str, set[str]] = field(default_factory=dict)


async def fill_case(client: httpx.AsyncClient, title: str, n: int, distinct: bool = True) -> Filled:
    """A case with ``n`` records of each kind. ``distinct``: every role names its own person,
    organization and source, so each can be traced; otherwise the records of round i share one of each."""
    case_source = (await make_source(client, title=f"{title}: the case's source"))["id"]
    filled = Filled((await make_case(client, title, country="KZ", source_ids=[case_source]))["id"])
    filled.sources.add(case_source)
    cache: dict[str, str] = {}

    async def person(role: str, i: int) -> str:
        key = f"person {role} {i}" if distinct else f"person {i}"
        if key not in cache:
            cache[key] = (await make_person(client, f"{title} {key}"))["id"]
        filled.people.add(cache[key])
        filled.people_by_role.setdefault(role, set()).add(cache[key])
        return cache[key]

    async def organization(role: str, i: int) -> str:
        key = f"org {role} {i}" if distinct else f"org {i}"
        if key not in cache:
            cache[key] = (await make_organization(client, f"{title} {key}"))["id"]
        filled.organizations.add(cache[key])
        filled.organizations_by_role.setdefault(role, set()).add(cache[key])
        return cache[key]

    async def source(kind: str, i: int) -> list[str]:
        key = f"source {kind} {i}" if distinct else f"source {i}"
        if key not in cache:
            cache[key] = (await make_source(client, title=f"{title} {key}"))["id"]
        filled.sources.add(cache[key])
        return [cache[key]]

    case = filled.case
    for i in range(n):
        bodies: dict[str, Body] = {
            "participants": {"person_id": await person("participant", i), "role": "defendant"},
            "charges": {
                "description": f"Charge {i}",
                "person_id": await person("accused", i),
                "named_person_ids": [await person("named", i)],
            },
            "sentences": {
                "person_id": await person("sentenced", i),
                "facility_id": await organization("facility", i),
                "term_months": 12 + i,
                "start_date": "2013-02",
            },
            "hearings": {
                "kind": "trial",
                "date": f"2012-08-{i % 28 + 1:02d}",
                "court_id": await organization("court", i),
                "judge_id": await person("judge", i),
            },
        }
        for kind, body in bodies.items():
            body["source_ids"] = await source(kind, i)
            filled.records[kind].append((await post(client, f"/cases/{case}/{kind}", body))["id"])
        outcome = {
            "kind": "convicted",
            "date": f"2012-09-{i % 28 + 1:02d}",
            "hearing_id": filled.records["hearings"][-1],
            "person_id": await person("outcome", i),
            "source_ids": await source("outcomes", i),
        }
        filled.records["outcomes"].append((await post(client, f"/cases/{case}/outcomes", outcome))["id"])
        event = {
            "kind": "transfer",
            "date": "2013",
            "title": f"Event {i}",
            "person_ids": [await person("event", i)],
            "organization_ids": [await organization("event", i)],
            "source_ids": await source("events", i),
        }
        filled.records["events"].append((await post(client, f"/cases/{case}/events", event))["id"])
    return filled


async def get_case(client: httpx.AsyncClient, case: str, include: str | None = None) -> Body:
    params = {"include": include} if include is not None else {}
    response = await client.get(f"{API}/cases/{case}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def get_json(client: httpx.AsyncClient, path: str) -> Body:
    response = await client.get(f"{API}{path}")
    assert response.status_code == 200, response.text
    return response.json()


async def build_two_cases(client: httpx.AsyncClient) -> tuple[Filled, Filled]:
    mine = await fill_case(client, "Mine", 2)
    theirs = await fill_case(client, "Theirs", 2)
    # Records that belong to nobody's case must not leak in either.
    await make_person(client, "Nobody at all")
    await make_organization(client, "Unrelated agency")
    await make_source(client, title="Uncited report")
    return mine, theirs


# Built once per database for the whole module; each test sees them as built (conftest's shared_world).
two_cases = shared_world(build_two_cases)


async def test_include_embeds_exactly_the_case_records(
    client: httpx.AsyncClient, two_cases: tuple[Filled, Filled]
) -> None:
    mine, theirs = two_cases
    body = await get_case(client, mine.case, EVERYTHING)
    assert body["id"] == mine.case
    for kind in INSIDE:
        embedded = body[kind]
        assert sorted(item["id"] for item in embedded) == sorted(mine.records[kind]), kind
        assert not {item["id"] for item in embedded} & set(theirs.records[kind]), kind
        for item in embedded:  # each exactly as its own endpoint gives it
            assert item == await get_json(client, f"/{kind}/{item['id']}"), (kind, item["id"])
    assert {p["id"] for p in body["people"]} == mine.people
    assert {o["id"] for o in body["organizations"]} == mine.organizations
    assert {s["id"] for s in body["sources"]} == mine.sources
    assert len(body["people"]) == len(mine.people)  # each once
    assert len(body["organizations"]) == len(mine.organizations)
    assert len(body["sources"]) == len(mine.sources)
    for person in body["people"]:
        detail = await get_json(client, f"/people/{person['id']}")
        assert person == {k: v for k, v in detail.items() if k != "participations"}
    for organization in body["organizations"]:
        assert organization == await get_json(client, f"/organizations/{organization['id']}")
    for source in body["sources"]:
        assert source == await get_json(client, f"/sources/{source['id']}")
    case_alone = await get_case(client, mine.case)
    assert {k: v for k, v in body.items() if k not in EMBEDDED_KEYS} == case_alone


async def test_every_way_of_naming_a_person_or_organization_counts(
    client: httpx.AsyncClient, two_cases: tuple[Filled, Filled]
) -> None:
    mine, _ = two_cases
    cases = [
        ("participants", {"participant"}, set()),
        ("charges", {"accused", "named"}, set()),
        ("sentences", {"sentenced"}, {"facility"}),
        ("hearings", {"judge"}, {"court"}),
        ("outcomes", {"outcome"}, set()),
        ("events", {"event"}, {"event"}),
    ]
    for kind, person_roles, organization_roles in cases:
        body = await get_case(client, mine.case, kind)
        assert set(body) & EMBEDDED_KEYS == {kind, "people", "organizations"}, kind
        people = set().union(*(mine.people_by_role[role] for role in person_roles))
        organizations = set().union(*(mine.organizations_by_role[role] for role in organization_roles))
        assert {p["id"] for p in body["people"]} == people, kind
        assert {o["id"] for o in body["organizations"]} == organizations, kind


async def test_include_of_the_other_case_mirrors(client: httpx.AsyncClient, two_cases: tuple[Filled, Filled]) -> None:
    mine, theirs = two_cases
    body = await get_case(client, theirs.case, EVERYTHING)
    for kind in INSIDE:
        assert sorted(item["id"] for item in body[kind]) == sorted(theirs.records[kind])
    assert {p["id"] for p in body["people"]} == theirs.people
    assert not {p["id"] for p in body["people"]} & mine.people
    assert {s["id"] for s in body["sources"]} == theirs.sources


async def test_an_empty_case_embeds_empty_lists(client: httpx.AsyncClient, two_cases: tuple[Filled, Filled]) -> None:
    empty = (await make_case(client, "Empty"))["id"]
    body = await get_case(client, empty, EVERYTHING)
    for key in [*INSIDE, "people", "organizations", "sources"]:
        assert body[key] == [], key


async def test_include_sources_alone_lists_the_case_citations(
    client: httpx.AsyncClient, two_cases: tuple[Filled, Filled]
) -> None:
    mine, theirs = two_cases
    body = await get_case(client, mine.case, "sources")
    assert set(body) & EMBEDDED_KEYS == {"sources"}
    ids = {s["id"] for s in body["sources"]}
    case_sources = set((await get_case(client, mine.case))["source_ids"])
    assert len(case_sources) == 1 and case_sources <= ids <= mine.sources
    assert not ids & theirs.sources


async def test_include_timeline_embeds_the_timeline(
    client: httpx.AsyncClient, two_cases: tuple[Filled, Filled]
) -> None:
    mine, _ = two_cases
    body = await get_case(client, mine.case, "timeline")
    timeline = await get_json(client, f"/cases/{mine.case}/timeline")
    assert timeline["items"], "the case has a timeline"
    assert body["timeline"] == timeline
    assert set(body) & EMBEDDED_KEYS == {"timeline"}
    both = await get_case(client, mine.case, "timeline,hearings")
    assert both["timeline"] == timeline
    assert sorted(h["id"] for h in both["hearings"]) == sorted(mine.records["hearings"])


async def test_without_include_no_embedded_keys(client: httpx.AsyncClient, two_cases: tuple[Filled, Filled]) -> None:
    mine, _ = two_cases
    body = await get_case(client, mine.case)
    assert not set(body) & EMBEDDED_KEYS
    assert body["id"] == mine.case and body["title"] == "Mine"


@pytest.mark.parametrize("include", ["nope", "hearings,nope", "Hearings", "people"])
async def test_unknown_include_is_refused(client: httpx.AsyncClient, include: str) -> None:
    case = (await make_case(client))["id"]
    bad = next(part for part in include.split(",") if part != "hearings")
    assert_problem(await client.get(f"{API}/cases/{case}", params={"include": include}), 422, "include", repr(bad))


async def test_include_of_a_missing_case_is_404(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{API}/cases/nosuchcase", params={"include": EVERYTHING}), 404)


async def test_the_number_of_statements_does_not_grow_with_the_case(client: httpx.AsyncClient, statements: Any) -> None:
    small = await fill_case(client, "Small", 2, distinct=False)
    large = await fill_case(client, "Large", 30, distinct=False)
    counts = {}
    for filled in (small, large):
        with statements.count() as executed:
            body = await get_case(client, filled.case, EVERYTHING)
        counts[filled.case] = len(executed)
        n = len(filled.records["hearings"])
        assert all(len(body[kind]) == n for kind in INSIDE)
        assert len(body["people"]) == n and len(body["organizations"]) == n
        assert len(body["sources"]) == n + 1
    assert counts[small.case] == counts[large.case]
    assert counts[large.case] <= 12 + 1  # plus the API token check (the client sends a token)
