"""GET /api/v1/cases/{id}/timeline: every dated record of a case, in order, through the HTTP API."""

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.helpers import API, assert_problem, make_case, make_organization, make_person, make_source, post

TRANSACTION_CONTROL = re.compile(r"\s*(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK|BEGIN|COMMIT)\b", re.IGNORECASE)


@dataclass
class Expected:
    """One timeline item as the test expects it."""

    type: str
    id: str
    kind: str
    date: str
    date_earliest: str
    date_latest: str
    person_ids: list[str]
    source_ids: list[str]
    title: str | None = None  # checked exactly when given
    phase: str | None = None

    def key(self) -> tuple[str, str, str | None]:
        return (self.type, self.id, self.phase)


@dataclass
class Story:
    case_id: str
    items: dict[str, Expected] = field(default_factory=dict)  # by a short name
    undated: dict[str, str] = field(default_factory=dict)  # records that must not appear

    def keys(self, *names: str) -> list[tuple[str, str, str | None]]:
        return [self.items[name].key() for name in names]


# The whole story in expected ascending order (each name is an item of Story.items), written out from the
# rule: by the latest day a date allows, then its earliest day, then hearing, participant, charge, event,
# outcome, sentence, then the order of entry.
ASCENDING = [
    "incident",  # 2011: by 2011-12-31, from 2011-01-01
    "charge",  # 2011-12: by the same day, but could not be earlier than December
    "defendant_since",  # 2012-01-23: a participant before a sentence on the same day
    "sentence",  # 2012-01-23
    "convicted",  # 2012?: known only by the end of 2012, so after the day in January
    "lawyer_since",  # 2014-03
    "new_year",  # 2015-01-01
    "visit",  # 2015-06-01: a day inside the summer, before the summer is over
    "regime",  # 2015-22: by the end of August
    "hearing",  # 2015-12-08?: the hearing first on its day
    "lawyer_until",  # 2015-12-08?: then the participants (in the order entered)
    "judge_since",  # 2015-12-08
    "denied",  # 2015-12-08?: the outcome after the hearing
    "reaction_eu",  # 2012/2015-12: known only by its end; the widest first among those ending 2015-12-31
    "reaction_un",  # the same dates and kind: in the order entered
    "filing",  # 2015: ends with the year too, but could not have been before 2015
]


QUOTE = "I have not committed any crimes"


def _ids(*records: dict[str, Any]) -> list[str]:
    return sorted(r["id"] for r in records)


async def build_story(client: httpx.AsyncClient) -> Story:
    article, posts = await make_source(client, title="The article"), await make_source(client, title="Posts")
    kozlov = await make_person(client, "Vladimir Kozlov")
    lawyer = await make_person(client, "Aiman Umarova")
    wife = await make_person(client, "Aliya Turusbekova")
    judge = await make_person(client, "Unnamed judge")
    nazarbayev = await make_person(client, "Nursultan Nazarbayev")
    prison = await make_organization(client)
    europarl = await make_organization(client, "European Parliament", kind="international_body")
    case = await make_case(client, source_ids=[article["id"]])
    cid = case["id"]
    story = Story(cid)
    both = _ids(article, posts)
    only_article = [article["id"]]

    async def event(name: str, kind: str, date: str, title: str, people=(), sources=only_article, **extra) -> None:
        body = {"kind": kind, "date": date, "title": title, "person_ids": [p["id"] for p in people]}
        record = await post(client, f"/cases/{cid}/events", {**body, "source_ids": sources, **extra})
        earliest, latest = record["date_earliest"], record["date_latest"]
        story.items[name] = Expected(
            "event", record["id"], kind, date, earliest, latest, _ids(*people), sorted(sources), title
        )

    # Entered out of order on purpose: the timeline sorts, it does not replay the input.
    await event("visit", "visit", "2015-06-01", "Wife visits", [wife, kozlov], both)
    await event(
        "regime",
        "detention_change",
        "2015-22",
        "Stricter regime",
        [kozlov],
        organization_ids=[prison["id"]],
        description="For alleged violations of prison rules",
    )
    await event(
        "reaction_eu",
        "reaction",
        "2012/2015-12",
        "European Parliament resolution",
        [],
        [],
        organization_ids=[europarl["id"]],
    )
    await event("incident", "incident", "2011", "Zhanaozen: 15 civilians killed")
    await event("new_year", "statement", "2015-01-01", "New year message", [kozlov], quote=QUOTE)
    await event("filing", "filing", "2015", "Applies for parole", [kozlov])
    await event("reaction_un", "reaction", "2012/2015-12", "UN rapporteur concerned", [], [])

    hearing = await post(
        client,
        f"/cases/{cid}/hearings",
        {
            "kind": "parole",
            "date": "2015-12-08?",
            "location": "Jail outside Almaty",
            "judge_id": judge["id"],
            "public": False,
            "source_ids": both,
        },
    )
    story.items["hearing"] = Expected(
        "hearing",
        hearing["id"],
        "parole",
        "2015-12-08?",
        "2015-12-08",
        "2015-12-08",
        [judge["id"]],
        both,
        "Parole hearing at Jail outside Almaty (closed to the public)",
    )
    denied = await post(
        client,
        f"/cases/{cid}/outcomes",
        {
            "kind": "parole_denied",
            "date": "2015-12-08?",
            "hearing_id": hearing["id"],
            "person_id": kozlov["id"],
            "source_ids": only_article,
        },
    )
    story.items["denied"] = Expected(
        "outcome",
        denied["id"],
        "parole_denied",
        "2015-12-08?",
        "2015-12-08",
        "2015-12-08",
        [kozlov["id"]],
        only_article,
        "Parole denied",
    )
    convicted = await post(
        client, f"/cases/{cid}/outcomes", {"kind": "convicted", "date": "2012?", "person_id": kozlov["id"]}
    )
    story.items["convicted"] = Expected(
        "outcome", convicted["id"], "convicted", "2012?", "2012-01-01", "2012-12-31", [kozlov["id"]], [], "Convicted"
    )

    charge = await post(
        client,
        f"/cases/{cid}/charges",
        {
            "person_id": kozlov["id"],
            "status": "convicted",
            "date": "2011-12",
            "description": "Overthrow",
            "named_person_ids": [nazarbayev["id"]],
            "source_ids": only_article,
        },
    )
    story.items["charge"] = Expected(
        "charge",
        charge["id"],
        "convicted",
        "2011-12",
        "2011-12-01",
        "2011-12-31",
        _ids(kozlov, nazarbayev),
        only_article,
        "Charged: Overthrow",
    )
    undated = await post(
        client, f"/cases/{cid}/charges", {"person_id": kozlov["id"], "status": "convicted", "description": "Incitement"}
    )
    story.undated["charge"] = undated["id"]

    sentence = await post(
        client,
        f"/cases/{cid}/sentences",
        {
            "person_id": kozlov["id"],
            "term_months": 90,
            "start_date": "2012-01-23",
            "facility_id": prison["id"],
            "source_ids": only_article,
        },
    )
    story.items["sentence"] = Expected(
        "sentence",
        sentence["id"],
        "imprisonment",
        "2012-01-23",
        "2012-01-23",
        "2012-01-23",
        [kozlov["id"]],
        only_article,
        "Sentence begins: 90 months of imprisonment",
        "start",
    )
    undated_sentence = await post(client, f"/cases/{cid}/sentences", {"person_id": kozlov["id"], "kind": "fine"})
    story.undated["sentence"] = undated_sentence["id"]

    lawyer_role = await post(
        client,
        f"/cases/{cid}/participants",
        {"person_id": lawyer["id"], "role": "lawyer", "since": "2014-03", "until": "2015-12-08?", "source_ids": both},
    )
    story.items["lawyer_since"] = Expected(
        "participant",
        lawyer_role["id"],
        "lawyer",
        "2014-03",
        "2014-03-01",
        "2014-03-31",
        [lawyer["id"]],
        both,
        "Aiman Umarova: lawyer from here on",
        "start",
    )
    story.items["lawyer_until"] = Expected(
        "participant",
        lawyer_role["id"],
        "lawyer",
        "2015-12-08?",
        "2015-12-08",
        "2015-12-08",
        [lawyer["id"]],
        both,
        "Aiman Umarova: no longer lawyer",
        "end",
    )
    judge_role = await post(
        client, f"/cases/{cid}/participants", {"person_id": judge["id"], "role": "judge", "since": "2015-12-08"}
    )
    story.items["judge_since"] = Expected(
        "participant",
        judge_role["id"],
        "judge",
        "2015-12-08",
        "2015-12-08",
        "2015-12-08",
        [judge["id"]],
        [],
        "Unnamed judge: judge from here on",
        "start",
    )
    defendant = await post(
        client,
        f"/cases/{cid}/participants",
        {"person_id": kozlov["id"], "role": "defendant", "since": "2012-01-23", "source_ids": only_article},
    )
    story.items["defendant_since"] = Expected(
        "participant",
        defendant["id"],
        "defendant",
        "2012-01-23",
        "2012-01-23",
        "2012-01-23",
        [kozlov["id"]],
        only_article,
        "Vladimir Kozlov: defendant from here on",
        "start",
    )
    spouse = await post(client, f"/cases/{cid}/participants", {"person_id": wife["id"], "role": "spouse"})
    story.undated["participant"] = spouse["id"]
    assert sorted(story.items) == sorted(ASCENDING)
    return story


async def get_timeline(client: httpx.AsyncClient, case_id: str, **params: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/cases/{case_id}/timeline", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["case_id"] == case_id
    return body["items"]


def keys(items: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(i["type"], i["id"], i.get("phase")) for i in items]


@pytest.fixture
async def story(client: httpx.AsyncClient) -> Story:
    return await build_story(client)


async def test_every_dated_record_appears_in_order_with_its_fields(client: httpx.AsyncClient, story: Story) -> None:
    items = await get_timeline(client, story.case_id)
    assert keys(items) == story.keys(*ASCENDING)
    for item, name in zip(items, ASCENDING, strict=True):
        expected = story.items[name]
        assert item["type"] == expected.type, name
        assert item["id"] == expected.id, name
        assert item["kind"] == expected.kind, name
        assert item["date"] == expected.date, name
        assert item["date_earliest"] == expected.date_earliest, name
        assert item["date_latest"] == expected.date_latest, name
        assert item["person_ids"] == expected.person_ids, name
        assert item["source_ids"] == expected.source_ids, name
        assert isinstance(item["title"], str) and item["title"], name
        if expected.title is not None:
            assert item["title"] == expected.title, name
        if expected.phase is not None:
            assert item["phase"] == expected.phase, name


async def test_items_carry_text_and_organizations(client: httpx.AsyncClient, story: Story) -> None:
    items = {(i["type"], i["id"], i.get("phase")): i for i in await get_timeline(client, story.case_id)}
    statement = items[story.items["new_year"].key()]
    assert statement["text"] == QUOTE
    assert statement["organization_ids"] == []
    regime = items[story.items["regime"].key()]
    assert regime["text"] == "For alleged violations of prison rules"
    sentence = items[story.items["sentence"].key()]
    assert len(regime["organization_ids"]) == 1
    assert sentence["organization_ids"] == regime["organization_ids"]  # the prison: event and facility
    assert items[story.items["visit"].key()]["text"] is None


async def test_undated_records_are_absent(client: httpx.AsyncClient, story: Story) -> None:
    items = await get_timeline(client, story.case_id)
    present = {i["id"] for i in items}
    assert not present & set(story.undated.values())
    # The undated records do exist: the timeline left them out, the API did not lose them.
    response = await client.get(f"{API}/charges/{story.undated['charge']}")
    assert response.status_code == 200 and response.json()["date"] is None


async def test_participant_since_and_until_both_appear(client: httpx.AsyncClient, story: Story) -> None:
    lawyer_id = story.items["lawyer_since"].id
    items = [i for i in await get_timeline(client, story.case_id) if i["id"] == lawyer_id]
    assert [(i["phase"], i["date"]) for i in items] == [("start", "2014-03"), ("end", "2015-12-08?")]


async def test_a_vague_date_sorts_by_its_latest_day(client: httpx.AsyncClient, story: Story) -> None:
    order = [i["id"] for i in await get_timeline(client, story.case_id)]
    for before, after in (("visit", "regime"), ("new_year", "filing"), ("convicted", "reaction_eu")):
        assert order.index(story.items[before].id) < order.index(story.items[after].id), (before, after)


async def test_same_input_same_order_on_repeated_calls(client: httpx.AsyncClient, story: Story) -> None:
    first = await get_timeline(client, story.case_id)
    for _ in range(3):
        assert await get_timeline(client, story.case_id) == first


async def test_ties_follow_the_order_of_entry(client: httpx.AsyncClient) -> None:
    case = await make_case(client)
    ids = []
    for n in range(6):
        body = {"kind": "reaction", "date": "2015-12", "title": f"Reaction {n}"}
        ids.append((await post(client, f"/cases/{case['id']}/events", body))["id"])
    items = await get_timeline(client, case["id"])
    assert [i["id"] for i in items] == ids
    assert [i["id"] for i in await get_timeline(client, case["id"], order="desc")] == ids[::-1]


async def test_a_role_held_for_one_day_starts_before_it_ends(client: httpx.AsyncClient) -> None:
    case = await make_case(client)
    judge = await make_person(client, "Unnamed judge")
    body = {"person_id": judge["id"], "role": "judge", "since": "2015-12-08", "until": "2015-12-08"}
    await post(client, f"/cases/{case['id']}/participants", body)
    items = await get_timeline(client, case["id"])
    assert [i["phase"] for i in items] == ["start", "end"]
    descending = await get_timeline(client, case["id"], order="desc")
    assert [i["phase"] for i in descending] == ["end", "start"]


# The rule, clause by clause, on small cases. Each is entered in an order the rule must undo, and read in
# both directions (descending is the exact reverse).


async def _titles(client: httpx.AsyncClient, case_id: str) -> list[str]:
    ascending = [i["title"] for i in await get_timeline(client, case_id)]
    assert [i["title"] for i in await get_timeline(client, case_id, order="desc")] == ascending[::-1]
    return ascending


async def _events(client: httpx.AsyncClient, *dated: tuple[str, str]) -> str:
    """A new case with one event per (date, title), entered in the order given; returns the case id."""
    case = (await make_case(client))["id"]
    for date, title in dated:
        await post(client, f"/cases/{case}/events", {"kind": "other", "date": date, "title": title})
    return case


async def test_a_wide_interval_sorts_by_its_end_after_a_point_inside_it(client: httpx.AsyncClient) -> None:
    case = await _events(
        client,
        ("2016-01-01", "after the interval"),
        ("2015-12-31", "on the interval's last day"),
        ("2012/2015-12", "sometime in 2012 to 2015-12"),
        ("2013-05-01", "a day inside the interval"),
    )
    assert await _titles(client, case) == [
        "a day inside the interval",
        "sometime in 2012 to 2015-12",  # ends on the same day as the next one, could be earlier: first
        "on the interval's last day",
        "after the interval",
    ]


async def test_since_the_summer_comes_after_the_summer(client: httpx.AsyncClient) -> None:
    case = await _events(
        client,
        ("2015-22/2015-12", "unable to visit since the summer"),
        ("2015-12", "a comment in December"),
        ("2015-22", "stricter regime in the summer"),
        ("2015-09-01", "a day in September"),
    )
    assert await _titles(client, case) == [
        "stricter regime in the summer",
        "a day in September",
        "unable to visit since the summer",  # ends with December, began in the summer: before December's
        "a comment in December",
    ]


async def test_a_month_a_season_and_a_year_sort_at_their_end(client: httpx.AsyncClient) -> None:
    case = await _events(
        client,
        ("2015", "in 2015"),
        ("2015-12", "in December 2015"),
        ("2015-12-08", "on 8 December 2015"),
        ("2015-23", "in autumn 2015"),  # September to November
        ("2015-11-30", "on 30 November 2015"),
        ("2015-01-01", "on 1 January 2015"),
    )
    assert await _titles(client, case) == [
        "on 1 January 2015",
        "in autumn 2015",  # ends on 30 November like the next, but could be earlier
        "on 30 November 2015",
        "on 8 December 2015",
        "in 2015",
        "in December 2015",
    ]


async def test_uncertain_and_approximate_dates_sort_as_their_span(client: httpx.AsyncClient) -> None:
    # `?` (uncertain), `~` (approximate) and `%` do not widen or move a date: `2015~` spans 2015.
    case = await _events(
        client,
        ("2015~", "about 2015"),
        ("2015-12?", "December 2015, uncertain"),
        ("2015", "in 2015"),
        ("2015-12-08?", "8 December 2015, uncertain"),
        ("2015-12-08", "8 December 2015"),
        ("2015-06-01%", "1 June 2015, uncertain and approximate"),
        ("2014~/2015-06?", "about 2014 to June 2015, uncertain"),
    )
    assert await _titles(client, case) == [
        "1 June 2015, uncertain and approximate",
        "about 2014 to June 2015, uncertain",
        "8 December 2015, uncertain",  # the same day with or without `?`: in the order entered
        "8 December 2015",
        "about 2015",  # the same span as "in 2015": in the order entered
        "in 2015",
        "December 2015, uncertain",
    ]


async def test_on_one_day_the_hearing_comes_first_then_what_was_said_then_the_outcome(
    client: httpx.AsyncClient,
) -> None:
    case = (await make_case(client))["id"]
    judge = (await make_person(client, "Unnamed judge"))["id"]
    kozlov = (await make_person(client, "Vladimir Kozlov"))["id"]
    # Entered in the reverse of the order the rule gives; `?` on some: the same day either way.
    await post(client, f"/cases/{case}/sentences", {"person_id": kozlov, "start_date": "2015-12-08", "term_months": 6})
    await post(client, f"/cases/{case}/outcomes", {"kind": "sentenced", "date": "2015-12-08"})
    await post(client, f"/cases/{case}/events", {"kind": "statement", "date": "2015-12-08", "title": "Lawyer speaks"})
    await post(client, f"/cases/{case}/events", {"kind": "statement", "date": "2015-12-08?", "title": "He speaks"})
    await post(client, f"/cases/{case}/charges", {"description": "Incitement", "date": "2015-12-08?"})
    body = {"person_id": judge, "role": "judge", "since": "2015-12-08?"}
    await post(client, f"/cases/{case}/participants", body)
    await post(client, f"/cases/{case}/hearings", {"kind": "trial", "date": "2015-12-08?"})
    await post(client, f"/cases/{case}/events", {"kind": "statement", "date": "2015-12", "title": "Wife comments"})
    assert await _titles(client, case) == [
        "Trial hearing",
        "Unnamed judge: judge from here on",
        "Charged: Incitement",
        "Lawyer speaks",  # two events: in the order entered
        "He speaks",
        "Sentenced",
        "Sentence begins: 6 months of imprisonment",
        "Wife comments",  # December 2015: known only by the end of the month
    ]


async def test_a_role_never_ends_before_it_starts(client: httpx.AsyncClient) -> None:
    # Held from sometime in 2015 (known by 31 December) until 1 June 2015: its end sorts with its start.
    case = (await make_case(client))["id"]
    lawyer = (await make_person(client, "Aiman Umarova"))["id"]
    body = {"person_id": lawyer, "role": "lawyer", "since": "2015", "until": "2015-06-01"}
    await post(client, f"/cases/{case}/participants", body)
    await post(client, f"/cases/{case}/events", {"kind": "other", "date": "2015-09-01", "title": "In September"})
    assert await _titles(client, case) == [
        "In September",
        "Aiman Umarova: lawyer from here on",
        "Aiman Umarova: no longer lawyer",
    ]
    pages: list[str] = []
    cursor = None
    while True:
        params = {"limit": "1"} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"{API}/cases/{case}/timeline", params=params)).json()
        pages += [i["title"] for i in page["items"]]
        if (cursor := page["next"]) is None:
            break
    assert pages == await _titles(client, case)


async def test_an_open_interval_is_refused_so_every_item_has_an_end(client: httpx.AsyncClient) -> None:
    # `2015-12/..` names no end: the API refuses it as a date, so the rule needs no place for it.
    case = (await make_case(client))["id"]
    body = {"kind": "visit", "date": "2015-12/..", "title": "Unable to visit since December"}
    response = await client.post(f"{API}/cases/{case}/events", json=body)
    assert_problem(response, 422, "open-ended")
    assert await get_timeline(client, case) == []


async def test_every_output_lists_the_items_in_the_timelines_order(client: httpx.AsyncClient) -> None:
    # The order is decided once, in the timeline service: CSV, TimelineJS, the SVG, the case page's
    # chronology and the hearings' calendar feed (hearings only) follow it.
    case = (await make_case(client))["id"]
    lawyer = (await make_person(client, "Aiman Umarova"))["id"]
    await post(client, f"/cases/{case}/hearings", {"kind": "trial", "date": "2015"})
    await post(client, f"/cases/{case}/events", {"kind": "statement", "date": "2015-12-08", "title": "Speech"})
    await post(client, f"/cases/{case}/hearings", {"kind": "parole", "date": "2015-12-08?"})
    await post(client, f"/cases/{case}/outcomes", {"kind": "parole_denied", "date": "2015-12-08"})
    await post(client, f"/cases/{case}/hearings", {"kind": "appeal", "date": "2015-06-01"})
    body = {"person_id": lawyer, "role": "lawyer", "since": "2015", "until": "2015-06-01"}
    await post(client, f"/cases/{case}/participants", body)
    items = await get_timeline(client, case)
    assert [i["title"] for i in items] == [
        "Appeal hearing",
        "Parole hearing",
        "Speech",
        "Parole denied",
        "Trial hearing",  # 2015: by the end of the year; entered before the role
        "Aiman Umarova: lawyer from here on",
        "Aiman Umarova: no longer lawyer",
    ]
    anchors = [f"item-{i['type']}-{i['id']}" + (f"-{i['phase']}" if i["phase"] else "") for i in items]

    csv_text = (await client.get(f"{API}/cases/{case}/timeline", params={"format": "csv"})).text
    assert [row["id"] for row in csv.DictReader(io.StringIO(csv_text))] == [i["id"] for i in items]
    slides = (await client.get(f"{API}/cases/{case}/timeline", params={"format": "timelinejs"})).json()["events"]
    assert [f"item-{s['unique_id']}" for s in slides] == anchors
    svg = (await client.get(f"{API}/cases/{case}/timeline.svg")).text
    assert re.findall(r'data-id="([0-9a-f]{32})"', svg) == [i["id"] for i in items]
    page = (await client.get(f"/cases/{case}")).text
    assert re.findall(r'<li class="item [^"]*" id="([^"]+)"', page) == anchors
    feed = (await client.get(f"{API}/cases/{case}/hearings.ics")).text
    hearings = [i["id"] for i in items if i["type"] == "hearing"]
    assert re.findall(r"UID:([0-9a-f]{32})@", feed) == hearings, feed


async def test_the_rule_is_in_the_endpoints_openapi_description(anonymous: httpx.AsyncClient) -> None:
    document = (await anonymous.get("/openapi.json")).json()
    description = document["paths"][f"{API}/cases/{{case_id}}/timeline"]["get"]["description"]
    for clause in (
        "placed by the *latest* day its date allows",
        "an interval `A/B` sorts at the last day of `B`",
        "`?`, `~` and `%` neither widen nor move a date",
        "Open intervals (`2015-12/..`) are not accepted",
        "the earlier earliest possible day first",
        "`hearing`, `participant`, `charge`, `event`, `outcome`, `sentence`",
        "the order the records were entered, then the id",
        "A role's end is placed no earlier than its start",
        "`order=desc` is the exact reverse",
    ):
        assert clause in description, clause


async def test_empty_case_has_an_empty_timeline(client: httpx.AsyncClient) -> None:
    case = await make_case(client)
    assert await get_timeline(client, case["id"]) == []


async def test_timeline_shows_only_its_own_case(client: httpx.AsyncClient, story: Story) -> None:
    other = await make_case(client, title="Another case")
    await post(client, f"/cases/{other['id']}/events", {"kind": "arrest", "date": "2015-06-01", "title": "Arrest"})
    items = await get_timeline(client, story.case_id)
    assert keys(items) == story.keys(*ASCENDING)
    assert [i["title"] for i in await get_timeline(client, other["id"])] == ["Arrest"]


# Filters


async def test_types_filter(client: httpx.AsyncClient, story: Story) -> None:
    items = await get_timeline(client, story.case_id, types="hearing,outcome")
    assert keys(items) == story.keys("convicted", "hearing", "denied")
    participants = await get_timeline(client, story.case_id, types="participant")
    assert keys(participants) == story.keys("defendant_since", "lawyer_since", "lawyer_until", "judge_since")


async def test_every_type_can_be_asked_for(client: httpx.AsyncClient, story: Story) -> None:
    everything = "participant,charge,event,hearing,outcome,sentence"
    assert keys(await get_timeline(client, story.case_id, types=everything)) == story.keys(*ASCENDING)
    assert keys(await get_timeline(client, story.case_id, types="sentence")) == story.keys("sentence")
    assert keys(await get_timeline(client, story.case_id, types="charge")) == story.keys("charge")


# Each window and the items (by name) it keeps, in order.
WINDOWS: list[tuple[dict[str, str], list[str]]] = [
    # June-July 2015: everything whose range may touch it.
    ({"from": "2015-06", "to": "2015-07"}, ["visit", "regime", "reaction_eu", "reaction_un", "filing"]),
    # From the hearing on: the lawyer's end is in, the lawyer's start is not.
    (
        {"from": "2015-12-08"},
        ["hearing", "lawyer_until", "judge_since", "denied", "reaction_eu", "reaction_un", "filing"],
    ),
    ({"to": "2011"}, ["incident", "charge"]),
    ({"to": "2011-06-30"}, ["incident"]),
    # A season as the window: vague dates that may fall in the summer stay in.
    ({"from": "2015-22", "to": "2015-22"}, ["visit", "regime", "reaction_eu", "reaction_un", "filing"]),
    (
        {"from": "2012-01-23", "to": "2012-01-23"},
        ["defendant_since", "sentence", "convicted", "reaction_eu", "reaction_un"],
    ),
    ({"from": "2015-12-09"}, ["reaction_eu", "reaction_un", "filing"]),
    ({"from": "2016"}, []),
    ({"to": "2010~"}, []),
    ({"from": "2012-01-23/2014-03"}, ASCENDING[2:]),
    ({"from": "2011", "to": "2015-12-08?"}, ASCENDING),
]


async def test_date_window_keeps_items_that_may_fall_in_it(client: httpx.AsyncClient, story: Story) -> None:
    for params, expected in WINDOWS:
        assert keys(await get_timeline(client, story.case_id, **params)) == story.keys(*expected), params


async def test_filters_combine(client: httpx.AsyncClient, story: Story) -> None:
    items = await get_timeline(client, story.case_id, types="event,participant", **{"from": "2015-12"}, order="desc")
    assert keys(items) == story.keys("lawyer_until", "judge_since", "reaction_eu", "reaction_un", "filing")[::-1]


async def test_descending_is_the_exact_reverse(client: httpx.AsyncClient, story: Story) -> None:
    ascending = await get_timeline(client, story.case_id)
    assert await get_timeline(client, story.case_id, order="asc") == ascending
    descending = await get_timeline(client, story.case_id, order="desc")
    assert descending == ascending[::-1]


# Bad requests


@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"types": "hearing,verdict"}, ["types", "verdict"]),
        ({"types": "hearings"}, ["types", "hearings"]),
        ({"types": ""}, ["types"]),
        ({"from": "last summer"}, ["from", "last summer"]),
        ({"from": "2015-13"}, ["from", "2015-13"]),
        ({"from": "2012/.."}, ["from", "open-ended"]),
        ({"to": "2019/2012"}, ["to", "ends before it starts"]),
        ({"to": "0000"}, ["to", "1 to 9999"]),
        ({"order": "newest"}, ["order"]),
        ({"from": "2" * 65}, ["from"]),
    ],
)
async def test_a_bad_query_value_is_a_422_problem_naming_it(
    client: httpx.AsyncClient, params: dict[str, str], mentions: list[str]
) -> None:
    case = await make_case(client)
    response = await client.get(f"{API}/cases/{case['id']}/timeline", params=params)
    body = assert_problem(response, 422, *mentions)
    assert body["title"] == "Invalid query parameter"
    assert [e["loc"][0] for e in body["errors"]] == ["query"]


@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"type": "hearing"}, ["unknown query parameter", "'type'"]),
        ({"date_from": "2015"}, ["unknown query parameter", "'date_from'"]),
    ],
)
async def test_an_unknown_query_parameter_is_a_400_problem(
    client: httpx.AsyncClient, params: dict[str, str], mentions: list[str]
) -> None:
    case = await make_case(client)
    response = await client.get(f"{API}/cases/{case['id']}/timeline", params=params)
    assert_problem(response, 400, *mentions)


async def test_missing_case_is_a_404_problem(client: httpx.AsyncClient) -> None:
    missing = "0" * 32
    response = await client.get(f"{API}/cases/{missing}/timeline")
    assert_problem(response, 404, missing)


# SQL statements


async def _case_with_items(client: httpx.AsyncClient, wanted: int) -> tuple[str, int]:
    """A case with ``wanted`` timeline items spread over every type; returns its id and the item count."""
    case = await make_case(client)
    cid = case["id"]
    source = await make_source(client)
    person = await make_person(client)
    prison = await make_organization(client)
    who, cited = person["id"], [source["id"]]

    def record(n: int) -> tuple[str, dict[str, Any], int]:
        """The n-th record to add: (collection, body, how many timeline items it makes)."""
        month = f"{n % 12 + 1:02d}"
        match n % 6:
            case 0:
                body = {
                    "kind": "visit",
                    "date": f"2015-{month}",
                    "title": f"Visit {n}",
                    "person_ids": [who],
                    "organization_ids": [prison["id"]],
                }
                return "events", body, 1
            case 1:
                return "hearings", {"kind": "trial", "date": f"2013-{month}-01", "judge_id": who}, 1
            case 2:
                return "outcomes", {"kind": "other", "date": f"201{n % 10}?", "person_id": who}, 1
            case 3:
                body = {
                    "description": f"Charge {n}",
                    "date": f"2011-{month}",
                    "person_id": who,
                    "named_person_ids": [who],
                }
                return "charges", body, 1
            case 4:
                return "sentences", {"person_id": who, "start_date": "2012~", "facility_id": prison["id"]}, 1
            case _:
                return "participants", {"person_id": who, "role": "supporter", "since": "2014", "until": "2016-22"}, 2

    count, n = 0, 0
    while count < wanted:
        collection, body, made = record(n)
        await post(client, f"/cases/{cid}/{collection}", {**body, "source_ids": cited})
        count += made
        n += 1
    return cid, count


async def test_statement_count_does_not_grow_with_the_case(client: httpx.AsyncClient, statements: Any) -> None:
    small, small_count = await _case_with_items(client, 3)
    large, large_count = await _case_with_items(client, 60)
    assert (small_count, large_count) == (3, 60)

    with statements.count() as executed:
        response = await client.get(f"{API}/cases/{small}/timeline")
    assert response.status_code == 200 and len(response.json()["items"]) == 3
    small_statements = list(executed)

    with statements.count() as executed:
        response = await client.get(f"{API}/cases/{large}/timeline")
    assert response.status_code == 200 and len(response.json()["items"]) == 60
    large_statements = list(executed)

    assert len(large_statements) == len(small_statements), large_statements
    # The request's own session runs in a SAVEPOINT of the test's transaction: those two statements are
    # the harness's, not the timeline's (in service a request costs BEGIN/COMMIT instead).
    queries = [s for s in large_statements if not TRANSACTION_CONTROL.match(s)]
    assert len(large_statements) - len(queries) <= 2, large_statements
    assert len(queries) <= 8, queries
