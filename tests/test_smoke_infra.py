import asyncio

import uvloop

from tests.helpers import API, make_case, make_person


async def test_people_round_trip(client, database):
    person = await make_person(client, aliases=["Владимир Козлов"], country="KZ")
    assert person["country"] == "KZ"
    response = await client.get(f"{API}/people/{person['id']}")
    assert response.status_code == 200
    assert response.json()["aliases"] == ["Владимир Козлов"]


async def test_isolation_between_tests(client):
    response = await client.get(f"{API}/people")
    assert response.json()["items"] == []
    await make_case(client)


async def test_the_suite_runs_on_uvloop_as_the_service_does():
    # tests/conftest.py sets uvloop's policy: the loops of async tests and those started in threads (Schemathesis's
    # ASGI client) are uvloop's, as under `casetrack serve`.
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
    loop = await asyncio.to_thread(asyncio.new_event_loop)
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()
