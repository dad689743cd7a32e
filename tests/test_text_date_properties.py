"""Property tests (Hypothesis) over HTTP, on SQLite and PostgreSQL: whatever text or date a client sends,
in a body or a query parameter, the answer is a 2xx or a 4xx problem, never a 5xx; what is taken is
stored as the API says (NFC, no surrounding spaces, no control characters but tab, newline and CR);
and whatever is stored renders in every export of its case: JSON, CSV and TimelineJS timelines, the
hearings' iCalendar feeds, timeline.svg (well-formed XML) and the HTML case page.

Bodies are sent as JSON with ASCII escapes, so lone surrogates reach the server as a client can send them.
"""

import csv
import io
import json
import unicodedata
import xml.etree.ElementTree as ET
from typing import Any

import httpx
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from app.dates import EDTF_PATTERN
from app.schemas import WHITESPACE
from tests.helpers import API, make_case, make_person

PROPERTIES = settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    # One client (and one rolled-back transaction) serves every example; each example makes its own case.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


async def send(client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any]) -> httpx.Response:
    response = await client.request(
        method, f"{API}{path}", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert_not_a_server_error(response)
    return response


def assert_not_a_server_error(response: httpx.Response) -> None:
    request = f"{response.request.method} {response.request.url}"
    assert response.status_code < 500, f"{request}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), request


async def assert_every_export_renders(client: httpx.AsyncClient, case_id: str) -> str:
    """Every export of the case answers 200 and parses; returns all their text, for the caller to search."""
    texts = []
    timeline = await client.get(f"{API}/cases/{case_id}/timeline")
    assert timeline.status_code == 200, timeline.text
    texts.append(json.dumps(timeline.json(), ensure_ascii=False))
    table = await client.get(f"{API}/cases/{case_id}/timeline", params={"format": "csv"})
    assert table.status_code == 200, table.text
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert len(rows) == len(timeline.json()["items"])
    timelinejs = await client.get(f"{API}/cases/{case_id}/timeline", params={"format": "timelinejs"})
    assert timelinejs.status_code == 200, timelinejs.text
    texts.append(json.dumps(timelinejs.json(), ensure_ascii=False))
    for feed in (f"{API}/cases/{case_id}/hearings.ics", f"{API}/hearings.ics"):
        ics = await client.get(feed)
        assert ics.status_code == 200, ics.text
        calendar = Calendar.from_ical(ics.content)
        texts.append("\n".join(str(v) for e in calendar.walk("VEVENT") for v in e.values()))
    svg = await client.get(f"{API}/cases/{case_id}/timeline.svg")
    assert svg.status_code == 200, svg.text
    texts.append("".join(ET.fromstring(svg.content).itertext()))  # raises unless well-formed XML
    page = await client.get(f"/cases/{case_id}")
    assert page.status_code == 200, page.text
    return "\n".join(texts)


# --- text ----------------------------------------------------------------------------------------------

# Any code point (lone surrogates included), runs of the characters that matter here, and huge values.
ANY_CHARACTER = st.characters(codec=None, categories=None)
AWKWARD = st.sampled_from([*WHITESPACE, "\x00", "\x01", "\x08", "\x1b", "\x7f", "\x85", "\ufffe", "\uffff",
                           "\ud800", "\udfff", "\u0301", "e\u0301", "\u2adc", "\u0958", "\ufb2c", "\u202e", "\ufeff",
                           "<", "&", "]]>", '"', ",", "=", "\U0001f600"])  # fmt: skip
TEXT = st.one_of(
    st.text(ANY_CHARACTER, max_size=30),
    st.lists(st.one_of(AWKWARD, st.text(ANY_CHARACTER, max_size=3)), max_size=12).map("".join),
    st.tuples(st.sampled_from(["x", "é", "e\u0301", "\u2adc", "\U0001f600", " "]), st.integers(1, 2100)).map(
        lambda t: t[0] * t[1]
    ),
    st.sampled_from(["x" * 20_001, "\u2adc" * 20_000, "e\u0301" * 10_000]),
)

# (kind, field, is it short text?): a field of each kind of text, each of which some export shows.
TEXT_FIELDS = [
    ("cases", "title", True),
    ("cases", "summary", False),
    ("events", "title", True),
    ("events", "description", False),
    ("events", "quote", False),
    ("hearings", "location", True),
    ("hearings", "summary", False),
    ("charges", "description", True),
    ("charges", "statute", True),
    ("people", "name", True),
    ("people", "aliases", True),
    ("sources", "publisher", True),
]
REQUIRED = {
    "events": {"kind": "other", "date": "2015-12-08", "title": "An event"},
    "hearings": {"kind": "trial", "date": "2015-12-08"},
    "charges": {"description": "Libel", "date": "2015-12-08"},
}


def expected(value: str, short: bool) -> str:
    normal = unicodedata.normalize("NFC", value)
    return normal.strip(WHITESPACE) if short else normal


async def write_text(client: httpx.AsyncClient, case_id: str, kind: str, field: str, value: str) -> httpx.Response:
    if kind == "cases":
        return await send(client, "PATCH", f"/cases/{case_id}", {field: value})
    if kind == "sources":
        return await send(client, "POST", "/sources", {"title": "A report", field: value})
    if kind == "people":
        response = await send(
            client, "POST", "/people", {"name": value} if field == "name" else {"name": "P", field: [value]}
        )
        if response.status_code == 201:
            participant = {"person_id": response.json()["id"], "role": "defendant", "since": "2015"}
            assert (await send(client, "POST", f"/cases/{case_id}/participants", participant)).status_code == 201
        return response
    return await send(client, "POST", f"/cases/{case_id}/{kind}", {**REQUIRED[kind], field: value})


@PROPERTIES
@given(field=st.sampled_from(TEXT_FIELDS), value=TEXT)
@example(field=("events", "title", True), value="Ales\x0bBialiatski")  # not XML: timeline.svg would not parse
@example(field=("cases", "title", True), value="\u2adc" * 500)  # twice as long in NFC: beyond the column
@example(field=("charges", "statute", True), value="Art. " + "x" * 495)
@example(field=("sources", "publisher", True), value="x" * 500)
@example(field=("people", "name", True), value="Jose\u0301belle \ud800")
async def test_any_text_is_taken_or_refused_and_what_is_taken_renders_everywhere(
    client: httpx.AsyncClient, field: tuple[str, str, bool], value: str
) -> None:
    kind, name, short = field
    case = (await make_case(client, "Text"))["id"]
    response = await write_text(client, case, kind, name, value)
    if response.status_code >= 400:
        assert response.status_code == 422, response.text
        return
    stored = response.json()[name]
    assert (stored[0] if name == "aliases" else stored) == expected(value, short)
    exports = await assert_every_export_renders(client, case)
    if name in ("title", "name") and kind != "cases":
        shown = unicodedata.normalize("NFC", expected(value, short))
        assert shown.split()[0] in exports if shown.split() else True


SEARCH_TEXT = st.text(ANY_CHARACTER, min_size=1, max_size=40)


@PROPERTIES
@given(q=SEARCH_TEXT)
async def test_any_search_is_answered_alike_on_every_list(client: httpx.AsyncClient, q: str) -> None:
    for path in ("/people", "/organizations", "/cases"):
        response = await client.get(f"{API}{path}", params={"q": q})
        assert_not_a_server_error(response)
    page = await client.get("/", params={"q": q})
    assert page.status_code < 500, page.text[:300]


# Names made of letters with and without accents, in any case and normal form: each word of a stored name
# finds it, on both databases.
NAME_WORD = st.text(st.sampled_from("abcdeéèêëiïoôöuüñçßøłšžАБВГДЕЁЖЗИЙКабвгдеёжзийкΑΒΓαβγάέ"), min_size=1, max_size=8)


@PROPERTIES
@given(words=st.lists(NAME_WORD, min_size=1, max_size=3), form=st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]))
async def test_a_name_is_found_by_each_of_its_words_in_any_case_and_form(
    client: httpx.AsyncClient, words: list[str], form: str
) -> None:
    name = " ".join(words)
    person = await make_person(client, unicodedata.normalize(form, name))
    for word in words:
        for q in (word, word.upper(), unicodedata.normalize("NFD", word)):
            response = await client.get(f"{API}/people", params={"q": q, "limit": 500})
            assert response.status_code == 200, response.text
            assert person["id"] in [p["id"] for p in response.json()["items"]], (name, q)


# --- dates ---------------------------------------------------------------------------------------------

DATE_TEXT = st.one_of(
    st.from_regex(EDTF_PATTERN, fullmatch=True),
    st.sampled_from(
        [
            "9999-12-31",
            "9999-12",
            "9999",
            "999X",
            "99XX",
            "9999-XX-XX",
            "9999-23",
            "9998-24",
            "9999-24",
            "0001-01-01",
            "0001",
            "0000",
            "10000",
            "Y10000",
            "-0001",
            "0001/9999-12-31",
            "9999-12-31/0001",
            "2015-02-29",
            "2016-02-29",
            "2015/",
            "../2015",
            "2015-12-08T10:00:00",
            "1950S2",
            "[1667,1668]",
            "2004-06-~11",
            "9" * 100,
            "2015-12-08\x00",
            " 2015",
            "٢٠١٥",
            "２０１５",
        ]
    ),  # fmt: skip
    st.text(max_size=20),
    st.text(st.sampled_from("0123456789X-/?~%.S[]{},^ "), max_size=25),
)
DATE_FIELDS = [("hearings", "date"), ("events", "date"), ("charges", "date"), ("sentences", "start_date")]


@PROPERTIES
@given(date=DATE_TEXT)
@example(date="9999-12-31")  # the latest date taken: no day after it (iCalendar's exclusive end)
@example(date="9990/9999")
@example(date="0001-01-01")
async def test_any_date_is_taken_or_refused_alike_and_what_is_taken_renders_everywhere(
    client: httpx.AsyncClient, date: str
) -> None:
    case = (await make_case(client, "Dates"))["id"]
    statuses = set()
    for kind, name in DATE_FIELDS:  # the same date in a field of each kind: all take it, or all refuse it
        body = {**REQUIRED.get(kind, {}), name: date}
        if kind == "sentences":
            body |= {"person_id": (await make_person(client))["id"], "term_months": 1200}
        response = await send(client, "POST", f"/cases/{case}/{kind}", body)
        statuses.add(response.status_code)
        if response.status_code == 201:
            record = response.json()
            assert record[name] == date
            assert "0001-01-01" <= record[f"{name}_earliest"] <= record[f"{name}_latest"] <= "9999-12-31"
    assert statuses in ({201}, {422}), statuses
    if statuses == {201}:
        assert date in await assert_every_export_renders(client, case)


@PROPERTIES
@given(date=DATE_TEXT, param=st.sampled_from(["from", "to"]))
async def test_any_date_as_a_query_parameter_is_taken_or_refused(
    client: httpx.AsyncClient, date: str, param: str
) -> None:
    case = (await make_case(client, "Windows"))["id"]
    window = "date_from" if param == "from" else "date_to"
    for path, params in (
        (f"{API}/cases/{case}/timeline", {param: date}),
        (f"{API}/cases/{case}/events", {window: date}),
        (f"{API}/hearings.ics", {window: date}),
        (f"{API}/outcomes", {window: date}),
    ):
        response = await client.get(path, params=params)
        assert_not_a_server_error(response)
