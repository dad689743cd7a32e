"""A list page costs a constant number of SQL statements, whatever its size: no statement per item
(an N+1 would show as a count that grows with `limit`), for every kind, for the public and an admin."""

from typing import Any

import httpx
import pytest

from tests.helpers import API, post
from tests.test_resources import KINDS, Kind, make_world

PAGE = 12
# The most statements a list page may run: the token lookup, the page, and one per kind of linked
# record the items carry (sources, people, organizations...), each batched for the whole page.
BOUND = 5


@pytest.mark.parametrize("kind", KINDS, ids=str)
async def test_a_list_page_costs_the_same_statements_for_one_item_or_many(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, statements: Any, kind: Kind
) -> None:
    world = await make_world(client)
    for _ in range(PAGE):
        await post(client, kind.collection(world), kind.full(world))
    for http in (client, anonymous):
        counts = {}
        for limit in (1, PAGE):
            for path in {kind.collection(world), f"/{kind.name}"}:
                with statements.count() as executed:
                    response = await http.get(f"{API}{path}", params={"limit": limit})
                assert response.status_code == 200, response.text
                assert len(response.json()["items"]) == limit
                counts[limit, path] = len(executed)
        for path in {path for _, path in counts}:
            assert counts[1, path] == counts[PAGE, path], counts
        assert max(counts.values()) <= BOUND, counts
