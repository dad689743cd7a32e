"""Paging through a timeline (limit + cursor) visits exactly the items of the whole timeline, in order,
with ties on the same dates across kinds, in both directions, in a fixed number of statements."""

import pytest

from tests.helpers import API, make_case, make_person, post

DATES = ["2015", "2015-01-01", "2015-22", "2015-06-01", "2015-06-01", "2015-12-08?", "2016", "2015-21/2015-12"]


async def _busy_case(client) -> str:
    case = (await make_case(client))["id"]
    person = (await make_person(client))["id"]
    for i, date in enumerate(DATES):
        await post(client, f"/cases/{case}/events", {"kind": "other", "date": date, "title": f"event {i}"})
        await post(client, f"/cases/{case}/hearings", {"kind": "trial", "date": date})
        await post(client, f"/cases/{case}/outcomes", {"kind": "other", "date": date})
    await post(
        client,
        f"/cases/{case}/participants",
        {"person_id": person, "role": "lawyer", "since": "2015-06-01", "until": "2015-06-01"},
    )
    await post(client, f"/cases/{case}/charges", {"description": "c", "date": "2015-06-01"})
    await post(client, f"/cases/{case}/sentences", {"person_id": person, "start_date": "2015", "term_months": 12})
    return case


def _keys(items: list[dict]) -> list[tuple[str, str, str | None]]:
    return [(i["type"], i["id"], i["phase"]) for i in items]


@pytest.mark.parametrize("order", ["asc", "desc"])
@pytest.mark.parametrize("limit", [1, 2, 5, 7])
async def test_pages_visit_the_whole_timeline_once_in_order(client, order: str, limit: int) -> None:
    case = await _busy_case(client)
    whole = (await client.get(f"{API}/cases/{case}/timeline", params={"order": order})).json()
    assert whole["next"] is None
    seen: list[dict] = []
    cursor = None
    pages = 0
    while True:
        params = {"order": order, "limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await client.get(f"{API}/cases/{case}/timeline", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        seen += page["items"]
        cursor = page["next"]
        pages += 1
        if cursor is None:
            break
        assert 'rel="next"' in response.headers["link"]
    assert _keys(seen) == _keys(whole["items"])
    assert len(seen) == 3 * len(DATES) + 2 + 1 + 1
    assert pages == -(-len(seen) // limit)  # no empty last page


async def test_a_page_costs_the_same_statements_deep_or_shallow(client, statements) -> None:
    case = await _busy_case(client)
    first = (await client.get(f"{API}/cases/{case}/timeline", params={"limit": 2})).json()
    with statements.count() as shallow:
        await client.get(f"{API}/cases/{case}/timeline", params={"limit": 2})
    cursor = first["next"]
    for _ in range(5):
        cursor = (await client.get(f"{API}/cases/{case}/timeline", params={"limit": 2, "cursor": cursor})).json()[
            "next"
        ]
    with statements.count() as deep:
        response = await client.get(f"{API}/cases/{case}/timeline", params={"limit": 2, "cursor": cursor})
    assert response.status_code == 200
    assert len(deep) == len(shallow)


async def test_a_forged_cursor_is_a_400(client) -> None:
    case = await _busy_case(client)
    response = await client.get(f"{API}/cases/{case}/timeline", params={"limit": 2, "cursor": "bm9wZQ"})
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]
