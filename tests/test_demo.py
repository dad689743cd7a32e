"""The demo case (the seed article "Kazakhstan: Jailed Opposition Leader Refused Parole"), loaded through
app.demo.load_demo and read back through the HTTP API; and the `casetrack demo` / `migrate` commands."""

import asyncio
import datetime as dt
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app import demo
from app.config import async_database_url
from app.demo import load_demo
from app.errors import Invalid
from app.migrate import current_heads
from app.models import Base
from app.sessions import make_sessionmaker
from tests.databases import throwaway_database
from tests.helpers import API, KINDS, assert_problem, collection, make_case, post

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ARTICLE_TITLE = "Kazakhstan: Jailed Opposition Leader Refused Parole"


async def load(connection: AsyncConnection) -> int:
    """Run load_demo in its own session, committed into a savepoint of the test's transaction."""
    async with make_sessionmaker(connection, join_transaction_mode="create_savepoint")() as session:
        created = await load_demo(session)
        await session.commit()
    return created


async def row_counts(connection: AsyncConnection) -> dict[str, int]:
    return {
        name: await connection.scalar(select(func.count()).select_from(table))
        for name, table in Base.metadata.tables.items()
    }


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(f"{API}{path}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def items(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    body = await get(client, path, limit="500", **params)
    assert body["next"] is None
    return body["items"]


@pytest.fixture
async def loaded(connection: AsyncConnection) -> int:
    return await load(connection)


async def test_article_is_a_source(client: httpx.AsyncClient, loaded: int) -> None:
    article = await get(client, f"/sources/{demo.ARTICLE}")
    assert article["title"] == ARTICLE_TITLE
    posts = await get(client, f"/sources/{demo.UMAROVA_POSTS}")
    assert "Umarova" in posts["title"] and posts["publisher"] == "Facebook"


async def test_people_and_their_roles(client: httpx.AsyncClient, loaded: int) -> None:
    people = {p: await get(client, f"/people/{p}") for p in (demo.KOZLOV, demo.UMAROVA, demo.TURUSBEKOVA)}
    assert people[demo.KOZLOV]["name"] == "Vladimir Kozlov"
    assert people[demo.UMAROVA]["name"] == "Aiman Umarova"
    assert people[demo.TURUSBEKOVA]["name"] == "Aliya Turusbekova"
    judge = await get(client, f"/people/{demo.JUDGE}")
    assert "judge" in judge["name"].lower()
    assert "Unnamed" in judge["name"]  # the article does not name the judge; the demo does not invent one
    assert "negative attitude" in judge["description"]

    participants = await items(client, f"/cases/{demo.CASE_ID}/participants")
    roles = {p["person_id"]: p["role"] for p in participants}
    assert roles == {
        demo.KOZLOV: "defendant",
        demo.UMAROVA: "lawyer",
        demo.TURUSBEKOVA: "spouse",
        demo.JUDGE: "judge",
    }
    # Nazarbayev is named in a charge, not a participant of the case.
    assert demo.NAZARBAYEV not in roles
    nazarbayev = await get(client, f"/people/{demo.NAZARBAYEV}")
    assert nazarbayev["name"] == "Nursultan Nazarbayev"


async def test_charges_both_convicted_one_naming_nazarbayev(client: httpx.AsyncClient, loaded: int) -> None:
    charges = await items(client, f"/cases/{demo.CASE_ID}/charges")
    assert len(charges) == 2
    assert {c["status"] for c in charges} == {"convicted"}
    assert {c["person_id"] for c in charges} == {demo.KOZLOV}
    by_text = {("overthrow" in c["description"].lower()): c for c in charges}
    assert set(by_text) == {True, False}
    assert by_text[True]["named_person_ids"] == [demo.NAZARBAYEV]
    assert "Nazarbayev" in by_text[True]["description"]
    assert "inciting violence" in by_text[False]["description"].lower()
    assert "Zhanaozen" in by_text[False]["description"] and "2011" in by_text[False]["description"]


async def test_organizations(client: httpx.AsyncClient, loaded: int) -> None:
    prison = await get(client, f"/organizations/{demo.PRISON}")
    assert (prison["name"], prison["kind"]) == ("Jail outside Almaty", "prison")
    party = await get(client, f"/organizations/{demo.PARTY}")
    assert party["kind"] == "party"
    europarl = await get(client, f"/organizations/{demo.EUROPARL}")
    assert europarl["name"] == "European Parliament"
    washington = await get(client, f"/organizations/{demo.US_GOVERNMENT}")
    assert "Washington" in washington["name"]
    rapporteur = await get(client, f"/organizations/{demo.UN_RAPPORTEUR}")
    assert "United Nations rapporteur" in rapporteur["name"]
    groups = await get(client, f"/organizations/{demo.RIGHTS_GROUPS}")
    assert "rights groups" in groups["name"].lower()


async def test_sentence(client: httpx.AsyncClient, loaded: int) -> None:
    [sentence] = await items(client, f"/cases/{demo.CASE_ID}/sentences")
    assert sentence["person_id"] == demo.KOZLOV
    assert sentence["kind"] == "imprisonment"
    assert sentence["term_months"] == 90  # seven and a half years
    assert sentence["parole_fraction"] == 0.5
    assert sentence["facility_id"] == demo.PRISON
    # The article gives no start: it is derived from what the article says (see the next test), and the
    # sentence's note says how.
    assert sentence["start_date"] == "2011/2012-03-07?"
    assert "45 months" in sentence["note"] and "8 December 2015" in sentence["note"]


async def test_parole_eligibility_precedes_the_application_and_the_hearing(
    client: httpx.AsyncClient, loaded: int
) -> None:
    # The article: he applied for parole after serving half of his 7.5-year term, and the application was
    # heard (and rejected) on December 8. So half the term had run before he applied, and he applied
    # before the hearing; the full term had not run (he remains behind bars).
    [sentence] = await items(client, f"/cases/{demo.CASE_ID}/sentences")
    [hearing] = await items(client, f"/cases/{demo.CASE_ID}/hearings")
    [filing] = [e for e in await items(client, f"/cases/{demo.CASE_ID}/events") if e["kind"] == "filing"]
    eligible_by = dt.date.fromisoformat(sentence["parole_eligible_on_latest"])
    applied_by = dt.date.fromisoformat(filing["date_latest"])
    heard_on = dt.date.fromisoformat(hearing["date_earliest"])
    assert eligible_by <= applied_by < heard_on
    assert dt.date.fromisoformat(filing["date_earliest"]) == dt.date.fromisoformat(
        sentence["parole_eligible_on_earliest"]
    )
    assert (sentence["parole_eligible_on_earliest"], sentence["parole_eligible_on_latest"]) == (
        "2014-10-01",
        "2015-12-07",
    )
    assert dt.date.fromisoformat(sentence["ends_on_earliest"]) > heard_on


async def test_parole_hearing_and_its_outcome(client: httpx.AsyncClient, loaded: int) -> None:
    [hearing] = await items(client, f"/cases/{demo.CASE_ID}/hearings")
    assert hearing["kind"] == "parole"
    assert hearing["public"] is False  # journalists and campaigners were not admitted
    assert hearing["date"] == "2015-12-08?"
    assert hearing["judge_id"] == demo.JUDGE
    assert "Almaty" in hearing["location"]

    outcomes = await items(client, f"/cases/{demo.CASE_ID}/outcomes")
    denied = [o for o in outcomes if o["kind"] == "parole_denied"]
    assert len(denied) == 1
    assert denied[0]["hearing_id"] == hearing["id"]
    assert denied[0]["date"] == "2015-12-08?"
    assert denied[0]["person_id"] == demo.KOZLOV


async def test_events(client: httpx.AsyncClient, loaded: int) -> None:
    events = await items(client, f"/cases/{demo.CASE_ID}/events")
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_kind.setdefault(event["kind"], []).append(event)

    speeches = [e for e in by_kind["statement"] if e["quote"] and "I have not committed any crimes" in e["quote"]]
    assert len(speeches) == 1
    assert demo.KOZLOV in speeches[0]["person_ids"]
    assert "I did not call for unrest" in speeches[0]["quote"]
    assert any("clown show and not a court" in (e["quote"] or "") for e in by_kind["statement"])

    [regime] = by_kind["detention_change"]
    assert regime["date"] == "2015-22"  # summer 2015
    assert (regime["date_earliest"], regime["date_latest"]) == ("2015-06-01", "2015-08-31")
    [visit] = by_kind["visit"]
    assert visit["date"].startswith("2015-22")  # unable to visit since the summer
    assert visit["date_earliest"] == "2015-06-01"
    assert demo.TURUSBEKOVA in visit["person_ids"]

    [incident] = by_kind["incident"]
    assert incident["date"] == "2011"
    assert "15 civilians" in incident["title"] + incident["description"]
    assert "Zhanaozen" in incident["title"]

    reactions = by_kind["reaction"]
    behind = {org for e in reactions for org in e["organization_ids"]}
    assert behind == {demo.EUROPARL, demo.US_GOVERNMENT, demo.UN_RAPPORTEUR, demo.RIGHTS_GROUPS}

    [filing] = by_kind["filing"]
    assert demo.KOZLOV in filing["person_ids"]
    assert any(demo.PARTY in e["organization_ids"] for e in events)


async def test_every_fact_cites_the_article(client: httpx.AsyncClient, loaded: int) -> None:
    records = [await get(client, f"/cases/{demo.CASE_ID}")]
    for kind in ("participants", "charges", "sentences", "hearings", "outcomes", "events"):
        found = await items(client, f"/cases/{demo.CASE_ID}/{kind}")
        assert found, kind
        records += found
    for person in (demo.KOZLOV, demo.UMAROVA, demo.TURUSBEKOVA, demo.JUDGE, demo.NAZARBAYEV):
        records.append(await get(client, f"/people/{person}"))
    for org in (demo.PRISON, demo.PARTY, demo.EUROPARL, demo.US_GOVERNMENT, demo.UN_RAPPORTEUR, demo.RIGHTS_GROUPS):
        records.append(await get(client, f"/organizations/{org}"))
    assert len(records) == 1 + 4 + 2 + 1 + 1 + 3 + 12 + 5 + 6
    uncited = [r["id"] for r in records if demo.ARTICLE not in r["source_ids"]]
    assert uncited == []
    # Facts taken from the Facebook posts cite them as well.
    [hearing] = await items(client, f"/cases/{demo.CASE_ID}/hearings")
    assert demo.UMAROVA_POSTS in hearing["source_ids"]


# The demo's timeline, in the order the rule gives (latest possible day first, then earliest day, then
# hearing, participant, charge, event, outcome, sentence, then the order of entry), written out by hand:
DEMO_STORY = [
    "Kozlov's party offers support to striking oil workers",  # 2011
    "Oil-sector strike in Zhanaozen turns violent: 15 civilians killed",  # 2011, entered after the support
    "Sentence begins: 90 months of imprisonment",  # 2011/2012-03-07?: the term counts from detention
    "Convicted",  # 2012?
    "Sentenced",  # 2012?, entered after the conviction
    "Placed on a stricter detention regime",  # summer 2015
    "Kozlov applies for parole",  # 2014-10/2015-12-07?: before the hearing
    "Parole hearing at Jail outside Almaty (closed to the public)",  # 2015-12-08?: the hearing first
    "Unnamed judge (Kozlov parole hearing): judge from here on",  # who sat at it
    "Kozlov denies any crime at his parole hearing",  # what was said at it
    "Lawyer complains of the judge's attitude",
    "Parole denied",  # its outcome
    "European Parliament resolutions on the case",  # 2012/2015-12: known only by the end of 2015-12
    "Washington expresses concern",
    "A United Nations rapporteur expresses concern",
    "International human rights groups express concern",
    "Wife unable to visit since the summer",  # 2015-22/2015-12: after its cause, the stricter regime
    'Wife calls the hearing "a clown show and not a court"',  # 2015-12?: after the hearing it describes
]


async def test_timeline_tells_the_story_in_order(client: httpx.AsyncClient, loaded: int) -> None:
    timeline = (await get(client, f"/cases/{demo.CASE_ID}/timeline"))["items"]
    assert [i["title"] for i in timeline] == DEMO_STORY
    descending = (await get(client, f"/cases/{demo.CASE_ID}/timeline", order="desc"))["items"]
    assert [i["title"] for i in descending] == DEMO_STORY[::-1]
    for order in ("asc", "desc"):
        paged: list[str] = []
        cursor = None
        while True:
            page = await get(
                client,
                f"/cases/{demo.CASE_ID}/timeline",
                order=order,
                limit="2",
                **({"cursor": cursor} if cursor else {}),
            )
            paged += [i["title"] for i in page["items"]]
            if (cursor := page["next"]) is None:
                break
        assert paged == (DEMO_STORY if order == "asc" else DEMO_STORY[::-1])


async def test_demo_is_searchable(client: httpx.AsyncClient, loaded: int) -> None:
    for q in ("Vladimir Kozlov", "Козлов", "владимир"):
        found = await items(client, "/people", q=q)
        assert [p["id"] for p in found] == [demo.KOZLOV], q
    # "Kozlov" is also in the others' descriptions ("Kozlov's lawyer"...): every one of them is found.
    found = await items(client, "/people", q="Kozlov")
    assert {p["id"] for p in found} == {demo.KOZLOV, demo.UMAROVA, demo.TURUSBEKOVA, demo.JUDGE, demo.NAZARBAYEV}
    events = await items(client, "/events", q="civilians")
    assert {e["kind"] for e in events} == {"incident"}


# The demo writes through the API's own create services: each of its records is what the same body POSTed
# through the API makes, is audited as any create is (by the system), and is refused where the API refuses.

# (kind, the demo's records of that kind): every record the demo creates, keyed as demo_id keys it.
DEMO_RECORDS: list[tuple[str, list[tuple[str, dict[str, Any]]]]] = [
    ("sources", demo.SOURCES),
    ("people", demo.PEOPLE),
    ("organizations", demo.ORGANIZATIONS),
    ("cases", [("case", demo.CASE)]),
    ("participants", demo.PARTICIPANTS),
    ("charges", demo.CHARGES),
    ("sentences", demo.SENTENCES),
    ("hearings", demo.HEARINGS),
    ("outcomes", demo.OUTCOMES),
    ("events", demo.EVENTS),
]
SYSTEM_FIELDS = {"id", "created_at", "updated_at"}


def api_body(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The demo's facts as an API client would send them: citing the article, and the posts they quote."""
    body = {k: v for k, v in payload.items() if k != "extra_sources"}
    if kind != "sources":
        body["source_ids"] = [demo.ARTICLE, *payload.get("extra_sources", [])]
    return body


def own_fields(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in SYSTEM_FIELDS}


async def test_each_demo_record_is_what_the_api_makes_of_the_same_body(client: httpx.AsyncClient, loaded: int) -> None:
    compared = 0
    for kind, rows in DEMO_RECORDS:
        for key, payload in rows:
            stored = await get(client, f"/{kind}/{demo.demo_id(key)}")
            response = await client.post(f"{API}{collection(kind, demo.CASE_ID)}", json=api_body(kind, payload))
            assert response.status_code == 201, response.text
            posted = response.json()
            # Computed fields (date bounds, parole eligibility, end of term), links and citations alike; a read
            # may add more than a create answers (a person's participations), hence the created record's fields.
            assert own_fields({k: stored[k] for k in posted}) == own_fields(posted), (kind, key)
            compared += 1
    assert compared == loaded


async def test_each_demo_record_is_audited_as_created_by_the_system(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # An API create first, to compare the shape of its entry with the demo's.
    person = await post(client, "/people", {"name": "Someone else"})
    [api_entry] = (await get(client, f"/people/{person['id']}/history"))["items"]
    assert await load(connection) > 0
    audited = 0
    for kind, rows in DEMO_RECORDS:
        for key, _ in rows:
            record_id = demo.demo_id(key)
            record = await get(client, f"/{kind}/{record_id}")
            [entry] = (await get(client, f"/{kind}/{record_id}/history"))["items"]
            assert set(entry) == set(api_entry)
            assert (entry["action"], entry["actor"], entry["record_id"]) == ("create", "system", record_id)
            assert entry["before"] is None
            assert entry["after"] == {k: record[k] for k in entry["after"]}
            audited += 1
    system = await items(client, "/audit", actor="system")
    assert len(system) == audited


async def test_the_demo_is_refused_where_the_api_refuses(
    client: httpx.AsyncClient, connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    await load(connection)
    # An outcome may only follow a hearing of its own case; a participant only name a live person.
    other_case = await make_case(client, "Another case")
    elsewhere = await post(client, f"/cases/{other_case['id']}/hearings", {"kind": "trial", "date": "2016"})
    gone = await post(client, "/people", {"name": "Deleted person"})
    assert (await client.delete(f"{API}/people/{gone['id']}")).status_code == 204
    wrong: list[tuple[str, str, dict[str, Any]]] = [
        ("OUTCOMES", "outcomes", {"kind": "acquitted", "date": "2016", "hearing_id": elsewhere["id"]}),
        ("PARTICIPANTS", "participants", {"person_id": gone["id"], "role": "witness"}),
    ]
    for name, kind, payload in wrong:
        response = await client.post(f"{API}/cases/{demo.CASE_ID}/{kind}", json=api_body(kind, payload))
        problem = assert_problem(response, 422)
        with monkeypatch.context() as patched:
            patched.setattr(demo, name, [*getattr(demo, name), (f"wrong-{kind}", payload)])
            with pytest.raises(Invalid) as refused:
                await load(connection)
        assert refused.value.detail == problem["detail"], kind
    assert await load(connection) == 0


async def test_loading_twice_creates_nothing_the_second_time(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    before = await row_counts(connection)
    created = await load(connection)
    after_first = await row_counts(connection)
    new_records = sum(after_first[t] - before[t] for t in KINDS)
    assert created == new_records
    assert after_first["cases"] == before["cases"] + 1
    assert after_first["events"] == before["events"] + 12

    assert await load(connection) == 0
    assert await row_counts(connection) == after_first
    participants = await items(client, f"/cases/{demo.CASE_ID}/participants")
    assert len(participants) == 4


# The command line.


async def run_cli(*args: str, database_url: str, cwd: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASETRACK_") and k != "DATABASE_URL"}
    env["DATABASE_URL"] = database_url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as db:
        return {name: db.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in Base.metadata.tables}


async def test_cli_demo_twice_on_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    url = f"sqlite:///{path}"

    code, out, err = await run_cli("demo", database_url=url, cwd=tmp_path)
    assert code == 0, err
    first = sqlite_counts(path)
    records = sum(first[t] for t in KINDS)
    assert out.strip() == f"casetrack: loaded the demo case ({records} records)."
    assert first["cases"] == 1 and first["people"] == 5 and first["events"] == 12

    code, out, err = await run_cli("demo", database_url=url, cwd=tmp_path)
    assert code == 0, err
    assert out.strip() == "casetrack: the demo case was already there; nothing changed."
    assert sqlite_counts(path) == first
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT title FROM cases").fetchone()[0].startswith("Vladimir Kozlov")


async def test_cli_refuses_a_bad_database_url(tmp_path: Path) -> None:
    code, out, err = await run_cli("demo", database_url="mysql://somewhere/db", cwd=tmp_path)
    assert code == 2
    assert "casetrack: bad configuration" in err and "DATABASE_URL" in err
    assert out == ""
    assert await asyncio.to_thread(os.listdir, tmp_path) == []


async def postgres_state(url: str) -> tuple[set[str], set[str], dict[str, int]]:
    """(tables, alembic revisions, row counts of the casetrack tables) of a PostgreSQL database."""
    engine = create_async_engine(async_database_url(url))
    try:
        async with engine.connect() as connection:
            tables = set(await connection.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
            revisions = set(await connection.scalars(text("SELECT version_num FROM alembic_version")))
            counts = {
                name: await connection.scalar(text(f'SELECT count(*) FROM "{name}"'))
                for name in Base.metadata.tables
                if name in tables
            }
    finally:
        await engine.dispose()
    return tables, revisions, counts


async def test_cli_migrate_then_demo_on_postgresql(tmp_path: Path) -> None:
    async with throwaway_database("postgresql", tmp_path) as url:
        code, out, err = await run_cli("migrate", database_url=url, cwd=tmp_path)
        assert code == 0, err
        assert out.strip() == "casetrack: the database schema is up to date."
        tables, revisions, counts = await postgres_state(url)
        assert set(Base.metadata.tables) <= tables
        assert revisions == current_heads(url)
        assert set(counts.values()) == {0}

        # Migrating an up-to-date database changes nothing.
        code, out, err = await run_cli("migrate", database_url=url, cwd=tmp_path)
        assert code == 0, err
        assert await postgres_state(url) == (tables, revisions, counts)

        code, out, err = await run_cli("demo", database_url=url, cwd=tmp_path)
        assert code == 0, err
        _, _, loaded = await postgres_state(url)
        assert out.strip() == f"casetrack: loaded the demo case ({sum(loaded[t] for t in KINDS)} records)."
        assert loaded["cases"] == 1

        code, out, err = await run_cli("demo", database_url=url, cwd=tmp_path)
        assert code == 0, err
        assert out.strip() == "casetrack: the demo case was already there; nothing changed."
        assert (await postgres_state(url))[2] == loaded


async def test_loading_again_leaves_deleted_demo_records_deleted(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    # An operator deleted a demo event (it is in the trash, restorable) and then loads the demo again, as
    # `casetrack serve --demo` does on every start: the event stays deleted, nothing is made twice, nothing fails.
    assert await load(connection) > 0
    event_id = demo.demo_id(demo.EVENTS[0][0])
    deleted = await client.delete(f"{API}/events/{event_id}")
    assert deleted.status_code == 204, deleted.text
    counts = await row_counts(connection)
    assert await load(connection) == 0
    assert await row_counts(connection) == counts
    gone = await client.get(f"{API}/events/{event_id}")
    assert gone.status_code == 404

    # Purged, it is gone for good, citations and search entry included: loading again makes it afresh, whole.
    purged = await client.post(f"{API}/events/{event_id}/purge")
    assert purged.status_code == 204, purged.text
    assert await load(connection) == 1
    again = await row_counts(connection)
    assert again["audit_entries"] == counts["audit_entries"] + 2  # the purge, and the create
    assert {**again, "audit_entries": 0} == {**counts, "audit_entries": 0}
    assert (await get(client, f"/events/{event_id}"))["source_ids"] == [demo.ARTICLE]

    # The same with the whole demo case deleted: nothing is added inside it.
    deleted = await client.delete(f"{API}/cases/{demo.CASE_ID}")
    assert deleted.status_code == 204, deleted.text
    counts = await row_counts(connection)
    assert await load(connection) == 0
    assert await row_counts(connection) == counts
