"""`fields=` on one record, as on lists: the same vocabulary and validation per kind, a trimmed body that is
a subset of what the same viewer sees in full (restricted rules unchanged), its own ETag, and `If-Match`
with that tag still guarding writes (it compares the record's version)."""

import re
from typing import Any

import httpx
import pytest

from app.auth.roles import Role
from tests.helpers import (
    API,
    INSIDE,
    KINDS,
    assert_problem,
    collection,
    make_case,
    make_person,
    ok,
    post,
)

# Per kind: a minimal body, a field to ask for beside `id`, and a new value for it (for a PATCH).
RECORDS: dict[str, tuple[dict[str, Any], str, Any]] = {
    "people": ({"name": "Vladimir Kozlov"}, "name", "V. Kozlov"),
    "organizations": ({"name": "Jail outside Almaty", "kind": "prison"}, "name", "Penal colony"),
    "sources": ({"title": "A report"}, "title", "Another report"),
    "cases": ({"title": "Kozlov case"}, "title", "The Kozlov case"),
    "participants": ({"role": "defendant"}, "role", "lawyer"),
    "charges": ({"description": "Inciting violence"}, "description", "Seeking to overthrow"),
    "sentences": ({"term_months": 90}, "term_months", 100),
    "hearings": ({"kind": "parole", "date": "2015-12-08"}, "date", "2015-12-09"),
    "outcomes": ({"kind": "parole_denied", "date": "2015-12-08"}, "date", "2015-12-09"),
    "events": ({"kind": "arrest", "date": "2012-01-23", "title": "Arrested"}, "title", "Detained"),
}
PERSONAL = ("participants", "sentences")  # kinds that need a person_id


async def make_record(client: httpx.AsyncClient, kind: str) -> dict[str, Any]:
    case = (await make_case(client, "The case"))["id"]
    person = {"person_id": (await make_person(client, "The defendant"))["id"]}
    return await post(client, collection(kind, case), {**RECORDS[kind][0], **(person if kind in PERSONAL else {})})


@pytest.mark.parametrize("kind", KINDS)
async def test_fields_trims_one_record_of_every_kind_with_its_own_etag(client: httpx.AsyncClient, kind: str) -> None:
    record = await make_record(client, kind)
    path = f"/{kind}/{record['id']}"
    _, field, new_value = RECORDS[kind]
    full = await ok(client, path)
    trimmed = await ok(client, path, fields=f"id,{field}")

    assert list(trimmed.json()) == ["id", field]
    assert trimmed.json() == {"id": record["id"], field: full.json()[field]}
    # Another body, so another tag; the same version in it, so If-Match takes it.
    assert trimmed.headers["etag"] != full.headers["etag"]
    assert trimmed.headers["etag"].split("-")[0] == full.headers["etag"].split("-")[0] == '"1'
    again = await client.get(
        f"{API}{path}", params={"fields": f"id,{field}"}, headers={"If-None-Match": trimmed.headers["etag"]}
    )
    assert again.status_code == 304

    changed = await client.patch(f"{API}{path}", json={field: new_value}, headers={"If-Match": trimmed.headers["etag"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()[field] == new_value
    stale = await client.patch(
        f"{API}{path}", json={field: RECORDS[kind][2]}, headers={"If-Match": trimmed.headers["etag"]}
    )
    assert_problem(stale, 412, "version 2")


@pytest.mark.parametrize("kind", KINDS)
async def test_an_unknown_field_on_a_record_is_refused_naming_it(client: httpx.AsyncClient, kind: str) -> None:
    record = await make_record(client, kind)
    for fields in ("nope", "id,nope", ",", f"id,{RECORDS[kind][1]},bogus"):
        response = await client.get(f"{API}/{kind}/{record['id']}", params={"fields": fields})
        body = assert_problem(response, 422, "fields")
        for name in fields.split(","):
            if name.strip() and name not in ("id", RECORDS[kind][1]):
                assert repr(name) in body["detail"]


@pytest.mark.parametrize("kind", ["people", "organizations", "sources", "cases"])
async def test_fields_on_a_restricted_record_is_a_404_for_the_public_like_without(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, client_as: Any, kind: str
) -> None:
    record = await post(client, f"/{kind}", {**RECORDS[kind][0], "restricted": True})
    url = f"{API}/{kind}/{record['id']}"
    field = RECORDS[kind][1]
    without = await anonymous.get(url)
    trimmed = await anonymous.get(url, params={"fields": f"id,{field}"})
    unknown = await anonymous.get(url, params={"fields": "id,nope"})
    assert_problem(without, 404)
    assert_problem(trimmed, 404)
    assert trimmed.json()["detail"] == without.json()["detail"]
    # Field names are validated before the record is looked up: no way to tell a hidden record from none.
    assert (
        unknown.status_code
        == (await anonymous.get(f"{API}/{kind}/{'0' * 32}", params={"fields": "id,nope"})).status_code
    )
    reader = await client_as(Role.reader)
    assert (await ok(reader, f"/{kind}/{record['id']}", fields=f"id,{field}")).json() == {
        "id": record["id"],
        field: record[field],
    }


async def test_a_trimmed_record_shows_no_more_than_the_full_one(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    case = (await make_case(client, "The case"))["id"]
    hidden = (await make_person(client, "Hidden Witness", restricted=True))["id"]
    hearing = await post(client, f"/cases/{case}/hearings", {**RECORDS["hearings"][0], "judge_id": hidden})
    path = f"/hearings/{hearing['id']}"
    full = (await ok(anonymous, path)).json()
    trimmed = await ok(anonymous, path, fields="judge_id,id")
    assert hearing["judge_id"] == hidden and full["judge_id"] is None
    assert trimmed.json() == {"judge_id": None, "id": hearing["id"]}
    assert hidden not in trimmed.text


async def test_a_persons_participations_are_a_field_like_the_others(client: httpx.AsyncClient) -> None:
    case = (await make_case(client, "The case"))["id"]
    person = (await make_person(client))["id"]
    await post(client, f"/cases/{case}/participants", {"person_id": person, "role": "defendant"})
    full = (await ok(client, f"/people/{person}")).json()
    assert (await ok(client, f"/people/{person}", fields="id,participations")).json() == {
        "id": person,
        "participations": full["participations"],
    }
    assert list((await ok(client, f"/people/{person}", fields="name")).json()) == ["name"]


async def test_fields_trims_the_case_and_include_still_embeds(client: httpx.AsyncClient) -> None:
    """`fields` names the case's own fields; what `include` embeds comes as asked, whatever `fields` says."""
    case = (await make_case(client, "The case"))["id"]
    hearing = await post(client, f"/cases/{case}/hearings", RECORDS["hearings"][0])
    full = (await ok(client, f"/cases/{case}", include="hearings")).json()
    both = (await ok(client, f"/cases/{case}", include="hearings", fields="id,title")).json()
    assert both == {
        "id": case,
        "title": "The case",
        "hearings": full["hearings"],
        "people": full["people"],
        "organizations": full["organizations"],
    }
    assert [h["id"] for h in both["hearings"]] == [hearing["id"]]
    # The embedded lists are include's words, not fields': naming one in fields is an unknown field.
    assert_problem(await client.get(f"{API}/cases/{case}", params={"fields": "id,hearings"}), 422, "'hearings'")


async def test_the_record_fields_parameter_is_documented_as_the_server_takes_it(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    record = await make_record(client, "people")
    for kind in INSIDE + ("people", "cases"):
        path = f"{API}/{kind}/{{{'person' if kind == 'people' else kind.removesuffix('s')}_id}}"
        operation = document["paths"][path]["get"]
        parameter = next(p for p in operation["parameters"] if p["name"] == "fields")
        listed = document["paths"][f"{API}/{kind}"]["get"]
        list_parameter = next(p for p in listed["parameters"] if p["name"] == "fields")
        if kind not in ("people",):  # a person's record also has its participations
            assert parameter["schema"]["pattern"] == list_parameter["schema"]["pattern"], kind
        ok_schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        full, sparse = ok_schema["anyOf"]
        sparse_schema = document["components"]["schemas"][sparse["$ref"].rsplit("/", 1)[-1]]
        assert "required" not in sparse_schema, kind
        assert set(sparse_schema["properties"]) == set(
            document["components"]["schemas"][full["$ref"].rsplit("/", 1)[-1]]["properties"]
        )
    pattern = next(
        p for p in document["paths"][f"{API}/people/{{person_id}}"]["get"]["parameters"] if p["name"] == "fields"
    )["schema"]["pattern"]
    for value in ("id", "id,name", "id, name", "participations", "name,", "nope", "id,,name", " id", "ID"):
        response = await client.get(f"{API}/people/{record['id']}", params={"fields": value})
        assert (response.status_code == 200) == bool(re.fullmatch(pattern, value)), (value, response.text)
