"""Export formats: the timeline as CSV and TimelineJS JSON, hearings as iCalendar feeds (app/exports)."""

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

import httpx
from icalendar import Calendar

from app.exports.timelinejs import TimelineJS
from tests.helpers import (
    API,
    assert_problem,
    make_case,
    make_organization,
    make_person,
    make_source,
    post,
    spreadsheet_text,
)

CSV_COLUMNS = [
    "type",
    "id",
    "kind",
    "phase",
    "date",
    "date_earliest",
    "date_latest",
    "title",
    "text",
    "person_ids",
    "organization_ids",
    "source_ids",
]
LIST_COLUMNS = {"person_ids", "organization_ids", "source_ids"}
MISSING_CASE = "0" * 32

# What TimelineJS must get for each EDTF date of the story: (start_date, end_date or None).
TIMELINEJS_DATES: dict[str, tuple[dict[str, int], dict[str, int] | None]] = {
    "2011": ({"year": 2011}, {"year": 2011}),
    "201X": ({"year": 2010}, {"year": 2019}),
    "2011-12": ({"year": 2011, "month": 12}, {"year": 2011, "month": 12}),
    "2012/2015-12": ({"year": 2012}, {"year": 2015, "month": 12}),
    "2012-01-23": ({"year": 2012, "month": 1, "day": 23}, None),
    "2014-03": ({"year": 2014, "month": 3}, {"year": 2014, "month": 3}),
    "2015-22": ({"year": 2015, "month": 6}, {"year": 2015, "month": 8}),
    "2015-12-08?": ({"year": 2015, "month": 12, "day": 8}, None),
    "2016-03": ({"year": 2016, "month": 3}, {"year": 2016, "month": 3}),
}


@dataclass
class Story:
    case: dict[str, Any]
    other_case: dict[str, Any]
    parole: dict[str, Any]  # closed, 2015-12-08?
    appeal: dict[str, Any]  # public, 2016-03
    other_appeal: dict[str, Any]  # the other case's, 2013


async def build_story(client: httpx.AsyncClient) -> Story:
    article, posts = await make_source(client, title="The article"), await make_source(client, title="Posts")
    kozlov = await make_person(client, "Vladimir Kozlov")
    lawyer = await make_person(client, "Aiman Umarova")
    judge = await make_person(client, "Unnamed judge")
    prison = await make_organization(client)
    case = await make_case(client, "Kozlov case")
    cid = case["id"]

    async def event(kind: str, date: str, title: str, **extra: Any) -> None:
        await post(client, f"/cases/{cid}/events", {"kind": kind, "date": date, "title": title, **extra})

    # Commas, quotes, line breaks, markup and Cyrillic: what a CSV writer or an HTML page can get wrong.
    await event(
        "incident",
        "2011",
        'Zhanaozen: "15 killed", <b>strike</b> crushed',
        description="Oil workers' strike.\nPolice fired, Жанаозен",
        person_ids=[kozlov["id"], lawyer["id"]],
        organization_ids=[prison["id"]],
        source_ids=[article["id"], posts["id"]],
    )
    await event("other", "201X", "Unrest in the region, some time in the 2010s")
    await event("detention_change", "2015-22", "Stricter regime", person_ids=[kozlov["id"]])
    await event("reaction", "2012/2015-12", "European Parliament resolution")
    await post(
        client,
        f"/cases/{cid}/charges",
        {"person_id": kozlov["id"], "status": "convicted", "date": "2011-12", "description": "Overthrow"},
    )
    await post(
        client,
        f"/cases/{cid}/sentences",
        {"person_id": kozlov["id"], "term_months": 90, "start_date": "2012-01-23", "facility_id": prison["id"]},
    )
    await post(
        client,
        f"/cases/{cid}/participants",
        {"person_id": lawyer["id"], "role": "lawyer", "since": "2014-03", "until": "2015-12-08?"},
    )
    parole = await post(
        client,
        f"/cases/{cid}/hearings",
        {"kind": "parole", "date": "2015-12-08?", "location": "Jail outside Almaty", "judge_id": judge["id"],
         "public": False, "summary": "Application for parole rejected", "source_ids": [article["id"]]},
    )  # fmt: skip
    await post(client, f"/cases/{cid}/outcomes", {"kind": "parole_denied", "date": "2015-12-08?"})
    appeal = await post(
        client, f"/cases/{cid}/hearings", {"kind": "appeal", "date": "2016-03", "location": "Almaty", "public": True}
    )
    other_case = await make_case(client, "Another case")
    other_appeal = await post(client, f"/cases/{other_case['id']}/hearings", {"kind": "appeal", "date": "2013"})
    return Story(case, other_case, parole, appeal, other_appeal)


async def timeline_json(client: httpx.AsyncClient, case_id: str, **params: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/cases/{case_id}/timeline", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()["items"]


def parse_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows; each cell's text without the `'` that keeps a spreadsheet from running it as a
    formula (tests.helpers.spreadsheet_text)."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = [{name: spreadsheet_text(cell) for name, cell in row.items()} for row in reader]
    return list(reader.fieldnames or []), rows


def vary_of(response: httpx.Response) -> set[str]:
    return {name.strip().lower() for name in response.headers.get("vary", "").split(",")}


def assert_csv_row_is(row: dict[str, str], item: dict[str, Any]) -> None:
    for column in CSV_COLUMNS:
        if column in LIST_COLUMNS:
            assert json.loads(row[column]) == item[column], column
        else:
            assert row[column] == ("" if item[column] is None else item[column]), column


# --- timeline as CSV ---------------------------------------------------------------------------


async def test_timeline_csv_is_the_json_timeline_row_by_row(client: httpx.AsyncClient) -> None:
    story = await build_story(client)
    cid = story.case["id"]
    items = await timeline_json(client, cid)
    assert len(items) == 11
    assert set(items[0]) == set(CSV_COLUMNS)

    response = await client.get(f"{API}/cases/{cid}/timeline", params={"format": "csv"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == f'attachment; filename="case-{cid}-timeline.csv"'
    header, rows = parse_csv(response.text)
    assert header == CSV_COLUMNS
    assert [(r["type"], r["id"], r["phase"]) for r in rows] == [(i["type"], i["id"], i["phase"] or "") for i in items]
    for row, item in zip(rows, items, strict=True):
        assert_csv_row_is(row, item)
    incident = next(r for r in rows if r["kind"] == "incident")
    assert incident["title"] == 'Zhanaozen: "15 killed", <b>strike</b> crushed'
    assert incident["text"] == "Oil workers' strike.\nPolice fired, Жанаозен"
    assert len(json.loads(incident["person_ids"])) == 2


async def test_timeline_csv_keeps_the_filters_and_order(client: httpx.AsyncClient) -> None:
    story = await build_story(client)
    cid = story.case["id"]
    params = {"types": "hearing,participant", "from": "2015", "order": "desc"}
    items = await timeline_json(client, cid, **params)
    # Descending: the appeal (2016-03), then 2015-12-08? where the parole hearing comes before the lawyer's end.
    assert [i["type"] for i in items] == ["hearing", "participant", "hearing"]

    response = await client.get(f"{API}/cases/{cid}/timeline", params={**params, "format": "csv"})

    _, rows = parse_csv(response.text)
    assert [r["id"] for r in rows] == [i["id"] for i in items]
    for row, item in zip(rows, items, strict=True):
        assert_csv_row_is(row, item)


async def test_accept_text_csv_gives_the_same_csv(client: httpx.AsyncClient) -> None:
    story = await build_story(client)
    url = f"{API}/cases/{story.case['id']}/timeline"
    by_param = await client.get(url, params={"format": "csv"})

    by_accept = await client.get(url, headers={"Accept": "text/csv"})

    assert by_accept.status_code == 200
    assert by_accept.headers["content-type"] == "text/csv; charset=utf-8"
    assert by_accept.text == by_param.text
    assert "accept" in vary_of(by_accept)


async def test_explicit_json_format_wins_over_accept(client: httpx.AsyncClient) -> None:
    story = await build_story(client)
    url = f"{API}/cases/{story.case['id']}/timeline"

    response = await client.get(url, params={"format": "json"}, headers={"Accept": "text/csv"})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["items"] == await timeline_json(client, story.case["id"])
    assert "accept" in vary_of(response)


async def test_empty_timeline_csv_is_just_the_header(client: httpx.AsyncClient) -> None:
    case = await make_case(client, "Nothing dated yet")

    response = await client.get(f"{API}/cases/{case['id']}/timeline", params={"format": "csv"})

    assert response.status_code == 200
    header, rows = parse_csv(response.text)
    assert header == CSV_COLUMNS
    assert rows == []


# --- timeline as TimelineJS --------------------------------------------------------------------


async def test_timelinejs_has_one_event_per_item_as_precise_as_its_date(client: httpx.AsyncClient) -> None:
    story = await build_story(client)
    cid = story.case["id"]
    items = await timeline_json(client, cid)

    response = await client.get(f"{API}/cases/{cid}/timeline", params={"format": "timelinejs"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    # It is what the OpenAPI document says the JSON may be besides the timeline (the TimelineJS schema).
    TimelineJS.model_validate(document, strict=True)
    timeline_schema = (await client.get("/openapi.json")).json()["paths"]["/api/v1/cases/{case_id}/timeline"]
    documented = timeline_schema["get"]["responses"]["200"]["content"]["application/json"]["schema"]["anyOf"]
    assert {"$ref": "#/components/schemas/TimelineJS"} in documented
    assert document["title"]["text"]["headline"] == "Kozlov case"
    assert "11 dated items" in document["title"]["text"]["text"]
    events = document["events"]
    assert len(events) == len(items)
    for event, item in zip(events, items, strict=True):
        start, end = TIMELINEJS_DATES[item["date"]]
        assert event["display_date"] == item["date"]
        assert event["start_date"] == start, item["date"]
        assert event.get("end_date") == end, item["date"]
        assert ("end_date" in event) == (item["date_earliest"] != item["date_latest"])
        assert event["group"] == item["type"]
        assert event["text"]["text"] == (item["text"] or "").replace("<", "&lt;").replace(">", "&gt;")
        assert item["id"] in event["unique_id"]
    assert len({e["unique_id"] for e in events}) == len(events), "the lawyer's start and end need their own ids"
    headlines = [e["text"]["headline"] for e in events]
    assert headlines == [i["title"].replace("<", "&lt;").replace(">", "&gt;") for i in items]
    assert 'Zhanaozen: "15 killed", &lt;b&gt;strike&lt;/b&gt; crushed' in headlines  # shown, never run as HTML


async def test_timelinejs_follows_the_order_parameter(client: httpx.AsyncClient) -> None:
    story = await build_story(client)
    cid = story.case["id"]
    items = await timeline_json(client, cid, order="desc", types="hearing,outcome")

    response = await client.get(
        f"{API}/cases/{cid}/timeline", params={"format": "timelinejs", "order": "desc", "types": "hearing,outcome"}
    )

    events = response.json()["events"]
    assert [e["display_date"] for e in events] == ["2016-03", "2015-12-08?", "2015-12-08?"]
    # Descending reverses the whole order, so on the same day the outcome comes before its hearing.
    assert [e["group"] for e in events] == [i["type"] for i in items] == ["hearing", "outcome", "hearing"]


# --- timeline: bad requests --------------------------------------------------------------------


async def test_timeline_formats_of_a_missing_case_are_404_problems(client: httpx.AsyncClient) -> None:
    url = f"{API}/cases/{MISSING_CASE}/timeline"
    for response in (
        await client.get(url, params={"format": "csv"}),
        await client.get(url, params={"format": "timelinejs"}),
        await client.get(url, headers={"Accept": "text/csv"}),
    ):
        assert_problem(response, 404, MISSING_CASE)


async def test_unknown_timeline_format_is_a_problem(client: httpx.AsyncClient) -> None:
    case = await make_case(client)

    response = await client.get(f"{API}/cases/{case['id']}/timeline", params={"format": "xlsx"})

    body = assert_problem(response, 422, "format")
    assert any(e["field"] == "format" for e in body["errors"])


# --- hearings as iCalendar ---------------------------------------------------------------------


def parse_ics(response: httpx.Response) -> tuple[Calendar, dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(response.content)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert len(events) == len(calendar.walk("VEVENT")), "UIDs must be unique"
    return calendar, events


def utc(timestamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(timestamp).astimezone(dt.UTC).replace(microsecond=0)


async def test_case_hearings_feed_has_one_all_day_event_per_hearing(client: httpx.AsyncClient) -> None:
    story = await build_story(client)
    cid = story.case["id"]

    response = await client.get(f"{API}/cases/{cid}/hearings.ics")

    calendar, events = parse_ics(response)
    assert response.headers["content-disposition"] == f'attachment; filename="case-{cid}-hearings.ics"'
    assert str(calendar["X-WR-CALNAME"]) == "Kozlov case — hearings"
    assert str(calendar["VERSION"]) == "2.0"
    assert set(events) == {f"{story.parole['id']}@casetrack", f"{story.appeal['id']}@casetrack"}

    parole = events[f"{story.parole['id']}@casetrack"]
    assert parole.decoded("DTSTART") == dt.date(2015, 12, 8)
    assert not isinstance(parole.decoded("DTSTART"), dt.datetime), "an all-day event starts on a DATE"
    assert parole.decoded("DTEND") == dt.date(2015, 12, 9)
    assert str(parole["SUMMARY"]) == "Parole hearing — Kozlov case"
    assert str(parole["LOCATION"]) == "Jail outside Almaty"
    assert parole.decoded("DTSTAMP") == utc(story.parole["updated_at"])
    description = str(parole["DESCRIPTION"])
    assert "Application for parole rejected" in description
    assert "2015-12-08?" in description
    assert "closed to the public" in description
    url = f"http://casetrack.test{API}/hearings/{story.parole['id']}"
    assert url in description
    assert (await client.get(url)).json()["id"] == story.parole["id"]

    appeal = events[f"{story.appeal['id']}@casetrack"]
    assert str(appeal["SUMMARY"]) == "Appeal hearing — Kozlov case"
    # A month-precise date spans the whole month; DTEND is exclusive.
    assert appeal.decoded("DTSTART") == dt.date(2016, 3, 1)
    assert appeal.decoded("DTEND") == dt.date(2016, 4, 1)
    assert "closed to the public" not in str(appeal["DESCRIPTION"])


async def test_feed_uid_stays_when_the_hearing_changes(client: httpx.AsyncClient) -> None:
    story = await build_story(client)
    url = f"{API}/cases/{story.case['id']}/hearings.ics"
    uid = f"{story.appeal['id']}@casetrack"
    _, before = parse_ics(await client.get(url))

    changed = await client.patch(f"{API}/hearings/{story.appeal['id']}", json={"kind": "verdict", "date": "2016"})
    assert changed.status_code == 200, changed.text

    _, after = parse_ics(await client.get(url))
    assert set(after) == set(before)
    assert str(after[uid]["SUMMARY"]) == "Verdict hearing — Kozlov case"
    assert after[uid].decoded("DTSTART") == dt.date(2016, 1, 1)
    assert after[uid].decoded("DTEND") == dt.date(2017, 1, 1)
    assert after[uid].decoded("DTSTAMP") == utc(changed.json()["updated_at"])


async def test_cross_case_feed_has_every_case_and_filters_by_kind(client: httpx.AsyncClient) -> None:
    story = await build_story(client)
    uid = {name: f"{h['id']}@casetrack" for name, h in
           [("parole", story.parole), ("appeal", story.appeal), ("other", story.other_appeal)]}  # fmt: skip

    calendar, everything = parse_ics(await client.get(f"{API}/hearings.ics"))
    _, appeals = parse_ics(await client.get(f"{API}/hearings.ics", params={"kind": "appeal"}))
    _, paroles = parse_ics(await client.get(f"{API}/hearings.ics", params={"kind": "parole"}))

    assert str(calendar["X-WR-CALNAME"]) == "casetrack — hearings"
    assert set(everything) == set(uid.values())
    assert str(everything[uid["other"]]["SUMMARY"]) == "Appeal hearing — Another case"
    assert everything[uid["other"]].decoded("DTEND") == dt.date(2014, 1, 1)
    assert set(appeals) == {uid["appeal"], uid["other"]}
    assert set(paroles) == {uid["parole"]}


async def test_cross_case_feed_filters_by_case_and_dates(client: httpx.AsyncClient) -> None:
    story = await build_story(client)
    feed = f"{API}/hearings.ics"

    _, of_case = parse_ics(await client.get(feed, params={"case_id": story.other_case["id"]}))
    _, in_2015 = parse_ics(await client.get(feed, params={"date_from": "2014", "date_to": "2015"}))

    assert set(of_case) == {f"{story.other_appeal['id']}@casetrack"}
    assert set(in_2015) == {f"{story.parole['id']}@casetrack"}


async def test_empty_feed_is_still_a_calendar(client: httpx.AsyncClient) -> None:
    case = await make_case(client, "No hearings yet")

    calendar, events = parse_ics(await client.get(f"{API}/cases/{case['id']}/hearings.ics"))

    assert events == {}
    assert str(calendar["X-WR-CALNAME"]) == "No hearings yet — hearings"


async def test_feed_with_dates_at_the_ends_of_the_calendar(client: httpx.AsyncClient) -> None:
    # 9999-12-31 is the latest date taken: its day after (the exclusive DTEND) is not a date in iCalendar,
    # so the event says how long it lasts instead, and the feed stays a calendar.
    case = await make_case(client, "Very old and very late")
    dates = {"9999-12-31": 1, "9999-12": 31, "9990/9999": 3652, "0001-01-01": 1, "2015-12-08": 1}
    made = {}
    for date in dates:
        made[date] = await post(client, f"/cases/{case['id']}/hearings", {"kind": "trial", "date": date})

    for url in (f"{API}/cases/{case['id']}/hearings.ics", f"{API}/hearings.ics"):
        _, events = parse_ics(await client.get(url))
        for date, days in dates.items():
            event = events[f"{made[date]['id']}@casetrack"]
            start = event.decoded("DTSTART")
            assert start == dt.date.fromisoformat(made[date]["date_earliest"])
            length = event.decoded("DTEND") - start if "DTEND" in event else event.decoded("DURATION")
            assert length == dt.timedelta(days=days), (date, event.to_ical())


async def test_feed_of_a_missing_case_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{API}/cases/{MISSING_CASE}/hearings.ics")

    assert_problem(response, 404, MISSING_CASE)


async def test_feed_refuses_bad_filters(client: httpx.AsyncClient) -> None:
    await build_story(client)

    assert_problem(await client.get(f"{API}/hearings.ics", params={"kind": "picnic"}), 422, "picnic")
    assert_problem(await client.get(f"{API}/hearings.ics", params={"kinds": "appeal"}), 400, "kinds")
    assert_problem(await client.get(f"{API}/hearings.ics", params={"date_from": "someday"}), 422, "someday")


# --- documentation -----------------------------------------------------------------------------


async def test_openapi_documents_the_formats(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]

    timeline = paths[f"{API}/cases/{{case_id}}/timeline"]["get"]
    format_param = next(p for p in timeline["parameters"] if p["name"] == "format")
    assert format_param["schema"]["enum"] == ["json", "csv", "timelinejs"]
    assert set(timeline["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert "TimelineJS" in timeline["responses"]["200"]["description"]
    assert {"400", "404", "422"} <= set(timeline["responses"])
    for path in (f"{API}/cases/{{case_id}}/hearings.ics", f"{API}/hearings.ics"):
        assert set(paths[path]["get"]["responses"]["200"]["content"]) == {"text/calendar"}
