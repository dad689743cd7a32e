"""Lists: every filter and sort returns exactly the right records, keyset paging survives concurrent
inserts, count= / fields= / limit= / unknown parameters, and the CSV export matches the JSON list.

Every test runs on SQLite and on PostgreSQL (the ``client`` fixture is parametrized over both). The
data set (``world``) is built once per database and module, and each test runs inside its own rolled-back
savepoint on top of it, so the lists hold exactly the data set and the records the test creates.
"""

import csv
import datetime as dt
import io
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from app.events.models import Event
from app.listing import CSV_BATCH
from tests.conftest import shared_world
from tests.helpers import (
    API,
    assert_problem,
    make_case,
    make_organization,
    make_person,
    make_source,
    post,
    spreadsheet_text,
)

Body = dict[str, Any]
D = dt.date

# The data set: a few cases in KZ, BY and RU, the people in them, and the records inside them.


@dataclass
class World:
    ids: dict[str, str] = field(default_factory=dict)  # label -> id
    earliest: dict[str, dt.date | None] = field(default_factory=dict)  # label -> earliest day of its date

    def __getitem__(self, label: str) -> str:
        return self.ids[label]

    def pick(self, *labels: str) -> set[str]:
        return {self.ids[label] for label in labels}

    def label(self, record_id: str) -> str:
        return next(label for label, i in self.ids.items() if i == record_id)


PEOPLE = {  # label: (name, country, aliases)
    "kozlov": ("Vladimir Kozlov", "KZ", ["Владимир Козлов"]),
    "aliya": ("Aliya Turusbekova", "KZ", []),
    "nosov": ("Dmitry Nosov", "RU", []),
    "lawyer1": ("Anna Lawyer", "RU", []),
    "lawyer2": ("Boris Advocate", "BY", []),
    "judge": ("Judge Presiding", "KZ", []),
    "witness": ("Wendy Witness", None, []),
}

CASES = {  # label: (title, country, status, opened_on, earliest of opened_on)
    "kz1": ("Kozlov case", "KZ", "imprisoned", "2012-01-23", D(2012, 1, 23)),
    "kz2": ("Turusbekova case", "KZ", "released", None, None),
    "by": ("Minsk case", "BY", "trial", "2011~", D(2011, 1, 1)),
    "by2": ("Second Minsk case", "BY", "closed", "2011", D(2011, 1, 1)),
    "ru": ("Moscow case", "RU", "imprisoned", "2014-05", D(2014, 5, 1)),
    "none": ("Stateless case", None, None, None, None),
}

PARTICIPANTS = [  # (case, person, role)
    ("kz1", "kozlov", "defendant"),
    ("kz1", "lawyer1", "lawyer"),
    ("kz1", "judge", "judge"),
    ("kz2", "aliya", "defendant"),
    ("ru", "nosov", "defendant"),
    ("ru", "lawyer1", "lawyer"),
    ("ru", "witness", "witness"),
    ("by", "lawyer1", "witness"),  # lawyer1 is in the BY case, but not as a lawyer
    ("by", "lawyer2", "lawyer"),
]

ART_164 = "Criminal Code art. 164"
CHARGES = [  # (case, statute)
    ("kz1", ART_164),
    ("kz1", ART_164),  # two charges under it: the case must still be listed once
    ("kz2", ART_164),
    ("by", "Criminal Code art. 342"),
    ("ru", "Criminal Code art. 1641"),  # a near miss: statute matching is exact
    ("none", None),
]

OUTCOMES = {  # label: (case, kind, EDTF date, its earliest day)
    "o_sentenced": ("kz1", "sentenced", "2012-10-08", D(2012, 10, 8)),
    "o_denied_2016": ("kz1", "parole_denied", "2016-03-15", D(2016, 3, 15)),
    "o_denied_2013": ("kz1", "parole_denied", "2013?", D(2013, 1, 1)),
    "o_granted_summer": ("kz2", "parole_granted", "2014-22", D(2014, 6, 1)),
    "o_released": ("kz2", "released", "2015~", D(2015, 1, 1)),
    "o_convicted": ("by", "convicted", "2011-12/2012-02", D(2011, 12, 1)),
    "o_denied_2010": ("by", "parole_denied", "2010", D(2010, 1, 1)),
    "o_dropped": ("by", "charges_dropped", "2011-12-31", D(2011, 12, 31)),
    "o_granted_long": ("ru", "parole_granted", "2012-01-23/2019-07", D(2012, 1, 23)),
    "o_appeal": ("ru", "appeal_rejected", "2015-01-01", D(2015, 1, 1)),  # same earliest day as o_released
    "o_other_edge": ("none", "other", "2014-12-31", D(2014, 12, 31)),
    "o_other_2013": ("none", "other", "2013-01-01", D(2013, 1, 1)),  # same earliest day as o_denied_2013
}

HEARINGS = {  # label: (case, kind, date, earliest, public)
    "h_kz1_trial": ("kz1", "trial", "2012-08-16", D(2012, 8, 16), True),
    "h_kz1_parole": ("kz1", "parole", "2016-03-15", D(2016, 3, 15), False),
    "h_kz2_parole": ("kz2", "parole", "2014-06", D(2014, 6, 1), False),
    "h_by_trial": ("by", "trial", "2011-12", D(2011, 12, 1), None),
    "h_ru_appeal": ("ru", "appeal", "2015", D(2015, 1, 1), True),
}

EVENTS = {  # label: (case, kind, date, earliest, people, organizations)
    "e_arrest": ("kz1", "arrest", "2012-01-23", D(2012, 1, 23), ["kozlov"], []),
    "e_transfer": ("kz1", "transfer", "2013-02", D(2013, 2, 1), ["kozlov"], ["prison"]),
    "e_statement": ("kz1", "statement", "2013-02-01", D(2013, 2, 1), ["lawyer1"], []),
    "e_reaction": ("kz1", "reaction", "2016", D(2016, 1, 1), [], ["parliament"]),
    "e_protest": ("ru", "protest", "2014-05-01", D(2014, 5, 1), ["lawyer1", "witness"], []),
    "e_visit": ("by", "visit", "2011~", D(2011, 1, 1), ["lawyer2"], ["prison"]),
}


async def build_world(client: httpx.AsyncClient) -> World:
    w = World()
    w.ids["src_a"] = (await make_source(client, title="Report A"))["id"]
    w.ids["src_b"] = (await make_source(client, title="Report B"))["id"]
    for label, (name, country, aliases) in PEOPLE.items():
        extra: Body = {"aliases": aliases}
        if country:
            extra["country"] = country
        if label == "kozlov":
            extra["description"] = 'Says "no", then\nleaves, quietly'  # CSV quoting: comma, quotes, newline
            extra["source_ids"] = [w["src_a"], w["src_b"]]
        w.ids[label] = (await make_person(client, name, **extra))["id"]
    w.ids["prison"] = (await make_organization(client, "Penal colony UK-161/3", country="KZ"))["id"]
    w.ids["parliament"] = (await make_organization(client, "European Parliament", kind="international_body"))["id"]
    w.ids["court"] = (await make_organization(client, "Almaty Regional Court", kind="court"))["id"]
    for label, (title, country, status, opened_on, earliest) in CASES.items():
        body = {k: v for k, v in {"country": country, "status": status, "opened_on": opened_on}.items() if v}
        w.ids[label] = (await make_case(client, title, **body))["id"]
        w.earliest[label] = earliest
    for case, person, role in PARTICIPANTS:
        await post(client, f"/cases/{w[case]}/participants", {"person_id": w[person], "role": role})
    for i, (case, statute) in enumerate(CHARGES):
        body = {"description": f"Charge {i}"}
        if statute:
            body["statute"] = statute
        await post(client, f"/cases/{w[case]}/charges", body)
    for label, (case, kind, date, earliest) in OUTCOMES.items():
        body = {"kind": kind, "date": date}
        if label == "o_denied_2016":
            body |= {"person_id": w["kozlov"], "summary": "Refused, again", "source_ids": [w["src_a"]]}
        w.ids[label] = (await post(client, f"/cases/{w[case]}/outcomes", body))["id"]
        w.earliest[label] = earliest
    for label, (case, kind, date, earliest, public) in HEARINGS.items():
        body = {"kind": kind, "date": date}
        if public is not None:
            body["public"] = public
        if label == "h_kz1_trial":
            body |= {"court_id": w["court"], "judge_id": w["judge"], "location": "Aktau, hall 2"}
        w.ids[label] = (await post(client, f"/cases/{w[case]}/hearings", body))["id"]
        w.earliest[label] = earliest
    for label, (case, kind, date, earliest, people, organizations) in EVENTS.items():
        body = {
            "kind": kind,
            "date": date,
            "title": f"{kind} ({date})",
            "person_ids": [w[p] for p in people],
            "organization_ids": [w[o] for o in organizations],
        }
        if label == "e_statement":
            body["quote"] = "I will not ask for a pardon, ever"
        w.ids[label] = (await post(client, f"/cases/{w[case]}/events", body))["id"]
        w.earliest[label] = earliest
    return w


# Built once per database for the whole module; each test sees it as built (conftest's shared_world).
world = shared_world(build_world)


# Helpers


async def get(client: httpx.AsyncClient, path: str, params: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
    return await client.get(f"{API}{path}", params=params, **kw)


async def page_json(client: httpx.AsyncClient, path: str, **params: Any) -> Body:
    response = await get(client, path, params)
    assert response.status_code == 200, response.text
    return response.json()


async def all_items(client: httpx.AsyncClient, path: str, limit: int = 500, **params: Any) -> list[Body]:
    """Every item of a list, following ``next`` page by page; each page's size is checked."""
    items: list[Body] = []
    cursor = None
    for _ in range(1000):
        query = {**params, "limit": limit, **({"cursor": cursor} if cursor else {})}
        body = await page_json(client, path, **query)
        items.extend(body["items"])
        cursor = body["next"]
        if cursor is None:
            assert len(body["items"]) <= limit
            return items
        assert len(body["items"]) == limit
    raise AssertionError("paging does not end")


async def ids_of(client: httpx.AsyncClient, path: str, **params: Any) -> list[str]:
    return [item["id"] for item in await all_items(client, path, **params)]


def by_date_then_id(w: World, labels: list[str], descending: bool = False) -> list[str]:
    """The expected order of ``sort=date`` / ``sort=-date``: earliest day, then id (always ascending)."""
    if descending:
        ordered = sorted(labels, key=lambda label: w[label])
        ordered.sort(key=lambda label: w.earliest[label], reverse=True)  # stable: ids stay ascending
    else:
        ordered = sorted(labels, key=lambda label: (w.earliest[label], w[label]))
    return [w[label] for label in ordered]


# Filters


def resolve(world: World, params: dict[str, str]) -> dict[str, str]:
    return {k: world[v[1:]] if v.startswith("@") else v for k, v in params.items()}


FILTERS: dict[str, list[tuple[dict[str, str], list[str]]]] = {  # path: [(query, the labels it must return)]
    "/outcomes": [
        (
            {"kind": "parole_denied,parole_granted"},
            ["o_denied_2016", "o_denied_2013", "o_denied_2010", "o_granted_summer", "o_granted_long"],
        ),
        ({"kind": "released"}, ["o_released"]),
        ({"country": "KZ"}, ["o_sentenced", "o_denied_2016", "o_denied_2013", "o_granted_summer", "o_released"]),
        ({"country": "BY"}, ["o_convicted", "o_denied_2010", "o_dropped"]),
        (
            # Overlap: a record whose EDTF range may fall inside [2012-01-01, 2014-12-31] is kept.
            {"date_from": "2012", "date_to": "2014"},
            [
                "o_sentenced",
                "o_denied_2013",  # 2013?
                "o_granted_summer",  # 2014-22 (summer 2014)
                "o_convicted",  # 2011-12/2012-02 overlaps the start
                "o_granted_long",  # 2012-01-23/2019-07 overlaps everything
                "o_other_edge",  # 2014-12-31, the last day
                "o_other_2013",
            ],
        ),
        ({"date_from": "2015-12"}, ["o_denied_2016", "o_granted_long", "o_released"]),
        ({"date_to": "2011-12-15"}, ["o_denied_2010", "o_convicted"]),
        ({"country": "KZ", "kind": "parole_denied", "date_from": "2014"}, ["o_denied_2016"]),
        ({"person_id": "@kozlov"}, ["o_denied_2016"]),
    ],
    "/hearings": [
        ({"public": "false"}, ["h_kz1_parole", "h_kz2_parole"]),
        ({"public": "true"}, ["h_kz1_trial", "h_ru_appeal"]),
        ({"kind": "parole,appeal", "public": "false"}, ["h_kz1_parole", "h_kz2_parole"]),
        ({"judge_id": "@judge"}, ["h_kz1_trial"]),
        ({"court_id": "@court", "public": "false"}, []),
    ],
    "/events": [
        ({"kind": "arrest,visit"}, ["e_arrest", "e_visit"]),
        ({"date_from": "2013-02-15", "date_to": "2014"}, ["e_transfer", "e_protest"]),
        ({"organization_id": "@prison"}, ["e_transfer", "e_visit"]),
        ({"person_id": "@kozlov"}, ["e_arrest", "e_transfer"]),
        ({"person_id": "@lawyer1"}, ["e_statement", "e_protest"]),
        ({"person_id": "@witness"}, ["e_protest"]),
        ({"person_id": "@nosov"}, []),
        ({"person_id": "@lawyer1", "case_id": "@kz1"}, ["e_statement"]),
    ],
    "/cases": [
        ({"status": "imprisoned,released"}, ["kz1", "kz2", "ru"]),
        ({"status": "trial"}, ["by"]),
        ({"statute": ART_164}, ["kz1", "kz2"]),
        ({"statute": "Criminal Code art. 342"}, ["by"]),
        ({"statute": "Criminal Code art. 16"}, []),
        ({"country": "BY"}, ["by", "by2"]),
        ({"role": "lawyer"}, ["kz1", "ru", "by"]),
        ({"person_id": "@lawyer1", "role": "lawyer"}, ["kz1", "ru"]),
        ({"person_id": "@lawyer1"}, ["kz1", "ru", "by"]),
        ({"person_id": "@lawyer1", "role": "witness"}, ["by"]),
        ({"person_id": "@lawyer1", "role": "defendant"}, []),
        ({"person_id": "@kozlov", "role": "defendant,lawyer"}, ["kz1"]),
    ],
    "/people": [
        ({"role": "defendant"}, ["kozlov", "aliya", "nosov"]),
        ({"role": "lawyer"}, ["lawyer1", "lawyer2"]),
        ({"role": "defendant", "country": "KZ"}, ["kozlov", "aliya"]),
        ({"role": "witness,judge"}, ["witness", "lawyer1", "judge"]),
        ({"case_id": "@by"}, ["lawyer1", "lawyer2"]),
    ],
}


@pytest.mark.parametrize("path", list(FILTERS))
async def test_each_filter_returns_exactly_the_matching_records(
    client: httpx.AsyncClient, world: World, path: str
) -> None:
    for query, expected in FILTERS[path]:
        params = resolve(world, query)
        got = await ids_of(client, path, **params)
        assert len(got) == len(set(got)), f"{query}: a record is listed twice"
        assert sorted(world.label(i) for i in got) == sorted(expected), query


@pytest.mark.parametrize(
    ("path", "params", "mentions"),
    [
        ("/outcomes", {"kind": "parole_denied,paroled"}, ["paroled", "kind"]),
        ("/cases", {"status": "jailed"}, ["jailed", "status"]),
        ("/people", {"role": "accomplice"}, ["accomplice", "role"]),
        ("/outcomes", {"date_from": "2012-13-45"}, ["date_from"]),
    ],
)
async def test_bad_filter_values_are_refused(
    client: httpx.AsyncClient, path: str, params: dict[str, str], mentions: list[str]
) -> None:
    assert_problem(await get(client, path, params), 422, *mentions)


# Sorting


@pytest.mark.parametrize("path", ["/outcomes", "/hearings", "/events"])
async def test_sort_by_date_with_id_as_tiebreak(client: httpx.AsyncClient, world: World, path: str) -> None:
    labels = {"/outcomes": list(OUTCOMES), "/hearings": list(HEARINGS), "/events": list(EVENTS)}[path]
    for sort, descending in (("date", False), ("-date", True)):
        expected = by_date_then_id(world, labels, descending)
        assert await ids_of(client, path, sort=sort) == expected, sort
        assert await ids_of(client, path, sort=sort, limit=3) == expected, sort  # the same order across pages
    assert await ids_of(client, path) == by_date_then_id(world, labels)  # date is these lists' default order


async def test_outcome_date_ties_are_broken_by_id(client: httpx.AsyncClient, world: World) -> None:
    # Two pairs share an earliest day; whatever their ids, the smaller id comes first in both directions.
    for pair in (("o_released", "o_appeal"), ("o_denied_2013", "o_other_2013")):
        low, high = sorted(world.pick(*pair))
        for sort in ("date", "-date"):
            got = await ids_of(client, "/outcomes", sort=sort)
            assert got.index(low) + 1 == got.index(high), (sort, pair)


async def test_nullable_sort_key_places_nulls_and_breaks_ties_by_id(client: httpx.AsyncClient, world: World) -> None:
    undated = sorted(world.pick("kz2", "none"))
    minsk = sorted(world.pick("by", "by2"))  # both open on 2011-01-01
    ascending = undated + minsk + [world["kz1"], world["ru"]]
    descending = [world["ru"], world["kz1"]] + minsk + undated
    for limit in (500, 2, 1):  # small pages put cursors on the NULLs and on the ties
        assert await ids_of(client, "/cases", sort="opened_on", limit=limit) == ascending, limit
        assert await ids_of(client, "/cases", sort="-opened_on", limit=limit) == descending, limit


async def test_sort_by_several_keys(client: httpx.AsyncClient, world: World) -> None:
    items = await all_items(client, "/events", sort="kind,-date")
    expected = sorted(EVENTS, key=lambda label: world[label])
    expected.sort(key=lambda label: world.earliest[label], reverse=True)
    expected.sort(key=lambda label: EVENTS[label][1])
    assert [item["id"] for item in items] == [world[label] for label in expected]


async def test_people_sorted_by_a_nullable_country(client: httpx.AsyncClient, world: World) -> None:
    expected = sorted(PEOPLE, key=lambda label: (PEOPLE[label][1] or "", world[label]))
    assert await ids_of(client, "/people", sort="country", limit=2) == [world[label] for label in expected]


@pytest.mark.parametrize(
    ("path", "sort", "named"),
    [
        ("/outcomes", "nope", "nope"),
        ("/outcomes", "-size", "size"),
        ("/cases", "opened_on,bogus", "bogus"),
        ("/people", "birthday", "birthday"),
        ("/hearings", "public", "public"),
    ],
)
async def test_invalid_sort_field_is_refused_naming_it(
    client: httpx.AsyncClient, path: str, sort: str, named: str
) -> None:
    assert_problem(await get(client, path, {"sort": sort}), 422, "sort", repr(named))


# Paging


PAGED = [
    ("/outcomes", {}),
    ("/outcomes", {"sort": "-date"}),
    ("/outcomes", {"sort": "kind,date"}),
    ("/outcomes", {"sort": "-date", "kind": "parole_denied,parole_granted,other"}),
    ("/cases", {"sort": "opened_on"}),
    ("/people", {}),
    ("/events", {"sort": "-kind"}),
]


async def follow_next(client: httpx.AsyncClient, paged: list[tuple[str, dict[str, str]]]) -> None:
    """For each list: the pages of 3, followed through ``Link: rel="next"``, are the whole list, once."""
    for path, params in paged:
        everything = await ids_of(client, path, **params)  # one page of 500
        assert len(everything) >= 6
        response = await get(client, path, {**params, "limit": 3})
        assert response.status_code == 200
        pages = [response.json()]
        while pages[-1]["next"] is not None:
            assert len(pages) < 20
            link = response.headers["link"]
            assert link.endswith('>; rel="next"')
            response = await client.get(link[1 : link.index(">")])  # the Link carries the filters and sort
            assert response.status_code == 200, response.text
            pages.append(response.json())
        assert "link" not in response.headers
        visited = [item["id"] for page in pages for item in page["items"]]
        assert visited == everything, (path, params)
        assert [len(page["items"]) for page in pages[:-1]] == [3] * (len(pages) - 1)


async def test_following_next_visits_every_record_exactly_once(client: httpx.AsyncClient, world: World) -> None:
    await follow_next(client, PAGED)


async def test_following_next_on_a_timestamp_sort(client: httpx.AsyncClient, world: World) -> None:
    await follow_next(
        client, [("/cases", {}), ("/people", {"sort": "-created_at"}), ("/outcomes", {"sort": "updated_at"})]
    )


async def test_records_inserted_while_paging_are_neither_skipped_nor_repeated(client: httpx.AsyncClient) -> None:
    case = (await make_case(client, "Paged while written"))["id"]
    path = f"/cases/{case}/events"
    keys: dict[str, tuple[str, str]] = {}  # id -> (earliest day, id): the list's order

    async def add(date: str) -> str:
        event = await post(client, path, {"kind": "other", "date": date, "title": date})
        keys[event["id"]] = (event["date_earliest"], event["id"])
        return event["id"]

    original = [await add(f"{year}-06-01") for year in range(2010, 2019)]
    original.append(await add("2012-06-01"))  # a tie on the date with one of the others
    inserted: dict[str, tuple[str, str]] = {}  # new id -> the key of the last record seen when it was added

    visited: list[str] = []
    cursor = None
    round_ = 0
    while True:
        body = await page_json(client, path, limit=3, **({"cursor": cursor} if cursor else {}))
        visited.extend(item["id"] for item in body["items"])
        cursor = body["next"]
        if cursor is None:
            break
        round_ += 1
        assert round_ < 20
        if round_ > 3:
            continue
        last_seen = keys[visited[-1]]
        # Between two page requests: new records sorting before the cursor, after it, and on its very day
        # (where the id decides on which side they fall).
        for date in ("2009-01-01", f"{2010 + round_}-06-01", last_seen[0], f"{2015 + round_}-01-01", "2020"):
            inserted[await add(date)] = last_seen

    assert len(visited) == len(set(visited)), "a record was repeated"
    assert set(original) <= set(visited), "an existing record was skipped"
    after_the_cursor = {i for i, seen in inserted.items() if keys[i] > seen}
    before_the_cursor = set(inserted) - after_the_cursor
    assert after_the_cursor and before_the_cursor  # the test really inserted on both sides
    assert set(visited) == set(original) | after_the_cursor
    assert visited == sorted(visited, key=keys.__getitem__)  # one consistent order throughout


async def test_a_cursor_from_another_sort_is_refused(client: httpx.AsyncClient, world: World) -> None:
    for first, then in [("date", "-date"), ("date", "kind"), ("-date", "date,kind"), ("kind", "kind,-date")]:
        cursor = (await page_json(client, "/outcomes", sort=first, limit=2))["next"]
        assert cursor is not None
        assert (await get(client, "/outcomes", {"sort": first, "limit": 2, "cursor": cursor})).status_code == 200
        refused = await get(client, "/outcomes", {"sort": then, "limit": 2, "cursor": cursor})
        assert_problem(refused, 400, "cursor")
    cursor = (await page_json(client, "/outcomes", limit=2))["next"]  # default sort: date
    assert_problem(await get(client, "/cases", {"limit": 2, "cursor": cursor}), 400, "cursor")
    assert_problem(await get(client, "/outcomes", {"cursor": "not-a-cursor"}), 400, "cursor")


# count=, fields=, limit=, unknown parameters


async def test_count_gives_the_total_and_costs_one_statement_only_when_asked(
    client: httpx.AsyncClient, world: World, statements: Any
) -> None:
    params = {"kind": "parole_denied,parole_granted", "limit": 2}
    with statements.count() as executed:
        plain = await get(client, "/outcomes", params)
    without = list(executed)
    with statements.count() as executed:
        counted = await get(client, "/outcomes", {**params, "count": "true"})
    with_count = list(executed)

    assert plain.status_code == counted.status_code == 200
    assert "count" not in plain.json()
    assert counted.json()["count"] == 5  # the total, not the page size
    assert counted.json()["items"] == plain.json()["items"]
    assert len(with_count) == len(without) + 1
    assert not any("count(" in s.lower() for s in without)
    assert sum("count(" in s.lower() for s in with_count) == 1

    assert (await page_json(client, "/cases", count="true", status="imprisoned,released"))["count"] == 3
    assert (await page_json(client, "/cases", count="true", statute="no such statute"))["count"] == 0
    assert (await page_json(client, "/people", count="true", q="kozlov"))["count"] == 1


async def test_fields_selects_the_keys_of_each_item(client: httpx.AsyncClient, world: World) -> None:
    full = await all_items(client, "/outcomes")
    slim = await all_items(client, "/outcomes", fields="id,date")
    assert slim == [{"id": item["id"], "date": item["date"]} for item in full]
    assert all(list(item) == ["id", "date"] for item in slim)
    events = await all_items(client, "/events", fields="person_ids, id", kind="arrest")
    assert events == [{"id": world["e_arrest"], "person_ids": [world["kozlov"]]}]


@pytest.mark.parametrize("fields", ["nope", "id,nope", ",", "id,date_earliest,bogus"])
async def test_unknown_fields_are_refused(client: httpx.AsyncClient, fields: str) -> None:
    body = assert_problem(await get(client, "/outcomes", {"fields": fields}), 422, "fields")
    for name in fields.split(","):
        if name.strip() and name not in ("id", "date_earliest"):
            assert repr(name) in body["detail"]


async def test_limit_bounds(client: httpx.AsyncClient, world: World) -> None:
    assert (await get(client, "/outcomes", {"limit": 500})).status_code == 200
    for path in ("/outcomes", "/people", "/cases", f"/cases/{world['kz1']}/events"):
        assert_problem(await get(client, path, {"limit": 501}), 422, "limit")
    assert_problem(await get(client, "/outcomes", {"limit": 0}), 422, "limit")
    assert len((await page_json(client, "/outcomes", limit=1))["items"]) == 1


@pytest.mark.parametrize(
    ("path", "param"),
    [("/outcomes", "kindd"), ("/people", "sort_by"), ("/cases", "statutes"), ("/hearings", "page"), ("/events", "q2")],
)
async def test_unknown_query_parameter_is_refused_naming_it(client: httpx.AsyncClient, path: str, param: str) -> None:
    assert_problem(await get(client, path, {param: "x"}), 400, repr(param))


# CSV


LIST_FIELDS = {"aliases", "source_ids", "person_ids", "organization_ids", "named_person_ids"}
BOOL_FIELDS = {"public", "restricted"}
INT_FIELDS = {"version", "term_months"}


def parse_csv(text: str) -> tuple[list[str], list[Body]]:
    """Rows of a CSV export, decoded: JSON arrays for lists, true/false, empty cell = null, and text with the
    `'` that keeps spreadsheets from running it as a formula taken off (tests.helpers.spreadsheet_text)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    for raw in reader:
        row: Body = {}
        for name, cell in raw.items():
            if cell == "":
                row[name] = None
            elif name in LIST_FIELDS:
                row[name] = json.loads(cell)
            elif name in BOOL_FIELDS:
                row[name] = {"true": True, "false": False}[cell]
            elif name in INT_FIELDS:
                row[name] = int(cell)
            else:
                row[name] = spreadsheet_text(cell)
        rows.append(row)
    return list(reader.fieldnames or []), rows


CSV_LISTS = {  # resource: [(path, params)]; "@label" stands for that record's id
    "people": [("/people", {}), ("/people", {"role": "defendant", "sort": "-name"})],
    "hearings": [("/hearings", {}), ("/hearings", {"public": "false", "sort": "-date"})],
    "outcomes": [
        ("/outcomes", {"sort": "-date"}),
        ("/outcomes", {"country": "KZ", "date_from": "2013", "sort": "kind,-date"}),
    ],
    "events": [
        ("/events", {}),
        ("/events", {"person_id": "@lawyer1", "sort": "-date"}),
        ("/cases/@kz1/events", {"sort": "kind"}),
    ],
}


@pytest.mark.parametrize("resource", list(CSV_LISTS))
async def test_csv_rows_are_exactly_the_json_items(client: httpx.AsyncClient, world: World, resource: str) -> None:
    for raw_path, raw_params in CSV_LISTS[resource]:
        path = "/".join(world[part[1:]] if part.startswith("@") else part for part in raw_path.split("/"))
        params = resolve(world, raw_params)
        items = await all_items(client, path, limit=2, **params)  # the JSON list, page by page
        assert items, "the list under test must not be empty"
        for how in ("format=csv", "Accept: text/csv"):
            if how == "format=csv":
                response = await get(client, path, {**params, "format": "csv"})
            else:
                response = await get(client, path, params, headers={"Accept": "text/csv"})
            where = (raw_path, raw_params, how)
            assert response.status_code == 200, response.text
            assert response.headers["content-type"].startswith("text/csv"), where
            assert "attachment" in response.headers.get("content-disposition", ""), where
            header, rows = parse_csv(response.text)
            assert header == list(items[0]), where
            assert [row["id"] for row in rows] == [item["id"] for item in items], where  # filters and sort
            for row, item in zip(rows, items, strict=True):
                for name in header:
                    assert row[name] == item[name], (*where, item["id"], name)


async def test_csv_carries_lists_text_and_booleans_faithfully(client: httpx.AsyncClient, world: World) -> None:
    _, people = parse_csv((await get(client, "/people", {"format": "csv"})).text)
    kozlov = next(row for row in people if row["id"] == world["kozlov"])
    assert kozlov["aliases"] == ["Владимир Козлов"]
    assert kozlov["source_ids"] == sorted(world.pick("src_a", "src_b"))
    assert kozlov["description"] == 'Says "no", then\nleaves, quietly'
    witness = next(row for row in people if row["id"] == world["witness"])
    assert witness["country"] is None and witness["aliases"] == []
    _, hearings = parse_csv((await get(client, "/hearings", {"format": "csv", "sort": "date"})).text)
    assert [row["public"] for row in hearings] == [None, True, False, True, False]


async def test_csv_of_an_empty_list_is_a_header(client: httpx.AsyncClient, world: World) -> None:
    response = await get(client, "/outcomes", {"format": "csv", "kind": "pardoned"})
    assert response.status_code == 200
    header, rows = parse_csv(response.text)
    assert rows == [] and "id" in header and "kind" in header


async def test_csv_honours_fields(client: httpx.AsyncClient, world: World) -> None:
    response = await get(client, "/outcomes", {"format": "csv", "fields": "id,kind", "kind": "parole_granted"})
    header, rows = parse_csv(response.text)
    assert header == ["id", "kind"]
    assert sorted(row["id"] for row in rows) == sorted(world.pick("o_granted_summer", "o_granted_long"))


async def test_json_is_chosen_when_the_client_accepts_both(client: httpx.AsyncClient, world: World) -> None:
    response = await get(client, "/people", headers={"Accept": "application/json, text/csv"})
    assert response.headers["content-type"].startswith("application/json")
    forced = await get(client, "/people", {"format": "json"}, headers={"Accept": "text/csv"})
    assert forced.headers["content-type"].startswith("application/json")


async def test_a_csv_export_larger_than_one_batch_arrives_whole(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    count = 1_200
    assert count > CSV_BATCH
    case = (await make_case(client, "A long case"))["id"]
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i in range(count):
        day = dt.date(2000, 1, 1) + dt.timedelta(days=i % 700)
        rows.append(
            {
                "id": uuid.uuid4().hex,
                "created_at": now,
                "updated_at": now,
                "case_id": case,
                "kind": "visit",
                "date": day.isoformat(),
                "date_earliest": day,
                "date_latest": day,
                "title": f"Visit number {i}",
            }
        )
    await connection.execute(insert(Event.__table__), rows)

    response = await get(client, f"/cases/{case}/events", {"format": "csv"})
    assert response.status_code == 200
    _, exported = parse_csv(response.text)
    assert len(exported) == count
    assert [row["id"] for row in exported] == [r["id"] for r in sorted(rows, key=lambda r: (r["date"], r["id"]))]
    assert (await page_json(client, f"/cases/{case}/events", count="true", limit=1))["count"] == count
