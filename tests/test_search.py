"""Full-text search (q=) on people, organizations, cases and events: any script, any case, word
prefixes, ranking, the index kept in step with every write, and paging through ranked results.

Every test runs on SQLite (FTS5) and on PostgreSQL (tsvector), each in its own rolled-back transaction.
"""

from typing import Any

import httpx
import pytest

from tests.helpers import API, assert_problem, make_case, make_organization, make_person, post

Body = dict[str, Any]


async def search(client: httpx.AsyncClient, path: str, q: str, **params: Any) -> list[str]:
    """The ids of every match, in the order the list gives them (one page of up to 500)."""
    response = await client.get(f"{API}{path}", params={"q": q, "limit": 500, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next"] is None
    return [item["id"] for item in body["items"]]


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict[str, str]:
    made = {
        "kozlov": await make_person(client, "Vladimir Kozlov", aliases=["Владимир Козлов"], country="KZ"),
        "aliya": await make_person(client, "Aliya Turusbekova", aliases=["Алия Турусбекова"], country="KZ"),
        "nosov": await make_person(client, "Dmitry Nosov", country="RU", description="Met Kazakh activists"),
        "other": await make_person(client, "Kozma Prutkov", country="RU"),  # starts like "kozl", is not
    }
    return {label: person["id"] for label, person in made.items()}


@pytest.mark.parametrize("q", ["Козлов", "козлов", "КОЗЛОВ", "kozl", "Kozlov", "KOZLOV", "Владимир Козл", "vlad koz"])
async def test_a_person_is_found_by_name_or_alias_in_any_script_case_and_prefix(
    client: httpx.AsyncClient, people: dict[str, str], q: str
) -> None:
    assert await search(client, "/people", q) == [people["kozlov"]]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("турусбекова", ["aliya"]),
        ("Алия", ["aliya"]),
        ("koz", ["kozlov", "other"]),
        ("kazakh", ["nosov"]),  # a word of the description
        ("kozlov turusbekova", []),  # every word must match
        ("zzzz", []),
    ],
)
async def test_person_search_returns_exactly_the_matches(
    client: httpx.AsyncClient, people: dict[str, str], q: str, expected: list[str]
) -> None:
    assert sorted(await search(client, "/people", q)) == sorted(people[label] for label in expected)


async def test_an_organization_is_found_by_name(client: httpx.AsyncClient) -> None:
    court = (await make_organization(client, "Almaty Regional Court", kind="court"))["id"]
    prison = (await make_organization(client, "Penal colony UK-161/3"))["id"]
    await make_organization(client, "European Parliament", kind="international_body")
    assert await search(client, "/organizations", "almaty") == [court]
    assert await search(client, "/organizations", "Regional court") == [court]
    assert await search(client, "/organizations", "colony") == [prison]
    assert await search(client, "/organizations", "almaty", kind="prison") == []


async def test_a_case_is_found_by_words_of_its_summary(client: httpx.AsyncClient) -> None:
    strike = await make_case(
        client, "Kozlov case", summary="Accused of inciting social discord after the Zhanaozen oil strike."
    )
    await make_case(client, "Another case", summary="A blogger accused of spreading false information.")
    assert await search(client, "/cases", "zhanaozen") == [strike["id"]]
    assert await search(client, "/cases", "oil strike") == [strike["id"]]
    assert sorted(await search(client, "/cases", "accused")) == sorted(await search(client, "/cases", "ACCUSED"))
    assert len(await search(client, "/cases", "accused")) == 2


async def test_an_event_is_found_by_a_word_of_its_quote(client: httpx.AsyncClient) -> None:
    case = (await make_case(client))["id"]
    other_case = (await make_case(client, "Other case"))["id"]
    quoted = await post(
        client,
        f"/cases/{case}/events",
        {
            "kind": "statement",
            "date": "2016-03",
            "title": "Statement from prison",
            "quote": "I will not ask for a pardon",
        },
    )
    await post(client, f"/cases/{case}/events", {"kind": "visit", "date": "2016-04", "title": "Lawyer visit"})
    await post(
        client, f"/cases/{other_case}/events", {"kind": "statement", "date": "2016", "title": "Statement on pardons"}
    )
    other = await search(client, "/events", "statement pardons")
    assert len(other) == 1 and other[0] != quoted["id"]  # the other case's event, by its title
    assert set(await search(client, "/events", "pardon")) == {quoted["id"], other[0]}  # "pardon" prefixes "pardons"
    assert await search(client, "/events", "pardon ask") == [quoted["id"]]
    assert await search(client, f"/cases/{case}/events", "pardon") == [quoted["id"]]
    assert await search(client, "/events", "pardon", case_id=other_case) == other
    assert await search(client, "/events", "will not ask") == [quoted["id"]]


async def test_a_name_match_ranks_above_a_mention_in_the_description(client: httpx.AsyncClient) -> None:
    # Entered in an order that differs from the expected ranking, so creation order cannot explain it.
    mentions = [
        (await make_person(client, f"Reporter {i}", description=f"Wrote about Ablyazov and his bank, year {i}."))["id"]
        for i in range(2)
    ]
    named = [(await make_person(client, name))["id"] for name in ("Mukhtar Ablyazov", "Madina Ablyazova")]
    ranked = await search(client, "/people", "ablyazov")
    assert set(ranked[:2]) == set(named)
    assert set(ranked[2:]) == set(mentions)
    # With an explicit sort the ranking gives way to it.
    by_name = await search(client, "/people", "ablyazov", sort="name")
    assert by_name == [named[1], named[0], *mentions]  # Madina, Mukhtar, Reporter 0, Reporter 1


async def test_a_renamed_person_is_found_by_the_new_name_only(client: httpx.AsyncClient) -> None:
    person = (await make_person(client, "Ivan Petrov"))["id"]
    assert await search(client, "/people", "petrov") == [person]
    response = await client.patch(f"{API}/people/{person}", json={"name": "Pyotr Sidorov"})
    assert response.status_code == 200, response.text
    assert await search(client, "/people", "petrov") == []
    assert await search(client, "/people", "sidorov") == [person]
    response = await client.patch(f"{API}/people/{person}", json={"aliases": ["Пётр Сидоров"]})
    assert response.status_code == 200
    assert await search(client, "/people", "Сидоров") == [person]
    assert await search(client, "/people", "sidorov") == [person]  # the name is still indexed too


async def test_renamed_organization_case_and_event_follow_their_new_text(client: httpx.AsyncClient) -> None:
    org = (await make_organization(client, "Old Court Name", kind="court"))["id"]
    case = (await make_case(client, "Case", summary="About the Zhanaozen strike"))["id"]
    event = (await post(client, f"/cases/{case}/events", {"kind": "statement", "date": "2016", "title": "Said"}))["id"]
    for path, body in (
        (f"/organizations/{org}", {"name": "Renamed Tribunal"}),
        (f"/cases/{case}", {"summary": "About the Mangystau unrest"}),
        (f"/events/{event}", {"quote": "Freedom of speech"}),
    ):
        assert (await client.patch(f"{API}{path}", json=body)).status_code == 200
    assert await search(client, "/organizations", "old") == []
    assert await search(client, "/organizations", "tribunal") == [org]
    assert await search(client, "/cases", "zhanaozen") == []
    assert await search(client, "/cases", "mangystau") == [case]
    assert await search(client, "/events", "freedom") == [event]


@pytest.mark.parametrize("kind", ["people", "organizations", "cases", "events"])
async def test_a_deleted_record_is_not_found(client: httpx.AsyncClient, kind: str) -> None:
    case = (await make_case(client, "Holder case"))["id"]
    if kind == "people":
        doomed = (await make_person(client, "Quillon Vanishing"))["id"]
    elif kind == "organizations":
        doomed = (await make_organization(client, "Quillon Vanishing Agency"))["id"]
    elif kind == "cases":
        doomed = (await make_case(client, "Quillon Vanishing case"))["id"]
    else:
        doomed = (await post(client, f"/cases/{case}/events", {"kind": "other", "date": "2016", "title": "Quillon"}))[
            "id"
        ]
    assert await search(client, f"/{kind}", "quillon") == [doomed]
    assert (await client.delete(f"{API}/{kind}/{doomed}")).status_code == 204
    assert await search(client, f"/{kind}", "quillon") == []


async def test_the_events_of_a_deleted_case_are_not_found(client: httpx.AsyncClient) -> None:
    case = (await make_case(client, "Doomed"))["id"]
    kept = (await make_case(client, "Kept"))["id"]
    await post(client, f"/cases/{case}/events", {"kind": "other", "date": "2016", "title": "Quillon gone"})
    survivor = await post(client, f"/cases/{kept}/events", {"kind": "other", "date": "2016", "title": "Quillon kept"})
    assert len(await search(client, "/events", "quillon")) == 2
    assert (await client.delete(f"{API}/cases/{case}")).status_code == 204
    assert await search(client, "/events", "quillon") == [survivor["id"]]


@pytest.mark.parametrize("path", ["/people", "/organizations", "/cases", "/events"])
@pytest.mark.parametrize("q", ["!!!", "  ", "-*-", '"'])
async def test_a_query_without_any_word_is_refused(client: httpx.AsyncClient, path: str, q: str) -> None:
    assert_problem(await client.get(f"{API}{path}", params={"q": q}), 422, "q")


async def test_an_empty_query_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/people", params={"q": ""})
    assert response.status_code in (400, 422)
    assert "q" in response.json()["detail"]


async def test_search_operators_are_taken_as_plain_words(client: httpx.AsyncClient, people: dict[str, str]) -> None:
    for q in ("kozlov OR nosov", "kozlov & !nosov", "kozl* | (nosov)", 'NEAR("kozlov")', "kozlov:*"):
        response = await client.get(f"{API}/people", params={"q": q})
        assert response.status_code == 200, (q, response.text)
    assert await search(client, "/people", "kozl* | (vlad)") == [people["kozlov"]]


async def test_search_combined_with_a_filter_intersects(client: httpx.AsyncClient, people: dict[str, str]) -> None:
    russian_kozlov = (await make_person(client, "Sergei Kozlov", country="RU"))["id"]
    assert sorted(await search(client, "/people", "kozlov")) == sorted([people["kozlov"], russian_kozlov])
    assert await search(client, "/people", "kozlov", country="KZ") == [people["kozlov"]]
    assert await search(client, "/people", "kozlov", country="RU") == [russian_kozlov]
    assert await search(client, "/people", "nosov", country="KZ") == []

    case = (await make_case(client, "Trial", country="KZ"))["id"]
    await post(client, f"/cases/{case}/participants", {"person_id": russian_kozlov, "role": "defendant"})
    assert await search(client, "/people", "kozlov", role="defendant") == [russian_kozlov]
    assert await search(client, "/cases", "trial", country="KZ") == [case]
    assert await search(client, "/cases", "trial", country="RU") == []


async def test_paging_through_ranked_results_visits_each_match_once(client: httpx.AsyncClient) -> None:
    matches = set()
    # Equal texts give equal ranks: the id must break the ties across pages.
    for name in ("Marat Zhanuzakov", "Marat Zhanuzakov", "Zhanuzakov", "Aigul Zhanuzakova"):
        matches.add((await make_person(client, name))["id"])
    for i in range(2):
        matches.add((await make_person(client, f"Observer {i}", description="Saw Zhanuzakov in court"))["id"])
    await make_person(client, "Unrelated Person", description="Saw someone else")

    everything = await search(client, "/people", "zhanuzakov")
    assert set(everything) == matches
    visited: list[str] = []
    cursor = None
    for _ in range(20):
        params: dict[str, Any] = {"q": "zhanuzakov", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        response = await client.get(f"{API}/people", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) == 1
        visited.append(body["items"][0]["id"])
        cursor = body["next"]
        if cursor is None:
            break
    assert visited == everything  # every match once, in rank order


async def test_a_search_cursor_does_not_fit_another_order(client: httpx.AsyncClient, people: dict[str, str]) -> None:
    cursor = (await client.get(f"{API}/people", params={"q": "koz", "limit": 1})).json()["next"]
    assert cursor is not None
    sorted_instead = await client.get(
        f"{API}/people", params={"q": "koz", "limit": 1, "cursor": cursor, "sort": "name"}
    )
    assert_problem(sorted_instead, 400, "cursor")


async def test_search_results_count(client: httpx.AsyncClient, people: dict[str, str]) -> None:
    response = await client.get(f"{API}/people", params={"q": "koz", "count": "true", "limit": 1})
    assert response.json()["count"] == 2
    assert len(response.json()["items"]) == 1
