"""The HTML pages, read as a browser would receive them, on SQLite and PostgreSQL: the case list with
its search and filters, the demo case told for a person, the 404 page, the documentation pages served
from the service itself, and the same visibility rules as the JSON API."""

import base64
import hashlib
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app import demo
from app.auth.roles import Role
from app.demo import load_demo
from app.sessions import make_sessionmaker
from app.web import humanize
from tests.helpers import API, make_case, make_person, post

CASE_PAGE = f"/cases/{demo.CASE_ID}"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list["Node | str"] = field(default_factory=list)

    @property
    def classes(self) -> list[str]:
        return self.attrs.get("class", "").split()

    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text() for c in self.children]
        return re.sub(r"\s+", " ", " ".join(parts)).strip()

    def all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list["Node"]:
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if (
                    (tag is None or child.tag == tag)
                    and (cls is None or cls in child.classes)
                    and all(child.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
                ):
                    found.append(child)
                found.extend(child.all(tag, cls, **attrs))
        return found

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> "Node":
        found = self.all(tag, cls, **attrs)
        assert len(found) == 1, f"expected one <{tag} class={cls} {attrs}>, found {len(found)}"
        return found[0]


class _TreeBuilder(HTMLParser):
    """A small DOM from html.parser; it also checks that every element the page opens it closes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], f"unclosed elements: {[n.tag for n in builder.stack[1:]]}"
    return builder.root


def assert_html_page(response: httpx.Response, status: int = 200) -> Node:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'none'" in csp and "frame-ancestors 'none'" in csp
    # What the policy forbids, the page does not need: no script, no inline style.
    assert "<script" not in response.text and "style=" not in response.text and "<style" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    doc = parse(response.text)
    assert doc.one("html").attrs["lang"] == "en"
    for landmark in ("header", "nav", "main", "footer"):
        assert doc.all(landmark), f"no <{landmark}>"
    levels = [int(n.tag[1]) for n in doc.all() if re.fullmatch(r"h[1-6]", n.tag)]
    assert levels.count(1) == 1 and levels[0] == 1, levels
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), f"a heading level is skipped: {levels}"
    ids = [n.attrs["id"] for n in doc.all() if "id" in n.attrs]
    assert len(ids) == len(set(ids)), "duplicate ids"
    return doc


async def load(connection: AsyncConnection) -> None:
    async with make_sessionmaker(connection, join_transaction_mode="create_savepoint")() as session:
        await load_demo(session)
        await session.commit()


@pytest.fixture
async def loaded(connection: AsyncConnection) -> None:
    await load(connection)


# The list of cases


async def test_case_list(anonymous: httpx.AsyncClient, loaded: None) -> None:
    doc = assert_html_page(await anonymous.get("/"))
    entry = doc.one("ol", "case-list").one("li")
    link = entry.one("a")
    assert link.attrs["href"] == CASE_PAGE and link.text() == "Vladimir Kozlov: the Zhanaozen unrest case"
    assert "Defendant: Vladimir Kozlov" in entry.text() and "Kazakhstan" in entry.text()
    assert doc.one("form").attrs["role"] == "search"
    assert [o.attrs["value"] for o in doc.one("select", id="country").all("option")] == ["", "KZ"]
    assert doc.one("link", rel="alternate").attrs["href"] == f"{API}/cases"


SEARCHES: list[tuple[dict[str, str], bool]] = [
    ({"q": "Zhanaozen"}, True),
    ({"q": "козлов"}, True),  # the defendant's alias; the case's own text is in English
    ({"q": "nothing-of-the-kind"}, False),
    ({"country": "KZ"}, True),
    ({"country": "kz"}, True),
    ({"country": "BY"}, False),
    ({"status": "imprisoned"}, True),
    ({"status": "released"}, False),
    ({"q": "", "country": "", "status": ""}, True),  # an empty form is no filter
    ({"q": "kozlov", "country": "KZ", "status": "imprisoned"}, True),
]


async def test_case_list_search_and_filters(anonymous: httpx.AsyncClient, loaded: None) -> None:
    for query, found in SEARCHES:
        doc = assert_html_page(await anonymous.get("/", params=query))
        titles = [a.text() for a in doc.all("a") if a.attrs.get("href") == CASE_PAGE]
        assert titles == (["Vladimir Kozlov: the Zhanaozen unrest case"] if found else []), query
        if not found:
            assert "No case matches this search." in doc.one("main").text()
        # The JSON link carries the same filters.
        alternate = doc.one("link", rel="alternate").attrs["href"]
        api = await anonymous.get(alternate)
        assert api.status_code == 200 and len(api.json()["items"]) == (1 if found else 0), (query, alternate)


async def test_case_list_bad_filters_are_explained(anonymous: httpx.AsyncClient, loaded: None) -> None:
    for query, says in [
        ({"status": "jailed"}, "'jailed' is not one of"),
        ({"country": "Kazakhstan"}, "not a two-letter country code"),
        ({"q": "!!!"}, "give at least one word"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ]:
        doc = assert_html_page(await anonymous.get("/", params=query), status=400)
        alert = doc.one(cls="problems")
        assert alert.attrs["role"] == "alert" and says in alert.text(), query


async def test_case_list_pages(client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    for n in range(27):
        await make_case(client, f"Case {n:02d}")
    first = assert_html_page(await anonymous.get("/"))
    more = first.one("a", rel="next").attrs["href"]
    second = assert_html_page(await anonymous.get(more))
    titles = [a.text() for page in (first, second) for a in page.one("ol", "case-list").all("a")]
    assert titles == [f"Case {n:02d}" for n in range(27)]
    assert not second.all("a", rel="next")


# The case page


async def test_case_page_tells_who_is_held_for_how_long_and_that_parole_was_denied(
    anonymous: httpx.AsyncClient, loaded: None
) -> None:
    doc = assert_html_page(await anonymous.get(CASE_PAGE))
    assert doc.one("h1").text() == "Vladimir Kozlov: the Zhanaozen unrest case"
    glance = doc.one("section", "glance")
    said = glance.text()
    assert "Defendant Vladimir Kozlov — imprisoned" in said
    assert "Vladimir Kozlov: 7 years 6 months of imprisonment" in said
    assert "Began 2011 to March 7, 2012 (uncertain)" in said
    assert "Full term ends between July 1, 2018 and September 7, 2019" in said
    assert "Parole may be sought (after half the term) between October 1, 2014 and December 7, 2015" in said
    assert "Held at Jail outside Almaty" in said
    # The latest decision comes first, marked as going against him.
    latest = glance.one("ul", "decisions").all("li")[0]
    assert "tone-adverse" in latest.classes
    assert latest.text().startswith("Decision Parole denied December 8, 2015 (uncertain)")


async def test_case_page_who_is_who_charges_hearings(anonymous: httpx.AsyncClient, loaded: None) -> None:
    doc = assert_html_page(await anonymous.get(CASE_PAGE))
    roles = {section.one("h3").text(): section.text() for section in doc.all("section", "role")}
    assert set(roles) == {"Defendant", "Lawyer", "Spouse", "Judge"}
    assert "Vladimir Kozlov" in roles["Defendant"]
    assert "Aiman Umarova" in roles["Lawyer"] and "Aliya Turusbekova" in roles["Spouse"]
    assert "Unnamed judge" in roles["Judge"] and "Since December 8, 2015 (uncertain)" in roles["Judge"]
    charges = doc.one(id="charges-heading")
    assert charges.text() == "Charges"
    assert "Inciting violence in the western oil town of Zhanaozen in 2011" in doc.text()
    hearing = doc.one("section", "hearing")
    assert "closed" in hearing.classes
    assert hearing.one("h3").text() == "Parole hearing, December 8, 2015 (uncertain) Closed hearing"
    assert "Open to the public no" in hearing.text() and "Decided Parole denied" in hearing.text()


async def test_case_page_chronology(anonymous: httpx.AsyncClient, loaded: None) -> None:
    timeline = (await anonymous.get(f"{API}/cases/{demo.CASE_ID}/timeline")).json()["items"]
    doc = assert_html_page(await anonymous.get(CASE_PAGE))
    entries = doc.one("ol", "chronology").all("li")
    assert [e.attrs["data-earliest"] for e in entries] == [i["date_earliest"] for i in timeline]
    assert [e.one("p", "title").text().split(" [")[0] for e in entries] == [i["title"] for i in timeline]
    when = [e.one("p", "when").text() for e in entries]
    for phrase in (
        "summer 2015",
        "2012 to December 2015",
        "December 8, 2015 (uncertain)",
        "2011 to March 7, 2012 (uncertain)",
        "2011",
    ):
        assert phrase in when, f"{phrase!r} not among {when}"
    assert "summer 2015 to December 2015" in when
    denial = next(e for e in entries if "Parole denied" in e.text())
    assert "tone-adverse" in denial.classes and denial.one("span", "badge-adverse").text() == "Decision"
    closed = next(e for e in entries if "item-hearing" in e.classes)
    assert "closed" in closed.classes and closed.one("span", "badge-closed").text() == "Closed hearing"
    speech = next(e for e in entries if "denies any crime" in e.text())
    assert speech.one("blockquote").text().startswith("“I have not committed any crimes.")


async def test_every_fact_links_to_its_sources(anonymous: httpx.AsyncClient, loaded: None) -> None:
    doc = assert_html_page(await anonymous.get(CASE_PAGE))
    sources = doc.one("ol", "sources").all("li")
    anchors = {li.attrs["id"] for li in sources}
    assert anchors == {f"source-{s}" for s in (demo.ARTICLE, demo.UMAROVA_POSTS, demo.TURUSBEKOVA_POSTS)}
    cites = doc.all("a", "cite")
    assert {c.attrs["href"] for c in cites} == {f"#{a}" for a in anchors}
    for entry in doc.one("ol", "chronology").all("li"):
        assert entry.all("a", "cite"), f"no source for {entry.text()}"
    denial = next(e for e in doc.one("ol", "chronology").all("li") if "Parole denied" in e.text())
    cited = {c.attrs["href"] for c in denial.all("a", "cite")}
    assert cited == {f"#source-{demo.ARTICLE}", f"#source-{demo.UMAROVA_POSTS}"}
    article = doc.one("li", id=f"source-{demo.ARTICLE}")
    assert "Kazakhstan: Jailed Opposition Leader Refused Parole" in article.text()
    # Each citation names its source for screen readers.
    assert all(c.attrs["aria-label"].startswith("Source ") for c in cites)


async def test_case_page_links_to_the_json_it_was_made_from(anonymous: httpx.AsyncClient, loaded: None) -> None:
    doc = assert_html_page(await anonymous.get(CASE_PAGE))
    links = [a.attrs["href"] for a in doc.one("section", "data-links").all("a")]
    case_json, timeline_json, svg = links
    assert case_json.startswith(f"{API}/cases/{demo.CASE_ID}?include=")
    assert timeline_json == f"{API}/cases/{demo.CASE_ID}/timeline"
    assert svg == f"{API}/cases/{demo.CASE_ID}/timeline.svg"
    body = (await anonymous.get(case_json)).json()
    assert body["title"] == doc.one("h1").text()
    assert {p["name"] for p in body["people"]} >= {"Vladimir Kozlov", "Aiman Umarova", "Aliya Turusbekova"}
    assert len((await anonymous.get(timeline_json)).json()["items"]) == len(doc.one("ol", "chronology").all("li"))
    assert (await anonymous.get(svg)).headers["content-type"] == "image/svg+xml"
    # The picture is in the page itself, so it is drawn with the same viewer as the page.
    figure = doc.one("figure", "timeline-figure")
    assert figure.one("svg").one("title", id="tl-title").text().startswith("Timeline of the case")


async def test_missing_case_is_an_html_404(anonymous: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    doc = assert_html_page(await anonymous.get("/cases/0123456789abcdef0123456789abcdef"), status=404)
    assert doc.one("h1").text() == "Case not found"
    assert doc.one("main").one("a").attrs["href"] == "/"
    deleted = await make_case(client, "A deleted case")
    assert (await client.delete(f"{API}/cases/{deleted['id']}")).status_code == 204
    assert_html_page(await anonymous.get(f"/cases/{deleted['id']}"), status=404)
    assert_html_page(await anonymous.get("/cases/" + "x" * 300), status=404)
    assert_html_page(await anonymous.get("/cases/%00"), status=404)
    for query in ({"q": "a\x00b"}, {"country": "K\x00"}, {"status": "\x00"}, {"cursor": "\x00"}):
        assert (await anonymous.get("/", params=query)).status_code in (200, 400), query


async def test_a_bad_token_gets_an_html_401(client_as: Any) -> None:
    stranger = await client_as("ct_not-a-token")
    response = await stranger.get("/")
    doc = assert_html_page(response, status=401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "unknown or has been revoked" in doc.one("main").text()


async def test_user_text_is_escaped(client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    case = await make_case(client, '<script>alert(1)</script> & "quotes"', summary="<img src=x onerror=alert(2)>")
    await post(client, f"/cases/{case['id']}/events", {"kind": "other", "date": "2020", "title": "<b>bold</b>"})
    response = await anonymous.get(f"/cases/{case['id']}")
    doc = assert_html_page(response)
    assert doc.one("h1").text() == '<script>alert(1)</script> & "quotes"'
    assert "<img src=x" not in response.text and "&lt;img src=x onerror=alert(2)&gt;" in response.text
    assert "<b>bold</b>" not in response.text
    listing = await anonymous.get("/")
    assert "<script>alert(1)</script>" not in listing.text and "&lt;script&gt;" in listing.text


async def test_only_web_addresses_become_links(client: httpx.AsyncClient, anonymous: httpx.AsyncClient) -> None:
    web = await post(client, "/sources", {"title": "A web page", "url": "https://example.org/report?a=1&b=2"})
    trap = await post(client, "/sources", {"title": "A trap", "url": "javascript:alert(document.cookie)"})
    case = await make_case(client, "Linked case", source_ids=[web["id"], trap["id"]])
    doc = assert_html_page(await anonymous.get(f"/cases/{case['id']}"))
    links = {a.text(): a.attrs["href"] for a in doc.one("ol", "sources").all("a")}
    assert links == {"A web page": "https://example.org/report?a=1&b=2"}
    assert "javascript:alert(document.cookie)" in doc.one("li", id=f"source-{trap['id']}").text()  # shown, not linked


# Visibility: the pages obey the same rules as the API


async def _restricted_records(client: httpx.AsyncClient) -> dict[str, Any]:
    hidden_person = await make_person(client, "Hidden Witness", restricted=True)
    await post(client, f"/cases/{demo.CASE_ID}/participants", {"person_id": hidden_person["id"], "role": "witness"})
    await post(
        client,
        f"/cases/{demo.CASE_ID}/events",
        {"kind": "transfer", "date": "2016-03", "title": "Secret transfer to another colony", "restricted": True},
    )
    secret_source = await post(client, "/sources", {"title": "Confidential letter from the colony", "restricted": True})
    await post(
        client,
        f"/cases/{demo.CASE_ID}/events",
        {"kind": "visit", "date": "2016-04", "title": "Consul visits", "source_ids": [secret_source["id"]]},
    )
    secret_case = await make_case(client, "Sealed prosecution of a witness", country="KZ", restricted=True)
    return {"case": secret_case}


SECRETS = ("Hidden Witness", "Secret transfer to another colony", "Confidential letter from the colony")


async def test_restricted_records_never_reach_anonymous_pages(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, loaded: None
) -> None:
    made = await _restricted_records(client)
    page = await anonymous.get(CASE_PAGE)
    assert_html_page(page)
    for secret in SECRETS:
        assert secret not in page.text
    assert "Consul visits" in page.text  # the public event is there, without its hidden source
    listing = await anonymous.get("/", params={"q": "sealed"})
    assert "Sealed prosecution" not in listing.text
    assert "Sealed prosecution" not in (await anonymous.get("/")).text
    assert_html_page(await anonymous.get(f"/cases/{made['case']['id']}"), status=404)


async def test_a_reader_sees_restricted_records_marked(client: httpx.AsyncClient, client_as: Any, loaded: None) -> None:
    made = await _restricted_records(client)
    reader = await client_as(Role.reader)
    page = await reader.get(CASE_PAGE)
    doc = assert_html_page(page)
    for secret in SECRETS:
        assert secret in page.text, secret
    transfer = next(e for e in doc.one("ol", "chronology").all("li") if "Secret transfer" in e.text())
    assert transfer.one("span", "badge-restricted").text() == "Restricted"
    assert "signed in with the token" in doc.one("footer").text()
    assert "Sealed prosecution" in (await reader.get("/", params={"q": "sealed"})).text
    sealed = assert_html_page(await reader.get(f"/cases/{made['case']['id']}"))
    assert sealed.one("h1").text() == "Sealed prosecution of a witness"


async def test_case_page_statements_do_not_grow_with_the_case(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, statements: Any
) -> None:
    case = await make_case(client, "Growing case")
    counts = []
    for size in (1, 12):
        while len((await anonymous.get(f"{API}/cases/{case['id']}/events")).json()["items"]) < size:
            await post(client, f"/cases/{case['id']}/events", {"kind": "other", "date": "2020", "title": "Event"})
        with statements.count() as executed:
            assert (await anonymous.get(f"/cases/{case['id']}")).status_code == 200
        counts.append(len(executed))
    assert counts[0] == counts[1], counts


# The API documentation


@pytest.mark.parametrize(
    ("path", "assets"),
    [
        ("/docs", ["/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/vendor/swagger-ui/swagger-ui.css"]),
        ("/redoc", ["/static/vendor/redoc/redoc.standalone.js"]),
    ],
)
async def test_docs_are_served_from_the_service(anonymous: httpx.AsyncClient, path: str, assets: list[str]) -> None:
    response = await anonymous.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    referenced = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert set(assets) <= set(referenced)
    assert all(url.startswith("/") for url in referenced), referenced  # nothing from elsewhere
    assert "cdn." not in html and "fonts.googleapis" not in html
    for asset in assets:
        served = await anonymous.get(asset)
        assert served.status_code == 200 and len(served.content) > 100_000
        assert served.headers["content-type"].split(";")[0] in ("text/javascript", "application/javascript", "text/css")
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "connect-src 'self'" in csp and "http" not in csp
    for script in re.findall(r"<script>(.*?)</script>", html, re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp  # the one inline bootstrap script, allowed by its hash only
    assert "'unsafe-eval'" not in csp and ("'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0])


async def test_docs_are_not_in_the_openapi_document(anonymous: httpx.AsyncClient) -> None:
    paths = (await anonymous.get("/openapi.json")).json()["paths"]
    assert not {"/", "/docs", "/redoc", "/cases/{case_id}"} & set(paths)
    assert f"{API}/cases/{{case_id}}/timeline.svg" in paths


@pytest.mark.parametrize(
    ("edtf", "said"),
    [
        ("2015-12-08", "December 8, 2015"),
        ("2015-12-08?", "December 8, 2015 (uncertain)"),
        ("2015-12-08~", "about December 8, 2015"),
        ("2015-12-08%", "about December 8, 2015 (uncertain)"),
        ("2015-12", "December 2015"),
        ("2015", "2015"),
        ("2012~", "about 2012"),
        ("2015-22", "summer 2015"),
        ("2015-21", "spring 2015"),
        ("2015-23", "autumn 2015"),
        ("2015-24", "winter 2015–16"),
        ("2012/2015-12", "2012 to December 2015"),
        ("2015-22/2015-12", "summer 2015 to December 2015"),
        ("201X", "201X (2010 to 2019)"),
        (None, "date unknown"),
    ],
)
def test_dates_as_people_say_them(edtf: str | None, said: str) -> None:
    from app.dates import edtf_bounds

    bounds = edtf_bounds(edtf) if edtf else None
    assert humanize.edtf(edtf, bounds and bounds.earliest, bounds and bounds.latest) == said


def test_derived_ranges_and_terms() -> None:
    import datetime as dt

    assert humanize.edtf("2019-07-01/2020-06-30", "2019-07-01", "2020-06-30") == (
        "between July 1, 2019 and June 30, 2020"
    )
    assert humanize.span(dt.date(2015, 1, 1), dt.date(2016, 12, 31)) == "2015 to 2016"
    assert humanize.span(dt.date(2015, 2, 1), dt.date(2015, 2, 28)) == "February 2015"
    assert [humanize.term(m) for m in (90, 12, 1, 0, None)] == [
        "7 years 6 months",
        "1 year",
        "1 month",
        "0 months",
        "term not recorded",
    ]
    assert [humanize.fraction(f) for f in (0.5, 2 / 3, 0.25, 1.0)] == ["half", "2/3", "a quarter", "all"]
