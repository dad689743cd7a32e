"""Cursors are opaque to clients and safe against forgery.

A search cursor holds no score: a full-text rank moves with every indexed document, the hidden ones
included, so a rank in a cursor would let the public watch restricted records come and go. A cursor
a client edited is a 400 problem naming the cursor, whatever it holds: dates at the edge of the
calendar, timestamps without their offset, numbers no column can hold, text no database can store.

Every test runs on SQLite and on PostgreSQL. Forged cursors are built the way the service builds
its own: base64url of compact JSON, ``{"o": <order>, "v": [<sort values>]}`` for lists and
``[2, latest, earliest, rank, recorded, id, phase]`` for a timeline (2: the cursor's version).
"""

import base64
import html
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from app.web.router import PAGE_SIZE
from tests.helpers import API, assert_problem, forged_cursor, make_case, make_person, ok, post

Q = "zhanuzakov"


def forged(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def numbers_in(cursor: str) -> list[Any]:
    """Every number a client can read out of a cursor (none, if it cannot read the cursor at all)."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        return []
    found: list[Any] = []

    def walk(value: Any) -> None:
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            found.append(value)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(payload)
    return found


async def matching_people(client: httpx.AsyncClient) -> list[str]:
    """Public people who match ``Q`` with different strengths (so their ranks differ)."""
    return [
        (await make_person(client, "Marat Zhanuzakov", description="Zhanuzakov was arrested in Zhanaozen"))["id"],
        (await make_person(client, "Aigul Zhanuzakova"))["id"],
        (await make_person(client, "Observer", description="Saw Zhanuzakov in court"))["id"],
    ]


async def public_search_cursor(anonymous: httpx.AsyncClient) -> str:
    cursor = (await ok(anonymous, "/people", q=Q, limit=1)).json()["next"]
    assert cursor is not None
    return cursor


# Item 2: a search cursor shows nothing of the records the viewer cannot see


async def test_the_publics_search_cursor_does_not_move_with_hidden_matches(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    await matching_people(client)
    before = await public_search_cursor(anonymous)

    hidden = (await make_person(client, "Zhanuzakov Zhanuzakov", description="Zhanuzakov", restricted=True))["id"]
    assert await public_search_cursor(anonymous) == before, "a restricted match moved the public's cursor"
    assert (await client.delete(f"{API}/people/{hidden}")).status_code == 204
    assert await public_search_cursor(anonymous) == before, "deleting a restricted match moved the public's cursor"
    assert (await client.post(f"{API}/people/{hidden}/purge")).status_code == 204
    assert await public_search_cursor(anonymous) == before, "purging a restricted match moved the public's cursor"

    assert numbers_in(before) == [], f"the cursor can be read as a score: {numbers_in(before)}"


async def test_search_cursors_page_through_every_match_once_for_the_public(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    shown = await matching_people(client)
    await make_person(client, "Zhanuzakov Hidden", restricted=True)
    whole = [i["id"] for i in (await ok(anonymous, "/people", q=Q, limit=500)).json()["items"]]
    assert sorted(whole) == sorted(shown)
    visited: list[str] = []
    params: dict[str, Any] = {"q": Q, "limit": 1}
    for _ in range(10):
        page = (await ok(anonymous, "/people", **params)).json()
        visited += [i["id"] for i in page["items"]]
        if page["next"] is None:
            break
        params["cursor"] = page["next"]
    assert visited == whole


async def test_a_later_search_page_costs_the_statements_of_the_first(
    anonymous: httpx.AsyncClient, client: httpx.AsyncClient, statements: Any
) -> None:
    """The rank of the row a cursor continues after is recomputed inside the page's own statement."""
    await matching_people(client)
    with statements.count() as first:
        cursor = await public_search_cursor(anonymous)
    with statements.count() as later:
        page = await anonymous.get(f"{API}/people", params={"q": Q, "limit": 1, "cursor": cursor})
    assert page.status_code == 200 and len(page.json()["items"]) == 1
    assert len(later) == len(first)


async def test_a_search_cursor_after_a_hidden_record_is_the_same_400_as_after_a_missing_one(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    """A reader's cursor that continues after a restricted record tells the public nothing about it."""
    await matching_people(client)
    hidden = (await make_person(client, "Zhanuzakov Zhanuzakov", description="Zhanuzakov", restricted=True))["id"]
    first = (await ok(client, "/people", q=Q, limit=1)).json()
    assert [i["id"] for i in first["items"]] == [hidden]  # the best match, so the admin's cursor follows it

    for_the_admin = await client.get(f"{API}/people", params={"q": Q, "limit": 1, "cursor": first["next"]})
    assert for_the_admin.status_code == 200
    after_hidden = await anonymous.get(f"{API}/people", params={"q": Q, "limit": 1, "cursor": first["next"]})
    assert (await client.delete(f"{API}/people/{hidden}")).status_code == 204
    after_deleted = await client.get(f"{API}/people", params={"q": Q, "limit": 1, "cursor": first["next"]})
    body = assert_problem(after_deleted, 400, "cursor")
    assert "start again" in body["detail"]
    assert after_hidden.status_code == 400
    assert after_hidden.json()["detail"] == body["detail"]


async def test_a_search_cursor_whose_record_no_longer_matches_is_400(client: httpx.AsyncClient) -> None:
    people = await matching_people(client)
    first = (await ok(client, "/people", q=Q, limit=1)).json()
    last = first["items"][0]["id"]
    assert last in people
    await client.patch(f"{API}/people/{last}", json={"name": "Someone else", "description": None})
    response = await client.get(f"{API}/people", params={"q": Q, "limit": 1, "cursor": first["next"]})
    assert_problem(response, 400, "cursor", "start again")


async def test_the_html_case_list_pages_through_search_results_with_no_score_in_its_links(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    made = {(await make_case(client, f"Zhanuzakov case {n:02d}"))["id"] for n in range(PAGE_SIZE + 2)}
    await make_case(client, "Zhanuzakov hidden case", restricted=True)
    await make_case(client, "Another case")  # on the unfiltered list: a "More" link that loses q= shows it
    seen: list[str] = []
    pages = 0
    url, params = "/", {"q": Q}
    for _ in range(3):
        # httpx drops a URL's own query string when given `params` (even `{}`): the link is followed as it is.
        page = await anonymous.get(url, params=params)
        assert page.status_code == 200, page.text
        pages += 1
        seen += re.findall(r'href="/cases/([0-9a-f]{32})"', page.text)
        more = re.search(r'<a href="([^"]+)" rel="next"', page.text)
        if more is None:
            break
        url, params = html.unescape(more.group(1)), None
        query = parse_qs(urlsplit(url).query)
        assert query["q"] == [Q]
        assert numbers_in(query["cursor"][0]) == []
    assert pages == 2
    assert sorted(seen) == sorted(made)  # every match once, across both pages


async def ranked_matches_of_every_kind(client: httpx.AsyncClient) -> dict[str, set[str]]:
    """Per list path: public records matching ``Q``, most with the same rank (equal texts), a few ranked
    above or below them; each list also has a restricted match and a record that does not match."""
    case = (await make_case(client, "Unrelated"))["id"]
    texts = [("Zhanuzakov", None)] * 7 + [
        ("Zhanuzakov", "Zhanuzakov Zhanuzakov"),  # above the tie
        ("Zhanuzakov Zhanuzakov", "Zhanuzakov"),
        ("Marat Bekov", "Spoke of Zhanuzakov"),  # below it
        ("Marat Bekov Akhmetov", "Spoke of Zhanuzakov"),
    ]

    async def make(kind: str, title: str, body: str | None, **fields: Any) -> str:
        if kind == "people":
            return (await make_person(client, title, description=body, **fields))["id"]
        if kind == "cases":
            return (await make_case(client, title, summary=body, **fields))["id"]
        event = {"kind": "other", "date": "2015-01-01", "title": title, "description": body, **fields}
        return (await post(client, f"/cases/{case}/events", event))["id"]

    made: dict[str, set[str]] = {}
    for kind in ("people", "cases", "events"):
        made[f"/{kind}"] = {await make(kind, title, body) for title, body in texts}
        await make(kind, "Zhanuzakov", None, restricted=True)
        await make(kind, "Nobody", "Nothing to find")
    return made


async def test_search_pages_of_every_size_hold_each_match_once_in_rank_order(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    """Ties in rank are broken by id on both sides of a page boundary: the anchor's recomputed rank equals
    the rank the ORDER BY saw, so no row is skipped or repeated, whatever the page size."""
    made = await ranked_matches_of_every_kind(client)
    for path, expected in made.items():
        whole = [item["id"] for item in (await ok(anonymous, path, q=Q, limit=500)).json()["items"]]
        assert sorted(whole) == sorted(expected), path
        for limit in (1, 2, 3):
            visited: list[str] = []
            params: dict[str, Any] = {"q": Q, "limit": limit}
            for _ in range(len(expected) + 1):
                page = (await ok(anonymous, path, **params)).json()
                assert page["items"], f"{path} limit={limit}: an empty page before the end"
                visited += [item["id"] for item in page["items"]]
                if page["next"] is None:
                    break
                params["cursor"] = page["next"]
            assert visited == whole, f"{path} limit={limit}"


# Item 7: forged cursors are 400 problems, never a 500


async def timeline_case(client: httpx.AsyncClient) -> str:
    """A case whose timeline has rows ordered in SQL (events) and in Python (a participant's role)."""
    case = (await make_case(client))["id"]
    for date in ("2015-01-01", "2015-06-01", "2016"):
        await post(client, f"/cases/{case}/events", {"kind": "other", "date": date, "title": f"On {date}"})
    person = (await make_person(client, "Aiman Umarova"))["id"]
    await post(client, f"/cases/{case}/participants", {"person_id": person, "role": "lawyer", "since": "2015-01-01"})
    return case


def timeline_cursor(recorded: Any = "2020-01-01T00:00:00+00:00", rank: Any = 0, phase: Any = 0) -> str:
    return forged([2, "2015-01-01", "2015-01-01", rank, recorded, "x", phase])


async def refused_cursor(http: httpx.AsyncClient, path: str, cursor: str, **params: Any) -> None:
    response = await http.get(f"{API}{path}", params={**params, "cursor": cursor})
    assert_problem(response, 400, "cursor")


async def test_a_well_formed_timeline_cursor_is_a_page_and_one_of_the_old_form_a_400(client: httpx.AsyncClient) -> None:
    # The forgeries below differ from a real position in one value each: this one, in none.
    case = await timeline_case(client)
    response = await client.get(f"{API}/cases/{case}/timeline", params={"limit": 1, "cursor": timeline_cursor()})
    assert response.status_code == 200, response.text
    old_form = forged(["2015-01-01", "2015-01-01", 0, "2020-01-01T00:00:00+00:00", "x", 0])  # before version 2
    await refused_cursor(client, f"/cases/{case}/timeline", old_form, limit=1)


async def test_a_timestamp_that_is_before_year_1_in_utc_is_400(client: httpx.AsyncClient) -> None:
    await make_case(client)
    case = await timeline_case(client)
    for stamp in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        await refused_cursor(client, "/cases", forged({"o": "created_at,id", "v": [stamp, "x"]}))
        await refused_cursor(client, "/audit", forged({"o": "at,seq", "v": [stamp, 1]}), sort="at")
        await refused_cursor(client, f"/cases/{case}/timeline", timeline_cursor(recorded=stamp), limit=1)


async def test_a_timestamp_without_its_offset_is_400(client: httpx.AsyncClient) -> None:
    await make_case(client)
    case = await timeline_case(client)
    naive = "2015-01-01T00:00:00"
    await refused_cursor(client, "/cases", forged({"o": "created_at,id", "v": [naive, "x"]}))
    await refused_cursor(client, "/cases", forged({"o": "-updated_at,id", "v": [naive, "x"]}), sort="-updated_at")
    await refused_cursor(client, f"/cases/{case}/timeline", timeline_cursor(recorded=naive), limit=1)


async def test_an_integer_beyond_the_sort_columns_range_is_400(client: httpx.AsyncClient) -> None:
    person = (await make_person(client))["id"]
    case = (await make_case(client))["id"]
    await post(client, f"/cases/{case}/sentences", {"person_id": person, "term_months": 12})
    for number in (2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 2**64):
        cursor = forged({"o": "term_months,id", "v": [number, "x"]})
        await refused_cursor(client, "/sentences", cursor, sort="term_months")
        await refused_cursor(client, f"/cases/{case}/sentences", cursor, sort="term_months")
    accepted = await client.get(
        f"{API}/sentences",
        params={"sort": "term_months", "cursor": forged({"o": "term_months,id", "v": [2**31 - 1, "x"]})},
    )
    assert accepted.status_code == 200, accepted.text  # the largest term a column holds is still a position


async def test_an_infinite_or_overflowing_number_is_400(client: httpx.AsyncClient) -> None:
    await matching_people(client)
    case = await timeline_case(client)
    for number in (1e308, float("inf"), float("-inf"), float("nan")):
        await refused_cursor(
            client, "/sentences", forged({"o": "term_months,id", "v": [number, "x"]}), sort="term_months"
        )
        await refused_cursor(client, "/audit", forged({"o": "seq", "v": [number]}))
        await refused_cursor(client, "/people", forged({"o": "-rank,id", "v": [number, "x"]}), q=Q)
        await refused_cursor(client, f"/cases/{case}/timeline", timeline_cursor(rank=number), limit=1)
        await refused_cursor(client, f"/cases/{case}/timeline", timeline_cursor(phase=number), limit=1)


async def test_a_400_digit_rank_is_400(client: httpx.AsyncClient) -> None:
    await matching_people(client)
    case = await timeline_case(client)
    huge = 10**400
    await refused_cursor(client, "/people", forged({"o": "-rank,id", "v": [huge, "x"]}), q=Q)
    await refused_cursor(client, f"/cases/{case}/timeline", timeline_cursor(rank=huge), limit=1)


async def test_text_no_database_can_hold_is_400(client: httpx.AsyncClient) -> None:
    await make_person(client)
    case = await timeline_case(client)
    for text in ("a\x00b", "\ud800"):
        await refused_cursor(client, "/people", forged({"o": "name,id", "v": [text, "x"]}), sort="name")
        await refused_cursor(client, "/people", forged({"o": "name,id", "v": ["Kozlov", text]}), sort="name")
        await refused_cursor(
            client,
            f"/cases/{case}/timeline",
            forged([2, "2015-01-01", "2015-01-01", 0, "2020-01-01T00:00:00+00:00", text, 0]),
            limit=1,
        )


async def test_changes_since_beyond_the_last_possible_change_is_422(client: httpx.AsyncClient) -> None:
    await make_person(client)
    for since in (str(2**63), str(2**64), "9" * 20):
        response = await client.get(f"{API}/changes", params={"since": since})
        assert_problem(response, 422, "since")
    last = await client.get(f"{API}/changes", params={"since": str(2**63 - 1)})
    assert last.status_code == 200, last.text
    assert last.json() == {"items": [], "next": str(2**63 - 1)}


async def test_an_audit_cursor_beyond_2_63_is_400(client: httpx.AsyncClient) -> None:
    person = (await make_person(client))["id"]
    for number in (2**63, 2**64, -(2**63) - 1):
        await refused_cursor(client, "/audit", forged({"o": "seq", "v": [number]}))
        await refused_cursor(client, f"/people/{person}/history", forged({"o": "seq", "v": [number]}))
        await refused_cursor(
            client, "/audit", forged({"o": "at,seq", "v": ["2020-01-01T00:00:00+00:00", number]}), sort="at"
        )


# Moved from test_bad_input.py, whose tests share a world of records: this one counts every case.
async def test_a_well_formed_created_at_cursor_is_accepted(client: httpx.AsyncClient) -> None:
    await make_case(client)
    cursor = forged_cursor({"o": "created_at,id", "v": ["2000-01-01T00:00:00+00:00", "x"]})
    response = await client.get(f"{API}/cases", params={"cursor": cursor})
    assert response.status_code == 200, response.text
    assert len(response.json()["items"]) == 1  # everything was created after 2000
