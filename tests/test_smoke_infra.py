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
