"""A case is found (on the home page and by ``GET /api/v1/cases?q=``) by its own title and summary, or by the
name or alias of a person who takes part in it: but only through participations and people the viewer may
see. A restricted participation, a restricted person, or a participation in a case the viewer cannot see
makes no case findable by that name: the public gets the same answer as for a name nobody has.

Every test runs on SQLite and on PostgreSQL.
"""

import re
from typing import Any
from urllib.parse import quote_plus

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app import demo
from app.auth.roles import Role
from tests.helpers import API, make_case, make_person, ok, post
from tests.test_web import assert_html_page, load

NOBODY = "Nobodyhasthisname"


def case_links(page: httpx.Response) -> list[str]:
    return re.findall(r'href="/cases/([0-9a-f]{32})"', page.text)


async def found_by_api(http: httpx.AsyncClient, q: str) -> list[str]:
    body = (await ok(http, "/cases", q=q, limit=500)).json()
    assert body["next"] is None
    return [item["id"] for item in body["items"]]


async def found_by_page(http: httpx.AsyncClient, q: str) -> list[str]:
    return case_links(await http.get("/", params={"q": q}))


@pytest.mark.parametrize("q", ["Umarova", "Козлов", "Turusbekova", "Айман", "Алия Турусбекова"])
async def test_the_demo_case_is_found_by_a_participants_name_or_alias(
    anonymous: httpx.AsyncClient, connection: AsyncConnection, q: str
) -> None:
    await load(connection)
    doc = assert_html_page(await anonymous.get("/", params={"q": q}))
    assert "No case matches this search." not in doc.one("main").text()
    assert await found_by_page(anonymous, q) == [demo.CASE_ID]
    assert await found_by_api(anonymous, q) == [demo.CASE_ID]


async def hidden_ways_to_a_case(client: httpx.AsyncClient) -> dict[str, str]:
    """Names that reach a public case (or a restricted one) only through something the public may not see.
    Returns name -> the case a reader finds by it."""
    public_case = (await make_case(client, "Open trial", summary="A trial in the capital"))["id"]
    hidden_case = (await make_case(client, "Closed trial", restricted=True))["id"]

    # A public person whose one participation is restricted.
    witness = (await make_person(client, "Zarina Kemelbekova", aliases=["Зарина Кемелбекова"]))["id"]
    await post(
        client, f"/cases/{public_case}/participants", {"person_id": witness, "role": "witness", "restricted": True}
    )
    # A restricted person, in a public participation.
    informant = (await make_person(client, "Bolat Sarsenbayev", restricted=True))["id"]
    await post(client, f"/cases/{public_case}/participants", {"person_id": informant, "role": "witness"})
    # A public person whose one participation is in a restricted case.
    judge = (await make_person(client, "Erlan Tokhtarov"))["id"]
    await post(client, f"/cases/{hidden_case}/participants", {"person_id": judge, "role": "judge"})
    return {
        "Kemelbekova": public_case,
        "Кемелбекова": public_case,
        "Sarsenbayev": public_case,
        "Tokhtarov": hidden_case,
    }


async def test_hidden_participants_make_no_case_findable_for_the_public(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    names = await hidden_ways_to_a_case(client)
    never = (await ok(anonymous, "/cases", q=NOBODY, count="true")).json()
    never_page = await anonymous.get("/", params={"q": NOBODY})
    assert never == {"items": [], "next": None, "count": 0}
    for q in names:
        assert (await ok(anonymous, "/cases", q=q, count="true")).json() == never, q
        page = await anonymous.get("/", params={"q": q})
        assert page.status_code == never_page.status_code == 200
        assert case_links(page) == [], q
        # The page differs from the never-existing name's only where it repeats the query.
        assert page.text.replace(quote_plus(q), NOBODY).replace(q, NOBODY) == never_page.text, q


async def test_a_reader_finds_the_case_by_a_hidden_participants_name(client: httpx.AsyncClient, client_as: Any) -> None:
    names = await hidden_ways_to_a_case(client)
    reader = await client_as(Role.reader)
    for q, case in names.items():
        assert await found_by_api(reader, q) == [case], q
        assert await found_by_page(reader, q) == [case], q


async def test_a_deleted_participation_finds_nothing(client: httpx.AsyncClient) -> None:
    case = (await make_case(client, "Some trial"))["id"]
    person = (await make_person(client, "Daniyar Adilbekov"))["id"]
    participant = await post(client, f"/cases/{case}/participants", {"person_id": person, "role": "lawyer"})
    assert await found_by_api(client, "Adilbekov") == [case]
    assert (await client.delete(f"{API}/participants/{participant['id']}")).status_code == 204
    assert await found_by_api(client, "Adilbekov") == []
    assert await found_by_page(client, "Adilbekov") == []


async def test_paging_through_cases_found_by_title_and_by_people_visits_each_once(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, statements: Any
) -> None:
    q = "zhanuzakov"
    by_title = [(await make_case(client, f"Zhanuzakov case {n}"))["id"] for n in range(3)]
    by_people = [(await make_case(client, f"Trial {n}"))["id"] for n in range(3)]
    namesakes = [(await make_person(client, name))["id"] for name in ("Marat Zhanuzakov", "Aigul Zhanuzakova")]
    # Found twice over: by its own title and by two participants; and a case found by two of them.
    for case in (by_title[0], by_people[0]):
        for person in namesakes:
            await post(client, f"/cases/{case}/participants", {"person_id": person, "role": "defendant"})
    await post(client, f"/cases/{by_people[1]}/participants", {"person_id": namesakes[0], "role": "defendant"})
    await post(client, f"/cases/{by_people[1]}/participants", {"person_id": namesakes[0], "role": "witness"})
    await post(client, f"/cases/{by_people[2]}/participants", {"person_id": namesakes[1], "role": "lawyer"})
    await make_case(client, "Unrelated")
    expected = set(by_title + by_people)

    whole = await found_by_api(anonymous, q)
    assert sorted(whole) == sorted(expected)
    assert sorted(await found_by_page(anonymous, q)) == sorted(expected)
    for limit in (1, 2, 4):
        visited: list[str] = []
        params: dict[str, Any] = {"q": q, "limit": limit}
        for _ in range(len(expected) + 1):
            page = (await ok(anonymous, "/cases", **params)).json()
            assert page["items"], f"limit={limit}: an empty page before the end"
            visited += [item["id"] for item in page["items"]]
            if page["next"] is None:
                break
            params["cursor"] = page["next"]
        assert visited == whole, f"limit={limit}"
    counted = (await ok(anonymous, "/cases", q=q, count="true", limit=1)).json()["count"]
    assert counted == len(expected)

    # Cases and people are matched in the page's one statement; a later page (the rank of the row its cursor
    # continues after recomputed in SQL) costs what the first does, as does a search by the case's own text.
    with statements.count() as first:
        cursor = (await ok(anonymous, "/cases", q=q, limit=1)).json()["next"]
    with statements.count() as later:
        await ok(anonymous, "/cases", q=q, limit=1, cursor=cursor)
    with statements.count() as by_title_only:
        await ok(anonymous, "/cases", q="unrelated", limit=1)
    assert len(later) == len(first) == len(by_title_only)
