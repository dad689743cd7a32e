"""conftest's ``shared_world``: a module's tests share records built once, yet none sees another's changes.

Every test here first checks that the world is exactly as built, then changes it in one way (a PATCH, a
DELETE, a refused DELETE that makes the app roll back to its savepoint after an IntegrityError, new
tokens and records) and checks that the change took. Whatever order the tests run in, each one after
the first proves that the changes of those before it were rolled back. Every test runs on SQLite and
on PostgreSQL.
"""

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.auth.roles import Role
from tests.conftest import shared_world
from tests.helpers import API, assert_problem, make_case, make_person, make_source, ok, post


@dataclass
class World:
    person: str
    case: str
    participant: str
    source: str


async def build_world(client: httpx.AsyncClient) -> World:
    person = (await make_person(client, "Vladimir Kozlov"))["id"]
    source = (await make_source(client, title="Report A"))["id"]
    case = (await make_case(client, "Kozlov case", source_ids=[source]))["id"]
    participant = (await post(client, f"/cases/{case}/participants", {"person_id": person, "role": "defendant"}))["id"]
    return World(person, case, participant, source)


world = shared_world(build_world)


async def count(client: httpx.AsyncClient, path: str) -> int:
    return int((await ok(client, path, count="true")).json()["count"])


async def assert_pristine(client: httpx.AsyncClient, world: World) -> None:
    assert (await ok(client, f"/people/{world.person}")).json()["name"] == "Vladimir Kozlov"
    case = (await ok(client, f"/cases/{world.case}")).json()
    assert (case["title"], case["source_ids"]) == ("Kozlov case", [world.source])
    assert (await ok(client, f"/participants/{world.participant}")).json()["role"] == "defendant"
    for path in ("/people", "/cases", "/participants", "/sources"):
        assert await count(client, path) == 1, path
    assert await count(client, "/events") == 0


async def patch(client: httpx.AsyncClient, world: World, anonymous: httpx.AsyncClient, client_as: Any) -> None:
    response = await client.patch(f"{API}/people/{world.person}", json={"name": "Renamed"})
    assert response.status_code == 200, response.text
    response = await client.patch(f"{API}/cases/{world.case}", json={"title": "Retitled", "source_ids": []})
    assert response.status_code == 200, response.text
    assert (await ok(client, f"/people/{world.person}")).json()["name"] == "Renamed"


async def delete(client: httpx.AsyncClient, world: World, anonymous: httpx.AsyncClient, client_as: Any) -> None:
    assert (await client.delete(f"{API}/cases/{world.case}")).status_code == 204
    assert_problem(await client.get(f"{API}/participants/{world.participant}"), 404)
    assert (await client.delete(f"{API}/people/{world.person}")).status_code == 204
    assert await count(client, "/people") == 0


async def refuse(client: httpx.AsyncClient, world: World, anonymous: httpx.AsyncClient, client_as: Any) -> None:
    # The person takes part in the case: the DELETE fails in the database, and the app rolls back to its
    # savepoint; the test's transaction goes on, and so does the world's.
    assert_problem(await client.delete(f"{API}/people/{world.person}"), 409)
    assert_problem(await client.delete(f"{API}/sources/{world.source}"), 409)
    response = await client.patch(f"{API}/people/{world.person}", json={"name": "Renamed after a 409"})
    assert response.status_code == 200, response.text
    await post(client, f"/cases/{world.case}/events", {"kind": "arrest", "date": "2012-01-23", "title": "Arrest"})
    assert await count(client, "/events") == 1


async def tokens(client: httpx.AsyncClient, world: World, anonymous: httpx.AsyncClient, client_as: Any) -> None:
    editor = await client_as(Role.editor)
    await make_person(editor, "Made by an editor")
    reader = await client_as(Role.reader)
    assert await count(reader, "/people") == 2
    assert (await anonymous.get(f"{API}/people/{world.person}")).status_code == 200


CHANGES = [patch, delete, refuse, tokens]


# Each change twice, so every change is followed by a test that checks the world (on -n 0, in file order).
@pytest.mark.parametrize(
    "change", CHANGES + CHANGES, ids=[f"{c.__name__}-{round_}" for round_ in (1, 2) for c in CHANGES]
)
async def test_each_test_sees_the_world_as_built_whatever_the_tests_before_it_changed(
    client: httpx.AsyncClient, world: World, anonymous: httpx.AsyncClient, client_as: Any, change: Any
) -> None:
    await assert_pristine(client, world)
    await change(client, world, anonymous, client_as)


async def test_a_test_that_does_not_ask_for_the_world_sees_it_too(client: httpx.AsyncClient) -> None:
    assert await count(client, "/people") == 1
    await make_person(client, "Another")
    assert await count(client, "/people") == 2
