"""GET /api/v1/cases/{id}/timeline.svg on SQLite and PostgreSQL: well-formed SVG with a title, the
timeline's items placed in date order on one scale, ranges drawn as wide as they are, sentences as
bars from start to end, decisions labelled, and the same visibility as every other read."""

import datetime as dt
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app import demo
from app.auth.roles import Role
from app.demo import load_demo
from app.sessions import make_sessionmaker
from tests.helpers import API, assert_problem, make_case, make_person, post

NS = {"svg": "http://www.w3.org/2000/svg"}
SVG_URL = f"{API}/cases/{demo.CASE_ID}/timeline.svg"


@pytest.fixture
async def loaded(connection: AsyncConnection) -> None:
    async with make_sessionmaker(connection, join_transaction_mode="create_savepoint")() as session:
        await load_demo(session)
        await session.commit()


async def get_svg(http: httpx.AsyncClient, url: str = SVG_URL) -> ET.Element:
    response = await http.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert "default-src 'none'" in response.headers["content-security-policy"]
    return ET.fromstring(response.content)  # raises on anything that is not well-formed XML


def ordinal(day: str) -> int:
    return dt.date.fromisoformat(day).toordinal()


def items(svg: ET.Element) -> list[dict[str, Any]]:
    """Each timeline row: its dates, the left edge of its mark (the start of its earliest day) and width."""
    rows = []
    for group in svg.iterfind(".//svg:g", NS):
        if "item" not in group.get("class", "").split():
            continue
        span = group.find("svg:rect[@class='span']", NS)
        dot = group.find("svg:circle", NS)
        if span is not None:
            left, width = float(span.get("x", "")), float(span.get("width", ""))
        else:
            assert dot is not None
            width = 0.0
            left = float(dot.get("cx", ""))  # centred on the day
        texts = ["".join(t.itertext()) for t in group.iterfind("svg:text", NS)]
        rows.append(
            {
                "id": group.get("data-id"),
                "class": group.get("class"),
                "earliest": group.get("data-earliest"),
                "latest": group.get("data-latest"),
                "left": left,
                "width": width,
                "text": " | ".join(texts),
                "title": group.findtext("svg:title", "", NS),
            }
        )
    return rows


def scale(rows: list[dict[str, Any]]) -> tuple[float, float]:
    """x = origin + per_day * ordinal, from the two ranges furthest apart."""
    ranges = sorted((r for r in rows if r["width"]), key=lambda r: r["earliest"])
    first, last = ranges[0], ranges[-1]
    per_day = (last["left"] - first["left"]) / (ordinal(last["earliest"]) - ordinal(first["earliest"]))
    return first["left"] - per_day * ordinal(first["earliest"]), per_day


async def test_svg_is_well_formed_and_titled(anonymous: httpx.AsyncClient, loaded: None) -> None:
    svg = await get_svg(anonymous)
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "tl-title tl-desc"
    assert svg.findtext("svg:title", "", NS) == "Timeline of the case: Vladimir Kozlov: the Zhanaozen unrest case"
    assert "date order" in svg.findtext("svg:desc", "", NS)
    width, height = float(svg.get("width", "")), float(svg.get("height", ""))
    assert svg.get("viewBox") == f"0 0 {width:g} {height:g}"
    # Text labels, not just shapes: every row says what and when in words.
    assert all(row["text"] for row in items(svg))
    years = [t.text for t in svg.iterfind(".//svg:g[@class='axis']/svg:text", NS)]
    assert "2012" in years and "2015" in years


async def test_items_are_placed_in_date_order_on_one_scale(anonymous: httpx.AsyncClient, loaded: None) -> None:
    timeline = (await anonymous.get(f"{API}/cases/{demo.CASE_ID}/timeline")).json()["items"]
    rows = items(await get_svg(anonymous))
    assert [r["id"] for r in rows] == [i["id"] for i in timeline]  # one row per item, in the API's order
    assert [(r["earliest"], r["latest"]) for r in rows] == [(i["date_earliest"], i["date_latest"]) for i in timeline]
    origin, per_day = scale(rows)
    assert per_day > 0  # later is further right
    for row in rows:
        if row["width"]:
            # A range starts at its earliest day and is as wide as the days it spans, ends included.
            days = ordinal(row["latest"]) - ordinal(row["earliest"]) + 1
            assert row["left"] == pytest.approx(origin + per_day * ordinal(row["earliest"]), abs=0.05), row
            assert row["width"] == pytest.approx(per_day * days, abs=0.05), row
        else:
            # A single day: the dot sits in the middle of it.
            assert row["left"] == pytest.approx(origin + per_day * (ordinal(row["earliest"]) + 0.5), abs=0.05), row
    by_date = sorted(rows, key=lambda r: r["earliest"])
    assert [r["left"] for r in by_date] == sorted(r["left"] for r in by_date)
    uncertain = [r for r in rows if r["earliest"] != r["latest"]]
    assert len(uncertain) >= 10 and all(r["width"] > 0 for r in uncertain)


async def test_decisions_are_labelled(anonymous: httpx.AsyncClient, loaded: None) -> None:
    rows = items(await get_svg(anonymous))
    denial = next(r for r in rows if "outcome-adverse" in r["class"] and "PAROLE DENIED" in r["text"])
    assert "December 8, 2015 (uncertain)" in denial["text"]
    assert denial["title"].startswith("Parole denied (December 8, 2015 (uncertain)): The judge rejected")
    hearing = next(r for r in rows if r["class"] == "item hearing")
    assert "Closed to the public: Parole hearing at Jail outside Almaty" in hearing["text"]


async def test_sentence_is_a_bar_from_start_to_end(anonymous: httpx.AsyncClient, loaded: None) -> None:
    svg = await get_svg(anonymous)
    origin, per_day = scale(items(svg))
    bar = next(g for g in svg.iterfind(".//svg:g", NS) if g.get("class") == "bar sentence")
    rects = [r for r in bar.iterfind("svg:rect", NS) if r.get("class") in ("certain", "uncertain")]
    left = min(float(r.get("x", "")) for r in rects)
    right = max(float(r.get("x", "")) + float(r.get("width", "")) for r in rects)
    # Started between 2011 and March 7, 2012 (hatched), full term ended between July 1, 2018 and
    # September 7, 2019.
    assert left == pytest.approx(origin + per_day * ordinal("2011-01-01"), abs=0.05)
    assert right == pytest.approx(origin + per_day * ordinal("2019-09-08"), abs=0.05)
    assert [r.get("class") for r in rects] == ["certain", "uncertain", "uncertain"]
    parole = bar.find("svg:rect[@class='parole']", NS)
    assert parole is not None
    assert float(parole.get("x", "")) == pytest.approx(origin + per_day * ordinal("2014-10-01"), abs=0.05)
    texts = " | ".join("".join(t.itertext()) for t in bar.iterfind("svg:text", NS))
    assert "Vladimir Kozlov: 7 years 6 months imprisonment" in texts and "parole may be sought" in texts


async def test_detention_bar_from_arrest_to_release(client: httpx.AsyncClient) -> None:
    person = await make_person(client, "Ales Example")
    case = await make_case(client, "Detention case")
    await post(
        client,
        f"/cases/{case['id']}/events",
        {"kind": "arrest", "date": "2020-08-10", "title": "Arrested", "person_ids": [person["id"]]},
    )
    await post(
        client, f"/cases/{case['id']}/outcomes", {"kind": "released", "date": "2021-02", "person_id": person["id"]}
    )
    svg = await get_svg(client, f"{API}/cases/{case['id']}/timeline.svg")
    rows = items(svg)
    arrest = next(r for r in rows if r["class"] == "item event")
    release = next(r for r in rows if "outcome-favourable" in r["class"])
    bar = next(g for g in svg.iterfind(".//svg:g", NS) if g.get("class") == "bar detention")
    certain = bar.find("svg:rect[@class='certain']", NS)
    assert certain is not None
    # From the end of the arrest day to the start of the release month (the month itself hatched).
    assert float(certain.get("x", "")) > arrest["left"]
    assert float(certain.get("x", "")) + float(certain.get("width", "")) == pytest.approx(release["left"], abs=0.05)
    assert "Ales Example: detention" in "".join(bar.itertext())


async def test_user_text_is_escaped(client: httpx.AsyncClient) -> None:
    title = '<script>alert("x")</script> & </svg>'
    case = await make_case(client, title)
    await post(client, f"/cases/{case['id']}/events", {"kind": "other", "date": "2020", "title": "A <b> & ]]>"})
    svg = await get_svg(client, f"{API}/cases/{case['id']}/timeline.svg")
    assert svg.findtext("svg:title", "", NS) == f"Timeline of the case: {title}"
    assert not list(svg.iter("{http://www.w3.org/2000/svg}script")) and not list(svg.iter("script"))
    assert "A <b> & ]]>" in items(svg)[0]["text"]


async def test_empty_case_still_draws(client: httpx.AsyncClient) -> None:
    case = await make_case(client, "Nothing dated yet")
    svg = await get_svg(client, f"{API}/cases/{case['id']}/timeline.svg")
    assert svg.findtext("svg:title", "", NS) == "Timeline of the case: Nothing dated yet"
    assert items(svg) == []


async def test_dates_at_the_ends_of_the_calendar(client: httpx.AsyncClient) -> None:
    case = await make_case(client, "Very old and very late")
    for date in ("0001", "9999-12-31", "9998-24"):
        await post(client, f"/cases/{case['id']}/events", {"kind": "other", "date": date, "title": f"At {date}"})
    await post(
        client,
        f"/cases/{case['id']}/sentences",
        {"person_id": (await make_person(client))["id"], "term_months": 1200, "start_date": "9990"},
    )
    rows = items(await get_svg(client, f"{API}/cases/{case['id']}/timeline.svg"))
    assert [r["earliest"] for r in rows] == ["0001-01-01", "9990-01-01", "9998-12-01", "9999-12-31"]
    assert rows[0]["left"] < rows[1]["left"] < rows[2]["left"] < rows[3]["left"]
    page = await client.get(f"/cases/{case['id']}")
    assert page.status_code == 200 and "winter 9998–99" in page.text


async def test_restricted_items_are_drawn_only_for_readers(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, client_as: Any, loaded: None
) -> None:
    await post(
        client,
        f"/cases/{demo.CASE_ID}/events",
        {"kind": "transfer", "date": "2016-03", "title": "Secret transfer", "restricted": True},
    )
    public = await anonymous.get(SVG_URL)
    assert "Secret transfer" not in public.text
    reader = await client_as(Role.reader)
    assert "Secret transfer" in (await reader.get(SVG_URL)).text
    hidden = await make_case(client, "Sealed case", restricted=True)
    assert_problem(await anonymous.get(f"{API}/cases/{hidden['id']}/timeline.svg"), 404)
    assert (await reader.get(f"{API}/cases/{hidden['id']}/timeline.svg")).status_code == 200


async def test_missing_case_and_unknown_parameters_are_problems(anonymous: httpx.AsyncClient, loaded: None) -> None:
    assert_problem(await anonymous.get(f"{API}/cases/0123456789abcdef0123456789abcdef/timeline.svg"), 404, "case")
    assert_problem(await anonymous.get(SVG_URL, params={"colour": "red"}), 400, "colour")


async def test_svg_is_documented(anonymous: httpx.AsyncClient) -> None:
    operation = (await anonymous.get("/openapi.json")).json()["paths"][f"{API}/cases/{{case_id}}/timeline.svg"]["get"]
    assert operation["operationId"] == "getCaseTimelineSvg"
    assert "image/svg+xml" in operation["responses"]["200"]["content"]
    assert "404" in operation["responses"]
