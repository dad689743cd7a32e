"""Text as the API takes it, on SQLite and PostgreSQL: control characters other than tab, newline and
carriage return are refused in every text field; text is stored in Unicode NFC whatever form it is sent
in; and search finds words whatever their case, accents or normal form, the same way on both databases."""

import unicodedata
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.helpers import API, assert_problem, make_case, make_person, make_source, post

CONTROLS = ["\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f"]

# One field of each kind of text: a required short text, an optional one, a list of short texts, a long
# text, a URL; on standalone records and on records inside a case.
TEXT_FIELDS = [
    ("people", "name"),
    ("people", "aliases"),
    ("people", "description"),
    ("sources", "url"),
    ("sources", "publisher"),
    ("cases", "summary"),
    ("events", "title"),
    ("events", "quote"),
    ("hearings", "location"),
    ("charges", "statute"),
]
INSIDE = {"events", "hearings", "charges"}
VALID = {
    "people": {"name": "Someone"},
    "sources": {"title": "A report"},
    "cases": {"title": "A case"},
    "events": {"kind": "visit", "date": "2014", "title": "Visit"},
    "hearings": {"kind": "appeal", "date": "2013"},
    "charges": {"description": "Libel"},
}


async def rows(connection: AsyncConnection, table: str) -> list[Any]:
    return sorted(map(repr, (await connection.execute(text(f'select * from "{table}"'))).all()))


@pytest.mark.parametrize(("kind", "field"), TEXT_FIELDS)
async def test_control_characters_are_refused_in_every_text_field(
    client: httpx.AsyncClient, connection: AsyncConnection, kind: str, field: str
) -> None:
    case = (await make_case(client))["id"]
    path = f"/cases/{case}/{kind}" if kind in INSIDE else f"/{kind}"
    record = await post(client, path, VALID[kind])
    before = await rows(connection, kind)
    for control in CONTROLS:
        value = f"https://example.org/a{control}b" if field == "url" else f"Ales{control} Bialiatski"
        body = {field: [value] if field == "aliases" else value}
        for method, url, json in (("POST", path, {**VALID[kind], **body}), ("PATCH", f"/{kind}/{record['id']}", body)):
            response = await client.request(method, f"{API}{url}", json=json)
            problem = assert_problem(response, 422, field, "control character")
            assert [error["field"].split(".")[0] for error in problem["errors"]] == [field], problem
            assert f"U+{ord(control):04X}" in response.text, response.text
    assert await rows(connection, kind) == before, "the database changed"


async def test_tab_newline_and_carriage_return_are_kept(client: httpx.AsyncClient) -> None:
    person = await make_person(client, "Ales\tBialiatski", description="Line one\r\nline two\n\tindented")
    assert person["name"] == "Ales\tBialiatski"
    assert person["description"] == "Line one\r\nline two\n\tindented"


NFC = "Josébelle Ñúñez"
NFD = unicodedata.normalize("NFD", NFC)


async def test_text_is_stored_in_nfc_whatever_form_it_is_sent_in(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    assert NFD != NFC
    person = await make_person(client, NFD, aliases=[NFD], description=f"Known as {NFD}")
    source = await make_source(client, title=NFD, url=f"https://example.org/{NFD}")
    assert (person["name"], person["aliases"], person["description"]) == (NFC, [NFC], f"Known as {NFC}")
    assert (source["title"], source["url"]) == (NFC, f"https://example.org/{NFC}")
    stored = (await connection.execute(text("select name from people where id = :id"), {"id": person["id"]})).scalar()
    assert stored == NFC

    patched = await client.patch(f"{API}/people/{person['id']}", json={"name": f"{NFD} Jr"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == f"{NFC} Jr"


async def test_an_exact_text_filter_matches_whatever_form_it_is_sent_in(client: httpx.AsyncClient) -> None:
    case = await make_case(client)
    charge = await post(client, f"/cases/{case['id']}/charges", {"description": "Libel", "statute": f"Art. {NFD}"})
    for statute in (f"Art. {NFC}", f"Art. {NFD}"):
        found = await client.get(f"{API}/cases/{case['id']}/charges", params={"statute": statute})
        assert found.status_code == 200, found.text
        assert [c["id"] for c in found.json()["items"]] == [charge["id"]], statute


STORED = {"nfc": "Josébelle Ñúñez", "nfd": unicodedata.normalize("NFD", "Josébelle Ñúñez")}
QUERIES = ["josebelle", "Josébelle", unicodedata.normalize("NFD", "Josébelle"), "JOSÉBELLE", "JOSEBELLE", "nunez"]


@pytest.mark.parametrize("stored", list(STORED))
async def test_search_ignores_case_accents_and_normal_form(client: httpx.AsyncClient, stored: str) -> None:
    person = await make_person(client, STORED[stored])
    await make_person(client, "Joseph Belle")  # a near miss
    for q in QUERIES:
        response = await client.get(f"{API}/people", params={"q": q})
        assert response.status_code == 200, response.text
        assert [p["id"] for p in response.json()["items"]] == [person["id"]], q


async def test_every_searchable_kind_is_searched_the_same_way(client: httpx.AsyncClient) -> None:
    case = await make_case(client, "Procès de Straße", summary="Déclaration à la Cour")
    event = await post(client, f"/cases/{case['id']}/events", {"kind": "other", "date": "2015", "title": "Čapek"})
    organization = await post(client, "/organizations", {"name": "Société Générale", "kind": "ngo"})
    for path, q, expected in (
        ("/cases", "proces strasse", case["id"]),
        ("/cases", "DECLARATION cour", case["id"]),
        (f"/cases/{case['id']}/events", "capek", event["id"]),
        ("/organizations", "societe generale", organization["id"]),
    ):
        response = await client.get(f"{API}{path}", params={"q": q})
        assert response.status_code == 200, response.text
        assert [r["id"] for r in response.json()["items"]] == [expected], (path, q)
