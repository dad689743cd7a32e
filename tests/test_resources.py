"""Create, read, update and delete every resource over HTTP, and the filters and paging of their lists.

Every test runs on SQLite and on PostgreSQL (the ``client`` fixture is parametrized over both).
"""

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.sessions import make_sessionmaker
from tests.conftest import app_for, shared_world
from tests.helpers import API, assert_problem, make_case, make_organization, make_person, make_source, post

Body = dict[str, Any]

# A few helpers


async def get_json(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(path if path.startswith(API) else f"{API}{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def list_ids(client: httpx.AsyncClient, path: str, **params: Any) -> list[str]:
    """The ids of one (big) page of a list, in the order the list gives them."""
    page = await get_json(client, path, limit=500, **params)
    assert page["next"] is None
    return [item["id"] for item in page["items"]]


async def walk_pages(client: httpx.AsyncClient, path: str, limit: int) -> list[list[str]]:
    """Follow a list page by page through its ``Link: rel="next"`` header; the ids of each page."""
    pages: list[list[str]] = []
    url: str | None = f"{API}{path}?limit={limit}"
    while url is not None:
        response = await client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["id"] for item in body["items"]])
        assert len(pages) < 50, "paging does not end"
        link = response.headers.get("link")
        if body["next"] is None:
            assert link is None
            url = None
        else:
            assert link is not None and link.endswith('>; rel="next"'), link
            url = link[1 : link.index(">")]
            assert parse_qs(urlsplit(url).query)["cursor"] == [body["next"]]
            assert parse_qs(urlsplit(url).query)["limit"] == [str(limit)]
    return pages


@asynccontextmanager
async def client_with(
    settings: Settings, connection: AsyncConnection, like: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app built with other settings, sending the same token as ``like`` and writing into
    the test's transaction (as conftest's clients do)."""
    async with app_for(settings) as app:
        app.state.sessionmaker = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        headers = {"Authorization": like.headers["Authorization"]}
        async with httpx.AsyncClient(transport=transport, base_url=str(like.base_url), headers=headers) as http:
            yield http


def timestamp(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


# The resources, described once so that every test can go through all of them


@dataclass
class World:
    """Records that the resources under test refer to."""

    sources: list[str]
    people: list[str]
    court: str
    prison: str
    case: str
    hearing: str  # a hearing of ``case``


async def make_world(client: httpx.AsyncClient) -> World:
    sources = [(await make_source(client, title=f"Report {i}"))["id"] for i in range(3)]
    people = [(await make_person(client, name))["id"] for name in ("Vladimir Kozlov", "Aliya Turusbekova")]
    court = (await make_organization(client, "Almaty Regional Court", kind="court"))["id"]
    prison = (await make_organization(client, "Penal colony UK-161/3"))["id"]
    case = (await make_case(client))["id"]
    hearing = (await post(client, f"/cases/{case}/hearings", {"kind": "trial", "date": "2012-08-16"}))["id"]
    return World(sources, people, court, prison, case, hearing)


# Built once per database for the whole module; each test sees it as built (conftest's shared_world).
world = shared_world(make_world)


@dataclass(frozen=True)
class Kind:
    name: str  # the URL segment: /api/v1/<name>
    nested: bool  # created under /api/v1/cases/{id}/<name>
    full: Callable[[World], Body]  # a body setting every field
    minimal: Callable[[World], Body]  # only the required fields
    patch: Callable[[World], Body]  # a change of a few fields (not source_ids, not EDTF dates)
    cited: bool = True
    varied: tuple[str, list[Any]] | None = None  # values of the sort field used when paging
    enum: tuple[str, list[str]] | None = None  # a filterable vocabulary field and some of its values

    def __str__(self) -> str:
        return self.name

    def collection(self, world: World | None = None, case_id: str | None = None) -> str:
        if self.nested:
            return f"/cases/{case_id or world.case}/{self.name}"  # type: ignore[union-attr]
        return f"/{self.name}"


KINDS = [
    Kind(
        "people",
        False,
        full=lambda w: {
            "name": "Vladimir Kozlov",
            "aliases": ["Владимир Козлов", "V. Kozlov"],
            "birth_date": "1960-04-03",
            "country": "KZ",
            "description": "Leader of the unregistered Alga! party",
        },
        minimal=lambda w: {"name": "Vladimir Kozlov"},
        patch=lambda w: {"description": "Opposition politician", "aliases": ["Kozlov"]},
        varied=("name", ["Kozlov", "Kozlov", "Abenov", "Kozlov", "Zhakiyanov"]),
    ),
    Kind(
        "organizations",
        False,
        full=lambda w: {
            "name": "Mangistau Regional Court",
            "kind": "court",
            "country": "KZ",
            "description": "Tried the Zhanaozen cases",
        },
        minimal=lambda w: {"name": "Some body"},
        patch=lambda w: {"kind": "government", "country": "RU"},
        varied=("name", ["Court", "Court", "Ministry", "Colony", "Court"]),
        enum=("kind", ["court", "prison", "ngo", "media"]),
    ),
    Kind(
        "sources",
        False,
        full=lambda w: {
            "title": "Kazakhstan: Jailed Opposition Leader Refused Parole",
            "url": "https://eurasianet.org/kazakhstan-jailed-opposition-leader-refused-parole",
            "publisher": "Eurasianet",
            "published_on": "2015-12-08",
            "note": "Quotes the family",
        },
        minimal=lambda w: {"title": "A report"},
        patch=lambda w: {"publisher": "EurasiaNet.org", "note": "Archived copy kept"},
        cited=False,
    ),
    Kind(
        "cases",
        False,
        full=lambda w: {
            "title": "Prosecution of Vladimir Kozlov",
            "country": "KZ",
            "status": "imprisoned",
            "summary": "Charged after the Zhanaozen unrest",
            "opened_on": "2012-01-23",
        },
        minimal=lambda w: {"title": "A case"},
        patch=lambda w: {"status": "released", "summary": "Released on parole in 2016"},
    ),
    Kind(
        "participants",
        True,
        full=lambda w: {"person_id": w.people[0], "role": "defendant", "since": "2012-01-23", "until": "2016-08"},
        minimal=lambda w: {"person_id": w.people[0], "role": "defendant"},
        patch=lambda w: {"role": "witness", "note": "Testified at the appeal"},
        enum=("role", ["defendant", "lawyer", "judge", "spouse"]),
    ),
    Kind(
        "charges",
        True,
        full=lambda w: {
            "person_id": w.people[0],
            "statute": "Criminal Code art. 164",
            "description": "Inciting social discord",
            "status": "pending",
            "date": "2012-03",
            "named_person_ids": [w.people[1]],
        },
        minimal=lambda w: {"description": "Inciting social discord"},
        patch=lambda w: {"status": "convicted", "statute": "Criminal Code art. 170"},
        enum=("status", ["pending", "convicted", "acquitted", "dropped"]),
    ),
    Kind(
        "sentences",
        True,
        full=lambda w: {
            "person_id": w.people[0],
            "kind": "imprisonment",
            "term_months": 90,
            "start_date": "2012-10-08",
            "facility_id": w.prison,
            "parole_fraction": 0.5,
            "note": "Strict regime",
        },
        minimal=lambda w: {"person_id": w.people[0]},
        patch=lambda w: {"kind": "restricted_freedom", "note": "Changed on appeal"},
        enum=("kind", ["imprisonment", "fine", "probation", "restricted_freedom"]),
    ),
    Kind(
        "hearings",
        True,
        full=lambda w: {
            "kind": "parole",
            "date": "2015-12-08",
            "location": "Penal colony outside Almaty",
            "court_id": w.court,
            "judge_id": w.people[1],
            "public": False,
            "summary": "Parole refused",
        },
        minimal=lambda w: {"kind": "trial", "date": "2012-08-16"},
        patch=lambda w: {"public": True, "location": "Court room 4"},
        varied=("date", ["2015", "2015", "2014-05-01", "2016-02", "2015"]),
        enum=("kind", ["trial", "appeal", "parole", "verdict"]),
    ),
    Kind(
        "outcomes",
        True,
        full=lambda w: {
            "kind": "parole_denied",
            "date": "2015-12-08",
            "hearing_id": w.hearing,
            "person_id": w.people[0],
            "summary": "The court refused parole",
        },
        minimal=lambda w: {"kind": "convicted", "date": "2012-10-08"},
        patch=lambda w: {"kind": "parole_granted", "summary": "Granted on appeal"},
        varied=("date", ["2015", "2015", "2014-05-01", "2016-02", "2015"]),
        enum=("kind", ["convicted", "parole_denied", "parole_granted", "released"]),
    ),
    Kind(
        "events",
        True,
        full=lambda w: {
            "kind": "statement",
            "date": "2015-12-08?",
            "title": "Family statement",
            "description": "The family spoke to the press",
            "quote": "He will not ask for a pardon.",
            "person_ids": [w.people[0]],
            "organization_ids": [w.prison],
        },
        minimal=lambda w: {"kind": "arrest", "date": "2012-01-23", "title": "Arrested"},
        patch=lambda w: {"title": "Statement to the press", "quote": "He is innocent."},
        varied=("date", ["2015", "2015", "2014-05-01", "2016-02", "2015"]),
        enum=("kind", ["arrest", "statement", "reaction", "visit"]),
    ),
]
NESTED = [kind for kind in KINDS if kind.nested]
BY_NAME = {kind.name: kind for kind in KINDS}


# Fields the server changes on every update.
SERVER_MANAGED = {"updated_at", "version"}


def expected_echo(body: Body) -> Body:
    """What a record read back should say about the fields a body set: id lists come back sorted."""
    return {name: sorted(value) if name.endswith("_ids") else value for name, value in body.items()}


# Create, read, update, delete


@pytest.mark.parametrize("kind", KINDS, ids=str)
async def test_create_read_update_delete(client: httpx.AsyncClient, world: World, kind: Kind) -> None:
    body = kind.full(world)
    if kind.cited:
        body["source_ids"] = sorted(world.sources[:2], reverse=True)

    response = await client.post(f"{API}{kind.collection(world)}", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert {name: created[name] for name in body} == expected_echo(body)
    if kind.nested:
        assert created["case_id"] == world.case
    assert created["created_at"] == created["updated_at"]

    location = response.headers["location"]
    assert location == f"{API}/{kind.name}/{created['id']}"
    fetched = await get_json(client, location)
    assert {name: fetched[name] for name in created} == created

    assert created["id"] in await list_ids(client, f"/{kind.name}")
    if kind.nested:
        assert created["id"] in await list_ids(client, kind.collection(world))

    change = kind.patch(world)
    response = await client.patch(location, json=change)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert {name: updated[name] for name in change} == change
    untouched = {name: value for name, value in created.items() if name not in change and name not in SERVER_MANAGED}
    assert {name: updated[name] for name in untouched} == untouched
    if "version" in created:  # optimistic locking: every change counts
        assert updated["version"] == created["version"] + 1
    assert updated["created_at"] == created["created_at"]
    assert timestamp(updated["updated_at"]) > timestamp(created["updated_at"])
    fetched = await get_json(client, location)
    assert {name: fetched[name] for name in updated} == updated

    response = await client.delete(location)
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(location), 404, created["id"])
    assert_problem(await client.delete(location), 404)
    assert created["id"] not in await list_ids(client, f"/{kind.name}")
    # Its citations went with it: nothing cites the sources any more.
    for source in world.sources:
        response = await client.delete(f"{API}/sources/{source}")
        assert response.status_code == 204, response.text


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind.cited], ids=str)
async def test_source_ids_are_returned_sorted_and_can_be_replaced(
    client: httpx.AsyncClient, world: World, kind: Kind
) -> None:
    a, b, c = sorted(world.sources)
    created = await post(client, kind.collection(world), {**kind.minimal(world), "source_ids": [c, a, a]})
    assert created["source_ids"] == [a, c]
    path = f"{API}/{kind.name}/{created['id']}"
    assert (await get_json(client, path))["source_ids"] == [a, c]

    response = await client.patch(path, json={"source_ids": [b, a]})
    assert response.status_code == 200, response.text
    assert response.json()["source_ids"] == [a, b]
    assert timestamp(response.json()["updated_at"]) > timestamp(created["updated_at"])
    assert (await get_json(client, path))["source_ids"] == [a, b]

    # A PATCH that does not mention source_ids keeps them.
    assert (await client.patch(path, json={})).json()["source_ids"] == [a, b]

    response = await client.patch(path, json={"source_ids": []})
    assert response.status_code == 200, response.text
    assert response.json()["source_ids"] == []
    assert (await get_json(client, path))["source_ids"] == []


async def test_created_record_lists_no_sources_by_default(client: httpx.AsyncClient) -> None:
    person = await make_person(client)
    assert person["source_ids"] == []
    assert (await get_json(client, f"/people/{person['id']}"))["source_ids"] == []


async def test_event_people_and_organizations_round_trip(client: httpx.AsyncClient, world: World) -> None:
    p0, p1 = sorted(world.people)
    o0, o1 = sorted([world.court, world.prison])
    body = {"kind": "visit", "date": "2014-03", "title": "Visit", "person_ids": [p1, p0], "organization_ids": [o1]}
    event = await post(client, f"/cases/{world.case}/events", body)
    assert (event["person_ids"], event["organization_ids"]) == ([p0, p1], [o1])
    path = f"{API}/events/{event['id']}"

    response = await client.patch(path, json={"organization_ids": [o1, o0]})
    assert response.status_code == 200, response.text
    read = await get_json(client, path)
    assert (read["person_ids"], read["organization_ids"]) == ([p0, p1], [o0, o1])

    response = await client.patch(path, json={"person_ids": [p1], "organization_ids": []})
    assert response.status_code == 200, response.text
    read = await get_json(client, path)
    assert (read["person_ids"], read["organization_ids"]) == ([p1], [])

    # The links are what the event filters look at.
    assert await list_ids(client, "/events", person_id=p1) == [event["id"]]
    assert await list_ids(client, "/events", person_id=p0) == []
    assert await list_ids(client, "/events", organization_id=o1) == []


async def test_charge_named_people_round_trip(client: httpx.AsyncClient, world: World) -> None:
    p0, p1 = sorted(world.people)
    third = (await make_person(client, "Akzhanat Aminov"))["id"]
    charge = await post(
        client,
        f"/cases/{world.case}/charges",
        {"description": "Libel", "person_id": third, "named_person_ids": [p1, p0]},
    )
    assert charge["named_person_ids"] == [p0, p1]
    path = f"{API}/charges/{charge['id']}"
    assert (await get_json(client, path))["named_person_ids"] == [p0, p1]

    response = await client.patch(path, json={"named_person_ids": [p1]})
    assert response.status_code == 200, response.text
    assert response.json()["named_person_ids"] == [p1]
    read = await get_json(client, path)
    assert (read["named_person_ids"], read["person_id"]) == ([p1], third)

    response = await client.patch(path, json={"named_person_ids": []})
    assert (await get_json(client, path))["named_person_ids"] == []


async def test_patch_of_an_edtf_date_moves_its_bounds(client: httpx.AsyncClient, world: World) -> None:
    event = await post(client, f"/cases/{world.case}/events", {"kind": "arrest", "date": "2012-01-23", "title": "x"})
    assert (event["date_earliest"], event["date_latest"]) == ("2012-01-23", "2012-01-23")
    response = await client.patch(f"{API}/events/{event['id']}", json={"date": "2015-22"})  # summer 2015
    assert response.status_code == 200, response.text
    read = await get_json(client, f"/events/{event['id']}")
    assert (read["date"], read["date_earliest"], read["date_latest"]) == ("2015-22", "2015-06-01", "2015-08-31")

    person = await make_person(client, birth_date="1960~")
    assert (person["birth_date_earliest"], person["birth_date_latest"]) == ("1960-01-01", "1960-12-31")
    response = await client.patch(f"{API}/people/{person['id']}", json={"birth_date": None})
    assert response.status_code == 200, response.text
    read = await get_json(client, f"/people/{person['id']}")
    assert (read["birth_date"], read["birth_date_earliest"], read["birth_date_latest"]) == (None, None, None)


async def test_person_lists_participations_across_cases_and_roles(client: httpx.AsyncClient) -> None:
    person = (await make_person(client, "Aliya Turusbekova"))["id"]
    other = (await make_person(client, "Someone Else"))["id"]
    first = await make_case(client, "Kozlov case")
    second = await make_case(client, "Sapargali case")
    defendant = await post(client, f"/cases/{first['id']}/participants", {"person_id": person, "role": "spouse"})
    lawyer = await post(
        client, f"/cases/{second['id']}/participants", {"person_id": person, "role": "lawyer", "since": "2013"}
    )
    witness = await post(client, f"/cases/{second['id']}/participants", {"person_id": person, "role": "witness"})
    await post(client, f"/cases/{first['id']}/participants", {"person_id": other, "role": "defendant"})

    detail = await get_json(client, f"/people/{person}")
    got = sorted(
        (p["participant_id"], p["case_id"], p["case_title"], p["role"], p["since"]) for p in detail["participations"]
    )
    assert got == sorted(
        [
            (defendant["id"], first["id"], "Kozlov case", "spouse", None),
            (lawyer["id"], second["id"], "Sapargali case", "lawyer", "2013"),
            (witness["id"], second["id"], "Sapargali case", "witness", None),
        ]
    )
    assert (await get_json(client, f"/people/{other}"))["participations"] == [
        {
            "participant_id": (await list_ids(client, "/participants", person_id=other))[0],
            "case_id": first["id"],
            "case_title": "Kozlov case",
            "role": "defendant",
            "since": None,
            "until": None,
        }
    ]


async def test_new_person_has_no_participations(client: httpx.AsyncClient) -> None:
    person = await make_person(client)
    assert (await get_json(client, f"/people/{person['id']}"))["participations"] == []


# Lists: filters


@pytest.mark.parametrize("kind", NESTED, ids=str)
async def test_nested_kinds_are_listed_per_case_and_filtered_by_case_id(
    client: httpx.AsyncClient, world: World, kind: Kind
) -> None:
    other_case = (await make_case(client, "Another case"))["id"]
    before = set(await list_ids(client, f"/{kind.name}"))
    mine = [(await post(client, kind.collection(world), kind.minimal(world)))["id"] for _ in range(2)]
    theirs = (await post(client, kind.collection(case_id=other_case), kind.minimal(world)))["id"]

    assert set(await list_ids(client, f"/{kind.name}")) == before | {*mine, theirs}
    assert set(await list_ids(client, f"/{kind.name}", case_id=world.case)) == (before | set(mine))
    assert await list_ids(client, f"/{kind.name}", case_id=other_case) == [theirs]
    assert set(await list_ids(client, kind.collection(world))) == (before | set(mine))
    assert await list_ids(client, kind.collection(case_id=other_case)) == [theirs]


@pytest.mark.parametrize("kind", [kind for kind in KINDS if kind.enum], ids=str)
async def test_lists_filter_by_vocabulary(client: httpx.AsyncClient, world: World, kind: Kind) -> None:
    assert kind.enum is not None
    case = (await make_case(client, "Filter case"))["id"]  # empty apart from what this test adds
    name, values = kind.enum
    made = {
        value: (await post(client, kind.collection(case_id=case), {**kind.minimal(world), name: value}))["id"]
        for value in values
    }
    path = kind.collection(case_id=case)
    picked = values[1:3]
    queries = [(path, {name: ",".join(picked)})]
    if kind.nested:
        queries.append((f"/{kind.name}", {"case_id": case, name: f"{picked[0]}, {picked[1]}"}))
    for list_path, params in queries:
        items = (await get_json(client, list_path, limit=500, **params))["items"]
        assert {item[name] for item in items} == set(picked)
        assert {made[v] for v in picked} <= {item["id"] for item in items}
    single = (await get_json(client, path, **{name: values[0]}))["items"]
    assert {item[name] for item in single} == {values[0]}
    assert made[values[0]] in {item["id"] for item in single}


async def test_outcomes_filter_by_kind_exactly(client: httpx.AsyncClient) -> None:
    case = (await make_case(client))["id"]
    made = {}
    for kind in ("convicted", "parole_denied", "parole_granted", "released", "parole_denied"):
        outcome = await post(client, f"/cases/{case}/outcomes", {"kind": kind, "date": "2015"})
        made.setdefault(kind, []).append(outcome["id"])
    page = await get_json(client, "/outcomes", kind="parole_denied,parole_granted")
    assert sorted(item["id"] for item in page["items"]) == sorted(made["parole_denied"] + made["parole_granted"])
    assert {item["kind"] for item in page["items"]} == {"parole_denied", "parole_granted"}


DATED = ["hearings", "outcomes", "events", "charges"]
DATES = ["2015", "2013-05-01", "2016-02-10", "2014-11/2015-02"]


WINDOWS = [
    ({"date_from": "2015-06"}, {"2015", "2016-02-10"}),
    ({"date_to": "2014"}, {"2013-05-01", "2014-11/2015-02"}),
    ({"date_from": "2015-06", "date_to": "2015-06"}, {"2015"}),
    ({"date_from": "2015-02-28", "date_to": "2015-03-01"}, {"2015", "2014-11/2015-02"}),
    ({"date_from": "2016-02-11"}, set()),
    ({"date_from": "2013", "date_to": "2016"}, set(DATES)),
]


@pytest.mark.parametrize("name", DATED)
async def test_date_window_keeps_records_that_may_fall_inside(
    client: httpx.AsyncClient, world: World, subtests: Any, name: str
) -> None:
    kind = BY_NAME[name]
    case = (await make_case(client, "Dated case"))["id"]
    by_date = {}
    for date in DATES:
        record = await post(client, kind.collection(case_id=case), {**kind.minimal(world), "date": date})
        by_date[record["id"]] = date
    for window, kept in WINDOWS:
        with subtests.test(**window):
            got = await list_ids(client, f"/{name}", case_id=case, **window)
            assert sorted(by_date[i] for i in got) == sorted(kept)
            nested = await list_ids(client, kind.collection(case_id=case), **window)
            assert sorted(nested) == sorted(got)


async def test_vague_date_bounds_are_stored(client: httpx.AsyncClient) -> None:
    case = (await make_case(client))["id"]
    outcome = await post(client, f"/cases/{case}/outcomes", {"kind": "released", "date": "2015"})
    assert (outcome["date_earliest"], outcome["date_latest"]) == ("2015-01-01", "2015-12-31")


async def test_outcomes_filter_by_country_of_the_case(client: httpx.AsyncClient) -> None:
    kz = (await make_case(client, "KZ case", country="KZ"))["id"]
    ru = (await make_case(client, "RU case", country="RU"))["id"]
    nowhere = (await make_case(client, "Case without a country"))["id"]
    kazakh = [
        (await post(client, f"/cases/{kz}/outcomes", {"kind": "sentenced", "date": d}))["id"] for d in ("2012", "2016")
    ]
    for case in (ru, nowhere):
        await post(client, f"/cases/{case}/outcomes", {"kind": "sentenced", "date": "2014"})
    assert sorted(await list_ids(client, "/outcomes", country="KZ")) == sorted(kazakh)
    # Codes in capitals, as the document's enum has them; the answer says how to fix another spelling.
    assert_problem(await client.get(f"{API}/outcomes", params={"country": "kz"}), 422, "country", "'KZ'")
    assert await list_ids(client, "/outcomes", country="BY") == []
    assert sorted(await list_ids(client, "/cases", country="KZ")) == [kz]


async def test_cases_filter_by_person_and_role(client: httpx.AsyncClient) -> None:
    lawyer = (await make_person(client, "Lawyer"))["id"]
    other = (await make_person(client, "Other lawyer"))["id"]
    defended = (await make_case(client, "Defended"))["id"]
    accused = (await make_case(client, "Accused"))["id"]
    elsewhere = (await make_case(client, "Elsewhere"))["id"]
    await make_case(client, "Nobody")
    await post(client, f"/cases/{defended}/participants", {"person_id": lawyer, "role": "lawyer"})
    await post(client, f"/cases/{accused}/participants", {"person_id": lawyer, "role": "defendant"})
    await post(client, f"/cases/{elsewhere}/participants", {"person_id": other, "role": "lawyer"})
    await post(client, f"/cases/{elsewhere}/participants", {"person_id": lawyer, "role": "witness"})

    assert await list_ids(client, "/cases", person_id=lawyer, role="lawyer") == [defended]
    assert sorted(await list_ids(client, "/cases", person_id=lawyer, role="lawyer,defendant")) == sorted(
        [defended, accused]
    )
    assert sorted(await list_ids(client, "/cases", person_id=lawyer)) == sorted([defended, accused, elsewhere])
    assert sorted(await list_ids(client, "/cases", role="lawyer")) == sorted([defended, elsewhere])
    assert await list_ids(client, "/cases", person_id=other, role="defendant") == []


# Lists: cursor paging


PAGED = [(kind, nested_list) for kind in KINDS for nested_list in ([False, True] if kind.nested else [False])]


@pytest.mark.parametrize(
    ("kind", "nested_list"), PAGED, ids=lambda v: str(v) if isinstance(v, Kind) else ("in-case" if v else "top-level")
)
async def test_cursor_paging_visits_every_record_once(
    client: httpx.AsyncClient, world: World, kind: Kind, nested_list: bool
) -> None:
    case = (await make_case(client, "Paged case"))["id"]
    path = kind.collection(case_id=case) if nested_list else f"/{kind.name}"
    before = await list_ids(client, path)
    for i in range(5):
        body = kind.minimal(world)
        if kind.varied:
            body[kind.varied[0]] = kind.varied[1][i]
        await post(client, kind.collection(case_id=case), body)
    everything = await list_ids(client, path)
    assert len(everything) == len(before) + 5

    pages = await walk_pages(client, path, limit=2)
    visited = [record_id for page in pages for record_id in page]
    assert visited == everything  # each exactly once, in the list's order
    assert [len(page) for page in pages[:-1]] == [2] * (len(pages) - 1)
    assert 1 <= len(pages[-1]) <= 2


async def test_paging_exactly_five_records(client: httpx.AsyncClient) -> None:
    case = (await make_case(client))["id"]
    made = [
        (await post(client, f"/cases/{case}/hearings", {"kind": "trial", "date": d}))["id"]
        for d in ("2015", "2015", "2014-05-01", "2016-02", "2015")
    ]
    pages = await walk_pages(client, f"/cases/{case}/hearings", limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sorted(i for page in pages for i in page) == sorted(made)

    last = await client.get(f"{API}/cases/{case}/hearings", params={"limit": 5})
    assert last.json()["next"] is None
    assert "link" not in last.headers


async def test_dated_lists_are_in_date_order(client: httpx.AsyncClient) -> None:
    case = (await make_case(client))["id"]
    for date in ("2016-02", "2012", "2014-05-01"):
        await post(client, f"/cases/{case}/events", {"kind": "other", "date": date, "title": date})
    page = await get_json(client, f"/cases/{case}/events")
    assert [item["date"] for item in page["items"]] == ["2012", "2014-05-01", "2016-02"]


# Deleting a case


async def test_deleting_a_case_removes_what_is_inside_it_but_not_people(client: httpx.AsyncClient) -> None:
    source = (await make_source(client, title="Only cited inside the doomed case"))["id"]
    defendant = (await make_person(client, "Defendant"))["id"]
    judge = (await make_person(client, "Judge"))["id"]
    court = (await make_organization(client, "Court", kind="court"))["id"]
    prison = (await make_organization(client, "Prison"))["id"]
    doomed = (await make_case(client, "Doomed", source_ids=[source]))["id"]
    kept = (await make_case(client, "Kept"))["id"]
    cite = {"source_ids": [source]}

    hearing = await post(
        client,
        f"/cases/{doomed}/hearings",
        {"kind": "trial", "date": "2012", "court_id": court, "judge_id": judge, **cite},
    )
    inside = {
        "participants": await post(
            client, f"/cases/{doomed}/participants", {"person_id": defendant, "role": "defendant", **cite}
        ),
        "charges": await post(
            client,
            f"/cases/{doomed}/charges",
            {"description": "x", "person_id": defendant, "named_person_ids": [judge], **cite},
        ),
        "sentences": await post(
            client, f"/cases/{doomed}/sentences", {"person_id": defendant, "facility_id": prison, **cite}
        ),
        "hearings": hearing,
        "outcomes": await post(
            client,
            f"/cases/{doomed}/outcomes",
            {"kind": "convicted", "date": "2012", "hearing_id": hearing["id"], "person_id": defendant, **cite},
        ),
        "events": await post(
            client,
            f"/cases/{doomed}/events",
            {
                "kind": "arrest",
                "date": "2012",
                "title": "x",
                "person_ids": [judge],
                "organization_ids": [prison],
                **cite,
            },
        ),
    }
    survivor = await post(client, f"/cases/{kept}/hearings", {"kind": "trial", "date": "2013"})

    response = await client.delete(f"{API}/cases/{doomed}")
    assert response.status_code == 204, response.text

    assert_problem(await client.get(f"{API}/cases/{doomed}"), 404)
    for name, record in inside.items():
        assert_problem(await client.get(f"{API}/{name}/{record['id']}"), 404)
        assert record["id"] not in await list_ids(client, f"/{name}")
    assert (await get_json(client, f"/hearings/{survivor['id']}"))["case_id"] == kept
    for path in (f"/people/{defendant}", f"/people/{judge}", f"/organizations/{court}", f"/organizations/{prison}"):
        await get_json(client, path)
    assert (await get_json(client, f"/people/{defendant}"))["participations"] == []

    # Nothing refers to them any more: the links and citations went with the case.
    for path in (f"/sources/{source}", f"/people/{defendant}", f"/people/{judge}", f"/organizations/{prison}"):
        response = await client.delete(f"{API}{path}")
        assert response.status_code == 204, (path, response.text)


# Sentences: derived dates and the parole fraction


async def _sentence(client: httpx.AsyncClient, **fields: Any) -> Body:
    case = (await make_case(client))["id"]
    person = (await make_person(client))["id"]
    return await post(client, f"/cases/{case}/sentences", {"person_id": person, **fields})


DERIVED = [
    "ends_on",
    "ends_on_earliest",
    "ends_on_latest",
    "parole_eligible_on",
    "parole_eligible_on_earliest",
    "parole_eligible_on_latest",
]


def derived(sentence: Body) -> list[Any]:
    return [sentence[name] for name in DERIVED]


async def test_sentence_end_and_parole_dates_are_derived(client: httpx.AsyncClient) -> None:
    sentence = await _sentence(client, term_months=90, start_date="2012-03-15", parole_fraction=0.5)
    expected = ["2019-09-15", "2019-09-15", "2019-09-15", "2015-12-15", "2015-12-15", "2015-12-15"]
    assert derived(sentence) == expected
    assert derived(await get_json(client, f"/sentences/{sentence['id']}")) == expected
    listed = await get_json(client, "/sentences", case_id=sentence["case_id"])
    assert derived(listed["items"][0]) == expected


async def test_sentence_with_a_vague_start_gets_date_ranges(client: httpx.AsyncClient) -> None:
    sentence = await _sentence(client, term_months=90, start_date="2012", parole_fraction=0.5)
    assert (sentence["start_date_earliest"], sentence["start_date_latest"]) == ("2012-01-01", "2012-12-31")
    assert derived(sentence) == [
        "2019-07-01/2020-06-30",
        "2019-07-01",
        "2020-06-30",
        "2015-10-01/2016-09-30",
        "2015-10-01",
        "2016-09-30",
    ]


@pytest.mark.parametrize("fields", [{"term_months": 90}, {"start_date": "2012-03-15"}, {}], ids=str)
async def test_sentence_without_start_or_term_has_no_derived_dates(client: httpx.AsyncClient, fields: Body) -> None:
    sentence = await _sentence(client, **fields)
    assert derived(sentence) == [None] * 6
    assert derived(await get_json(client, f"/sentences/{sentence['id']}")) == [None] * 6


async def test_sentence_ending_after_the_year_9999_has_no_derived_dates(client: httpx.AsyncClient) -> None:
    sentence = await _sentence(client, term_months=2400, start_date="9990", parole_fraction=0.5)
    assert derived(sentence) == [None] * 6
    assert derived(await get_json(client, f"/sentences/{sentence['id']}")) == [None] * 6


async def test_derived_sentence_dates_follow_a_patch(client: httpx.AsyncClient) -> None:
    sentence = await _sentence(client, term_months=90, start_date="2012-03-15")
    path = f"{API}/sentences/{sentence['id']}"
    response = await client.patch(path, json={"term_months": 80, "parole_fraction": 0.75})
    assert response.status_code == 200, response.text
    read = await get_json(client, path)
    assert (read["ends_on"], read["parole_eligible_on"]) == ("2018-11-15", "2017-03-15")
    response = await client.patch(path, json={"start_date": None})
    assert response.status_code == 200, response.text
    assert derived(await get_json(client, path)) == [None] * 6


async def test_parole_fraction_defaults_to_the_setting_and_is_stored(
    client: httpx.AsyncClient, connection: AsyncConnection, settings: Settings
) -> None:
    sentence = await _sentence(client, term_months=90, start_date="2012-03-15")
    assert sentence["parole_fraction"] == 0.5
    assert sentence["parole_eligible_on"] == "2015-12-15"
    stored = await connection.scalar(
        text("select parole_fraction from sentences where id = :id"), {"id": sentence["id"]}
    )
    assert stored == 0.5

    # Another service default is stored on the record, so the record keeps it once the setting changes back.
    quarter_settings = settings.model_copy(update={"default_parole_fraction": 0.25})
    async with client_with(quarter_settings, connection, like=client) as other:
        body = {"person_id": sentence["person_id"], "term_months": 40, "start_date": "2012-03-15"}
        quarter = await post(other, f"/cases/{sentence['case_id']}/sentences", body)
    assert quarter["parole_fraction"] == 0.25
    stored = await connection.scalar(
        text("select parole_fraction from sentences where id = :id"), {"id": quarter["id"]}
    )
    assert stored == 0.25
    read = await get_json(client, f"/sentences/{quarter['id']}")
    assert (read["parole_fraction"], read["parole_eligible_on"]) == (0.25, "2013-01-15")

    # null in a PATCH goes back to the (current) default.
    response = await client.patch(f"{API}/sentences/{quarter['id']}", json={"parole_fraction": None})
    assert response.status_code == 200, response.text
    assert response.json()["parole_fraction"] == 0.5
