"""Restricted records: without reader rights they do not exist, and leave no trace anywhere.

Any record can be created (or patched) with ``"restricted": true``. To the public it is then a 404 at
its URL and absent from every list, search, count, export, timeline and embedded case; what lies inside
a restricted case is hidden with it; and a public record that names a hidden record shows no trace of
it (the reference is blank or left out). Each check is paired with a reader's view, so the tests prove
that records are filtered, not missing. Every test runs on SQLite and on PostgreSQL.
"""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from app.auth.roles import Role
from tests.conftest import shared_world
from tests.helpers import (
    API,
    INSIDE,
    KINDS,
    Ctx,
    assert_problem,
    collection,
    make_case,
    make_organization,
    make_person,
    make_refs,
    make_source,
    ok,
    post,
)

Body = dict[str, Any]

SEARCHABLE = ("people", "organizations", "cases", "events")
PATCH_FIELD = {
    "people": "name",
    "organizations": "name",
    "sources": "title",
    "cases": "title",
    "participants": "note",
    "charges": "description",
    "sentences": "note",
    "hearings": "summary",
    "outcomes": "summary",
    "events": "title",
}
INCLUDE_ALL = "participants,charges,sentences,hearings,outcomes,events,sources,timeline"


async def make_ctx(client: httpx.AsyncClient) -> Ctx:
    return await make_refs(client, "Public Defendant", "Public Prison", "Public report", "Public case")


# Every test here starts from these public records; they are built once per database for the whole module,
# and each test sees them as built (conftest's shared_world).
ctx = shared_world(make_ctx)


def body_of(kind: str, ctx: Ctx, tag: str) -> Body:
    """A valid body for one record of ``kind``; records inside a case are dated, so they reach the timeline."""
    return {
        "people": {"name": f"Person {tag}"},
        "organizations": {"name": f"Organization {tag}", "kind": "prison"},
        "sources": {"title": f"Source {tag}"},
        "cases": {"title": f"Case {tag}"},
        "participants": {"person_id": ctx.person, "role": "defendant", "since": "2012-01-23", "note": tag},
        "charges": {"description": f"Charge {tag}", "date": "2012-02"},
        "sentences": {"person_id": ctx.person, "term_months": 90, "start_date": "2012-10-08", "note": tag},
        "hearings": {"kind": "trial", "date": "2012-08-16", "summary": tag},
        "outcomes": {"kind": "convicted", "date": "2012-10-08", "summary": tag},
        "events": {"kind": "arrest", "date": "2012-01-23", "title": f"Event {tag}"},
    }[kind]


async def create(client: httpx.AsyncClient, kind: str, ctx: Ctx, tag: str, case_id: str | None = None, **extra: Any):
    return await post(client, collection(kind, case_id or ctx.case), {**body_of(kind, ctx, tag), **extra})


async def listed(http: httpx.AsyncClient, path: str, **params: Any) -> list[str]:
    page = (await ok(http, path, limit=500, **params)).json()
    assert page["next"] is None
    return [item["id"] for item in page["items"]]


async def counted(http: httpx.AsyncClient, path: str, **params: Any) -> int:
    return (await ok(http, path, count="true", **params)).json()["count"]


def unfold(ics: str) -> str:
    """iCalendar folds long lines (CRLF + space); unfolded, an id split by a fold is whole again."""
    return ics.replace("\r\n ", "").replace("\n ", "")


@dataclass
class Transcript:
    """Every response body a client received, to search for ids."""

    texts: list[tuple[str, str]] = field(default_factory=list)

    async def get(self, http: httpx.AsyncClient, path: str, **params: Any) -> httpx.Response:
        response = await http.get(path if path.startswith(API) else f"{API}{path}", params=params)
        assert response.status_code == 200, f"{path} {params}: {response.status_code} {response.text}"
        self.texts.append((f"{path} {params}", unfold(response.text)))
        return response

    async def missing(self, http: httpx.AsyncClient, path: str, record_id: str, **params: Any) -> None:
        """``path`` (which names ``record_id``) answers exactly what it answers for an id that never existed.

        Such a 404 repeats the id the client sent (and nothing else), so it is not kept in the transcript."""
        unknown = uuid.uuid4().hex
        found = await http.get(f"{API}{path}", params=params)
        never = await http.get(f"{API}{path.replace(record_id, unknown)}", params=params)
        assert_problem(found, 404)
        assert_problem(never, 404)
        assert found.headers.get("content-type") == never.headers.get("content-type")
        assert found.text == never.text.replace(unknown, record_id), path

    def where(self, record_id: str) -> list[str]:
        return [where for where, text in self.texts if record_id in text]


# A restricted record of each kind


@pytest.mark.parametrize("kind", KINDS)
async def test_a_restricted_record_does_not_exist_without_reader_rights(
    client: httpx.AsyncClient, ctx: Ctx, anonymous: httpx.AsyncClient, client_as: Any, kind: str
) -> None:
    shown = (await create(client, kind, ctx, "shown"))["id"]
    hidden_record = await create(client, kind, ctx, "hidden", restricted=True)
    hidden = hidden_record["id"]
    assert hidden_record["restricted"] is True
    public = Transcript()

    # Its URL is a 404 exactly like an id that never existed.
    await public.missing(anonymous, f"/{kind}/{hidden}", hidden)
    assert (await public.get(anonymous, f"/{kind}/{shown}")).json()["id"] == shown

    lists = [f"/{kind}"] + ([f"/cases/{ctx.case}/{kind}"] if kind in INSIDE else [])
    for path in lists:
        assert shown in await listed(anonymous, path)
        assert hidden not in await listed(anonymous, path)
        everyone = await listed(anonymous, path)
        assert await counted(anonymous, path) == len(everyone)
        for params in ({}, {"count": "true"}, {"fields": "id"}, {"limit": 1}):
            await public.get(anonymous, path, **params)
    assert public.where(hidden) == []

    reader = await client_as(Role.reader)
    assert (await ok(reader, f"/{kind}/{hidden}")).json()["restricted"] is True
    for path in lists:
        assert {shown, hidden} <= set(await listed(reader, path))
        assert await counted(reader, path) == await counted(anonymous, path) + 1


@pytest.mark.parametrize("kind", KINDS)
async def test_a_csv_export_leaves_restricted_records_out(
    client: httpx.AsyncClient, ctx: Ctx, anonymous: httpx.AsyncClient, kind: str
) -> None:
    shown = (await create(client, kind, ctx, "shown"))["id"]
    hidden = (await create(client, kind, ctx, "hidden", restricted=True))["id"]
    lists = [f"/{kind}"] + ([f"/cases/{ctx.case}/{kind}"] if kind in INSIDE else [])
    for path in lists:
        for params in ({"format": "csv"}, {"format": "csv", "fields": "id"}):
            response = await ok(anonymous, path, **params)
            assert response.headers["content-type"].startswith("text/csv")
            assert shown in response.text
            assert hidden not in response.text
        by_accept = await anonymous.get(f"{API}{path}", headers={"Accept": "text/csv"})
        assert shown in by_accept.text and hidden not in by_accept.text


@pytest.mark.parametrize("kind", KINDS)
async def test_a_readers_csv_export_includes_restricted_records(
    client: httpx.AsyncClient, ctx: Ctx, client_as: Any, kind: str
) -> None:
    shown = (await create(client, kind, ctx, "shown"))["id"]
    hidden = (await create(client, kind, ctx, "hidden", restricted=True))["id"]
    reader = await client_as(Role.reader)
    lists = [f"/{kind}"] + ([f"/cases/{ctx.case}/{kind}"] if kind in INSIDE else [])
    for path in lists:
        response = await ok(reader, path, format="csv")
        assert shown in response.text
        assert hidden in response.text, f"{path}?format=csv"


@pytest.mark.parametrize("kind", KINDS)
async def test_patching_restricted_hides_and_reveals_a_record(
    client: httpx.AsyncClient, ctx: Ctx, anonymous: httpx.AsyncClient, client_as: Any, kind: str
) -> None:
    record = await create(client, kind, ctx, "toggled")
    path = f"/{kind}/{record['id']}"
    assert (await ok(anonymous, path)).json()["restricted"] is False
    assert record["id"] in await listed(anonymous, f"/{kind}")

    hidden = await client.patch(f"{API}{path}", json={"restricted": True})
    assert hidden.status_code == 200, hidden.text
    assert hidden.json()["restricted"] is True
    assert (await anonymous.get(f"{API}{path}")).status_code == 404
    assert record["id"] not in await listed(anonymous, f"/{kind}")
    reader = await client_as(Role.reader)
    assert (await ok(reader, path)).json()["restricted"] is True
    assert record["id"] in await listed(reader, f"/{kind}")

    # A patch that does not mention it leaves it restricted.
    field_name = PATCH_FIELD[kind]
    assert (await client.patch(f"{API}{path}", json={field_name: "Changed"})).json()["restricted"] is True
    assert (await anonymous.get(f"{API}{path}")).status_code == 404

    shown = await client.patch(f"{API}{path}", json={"restricted": False})
    assert shown.status_code == 200, shown.text
    assert (await ok(anonymous, path)).json()[field_name] == "Changed"
    assert record["id"] in await listed(anonymous, f"/{kind}")


@pytest.mark.parametrize("kind", SEARCHABLE)
async def test_search_leaves_restricted_records_out(
    client: httpx.AsyncClient, ctx: Ctx, anonymous: httpx.AsyncClient, client_as: Any, kind: str
) -> None:
    words = {"people": "name", "organizations": "name", "cases": "title", "events": "title"}
    shown = (await create(client, kind, ctx, "x", **{words[kind]: "Zhanaozen shown"}))["id"]
    hidden = (await create(client, kind, ctx, "y", **{words[kind]: "Zhanaozen hidden"}, restricted=True))["id"]
    path = f"/{kind}"
    assert await listed(anonymous, path, q="zhanaozen") == [shown]
    assert await counted(anonymous, path, q="zhanaozen") == 1
    assert await listed(anonymous, path, q="zhanaozen hidden") == []
    assert await counted(anonymous, path, q="hidden") == 0
    csv = await ok(anonymous, path, q="zhanaozen", format="csv")
    assert shown in csv.text and hidden not in csv.text
    reader = await client_as(Role.reader)
    assert set(await listed(reader, path, q="zhanaozen")) == {shown, hidden}
    assert await counted(reader, path, q="zhanaozen") == 2
    assert await listed(reader, path, q="zhanaozen hidden") == [hidden]


# Restricted records inside a public case: timeline, include, calendars, participations


@dataclass
class CaseWorld:
    ctx: Ctx
    shown: dict[str, str]  # kind -> id of a public record in the public case
    hidden: dict[str, str]  # kind -> id of a restricted record in the public case


async def make_case_world(client: httpx.AsyncClient, ctx: Ctx) -> CaseWorld:
    shown = {kind: (await create(client, kind, ctx, "shown"))["id"] for kind in INSIDE}
    hidden = {kind: (await create(client, kind, ctx, "hidden", restricted=True))["id"] for kind in INSIDE}
    return CaseWorld(ctx, shown, hidden)


async def test_the_timeline_leaves_restricted_items_out(
    client: httpx.AsyncClient, ctx: Ctx, anonymous: httpx.AsyncClient, client_as: Any
) -> None:
    world = await make_case_world(client, ctx)
    path = f"/cases/{world.ctx.case}/timeline"
    items = (await ok(anonymous, path)).json()["items"]
    assert {item["id"] for item in items} == set(world.shown.values())
    csv = await ok(anonymous, path, format="csv")
    by_accept = await anonymous.get(f"{API}{path}", headers={"Accept": "text/csv"})
    timelinejs = await ok(anonymous, path, format="timelinejs")
    slides = timelinejs.json()["events"]
    assert len(slides) == len(items)
    for text in (csv.text, by_accept.text, timelinejs.text):
        for record_id in world.shown.values():
            assert record_id in text
        for record_id in world.hidden.values():
            assert record_id not in text

    reader = await client_as(Role.reader)
    everything = set(world.shown.values()) | set(world.hidden.values())
    assert {item["id"] for item in (await ok(reader, path)).json()["items"]} == everything
    reader_js = (await ok(reader, path, format="timelinejs")).text
    reader_csv = (await ok(reader, path, format="csv")).text
    for record_id in everything:
        assert record_id in reader_js and record_id in reader_csv


async def test_a_case_with_include_leaves_restricted_records_out(
    client: httpx.AsyncClient, ctx: Ctx, anonymous: httpx.AsyncClient, client_as: Any
) -> None:
    world = await make_case_world(client, ctx)
    path = f"/cases/{world.ctx.case}"
    body = (await ok(anonymous, path, include=INCLUDE_ALL)).json()
    for kind in INSIDE:
        assert [r["id"] for r in body[kind]] == [world.shown[kind]], kind
    assert {i["id"] for i in body["timeline"]["items"]} == set(world.shown.values())
    text = (await ok(anonymous, path, include=INCLUDE_ALL)).text
    for record_id in world.hidden.values():
        assert record_id not in text
    for kind in INSIDE:  # one kind at a time, too
        alone = (await ok(anonymous, path, include=kind)).json()
        assert [r["id"] for r in alone[kind]] == [world.shown[kind]]

    reader = (await ok(await client_as(Role.reader), path, include=INCLUDE_ALL)).json()
    for kind in INSIDE:
        assert {r["id"] for r in reader[kind]} == {world.shown[kind], world.hidden[kind]}, kind


async def test_hearing_calendars_leave_restricted_hearings_out(
    client: httpx.AsyncClient, ctx: Ctx, anonymous: httpx.AsyncClient, client_as: Any
) -> None:
    world = await make_case_world(client, ctx)
    shown, hidden = world.shown["hearings"], world.hidden["hearings"]
    reader = await client_as(Role.reader)
    for path in ("/hearings.ics", f"/cases/{world.ctx.case}/hearings.ics"):
        public = unfold((await ok(anonymous, path)).text)
        assert f"UID:{shown}@casetrack" in public
        assert hidden not in public
        assert public.count("BEGIN:VEVENT") == 1
        private = unfold((await ok(reader, path)).text)
        assert f"UID:{shown}@casetrack" in private and f"UID:{hidden}@casetrack" in private


async def test_a_persons_participations_leave_restricted_ones_out(
    client: httpx.AsyncClient, ctx: Ctx, anonymous: httpx.AsyncClient, client_as: Any
) -> None:
    world = await make_case_world(client, ctx)
    hidden_case = (await make_case(client, "Secret case", restricted=True))["id"]
    in_hidden_case = (await create(client, "participants", world.ctx, "inside", case_id=hidden_case))["id"]
    path = f"/people/{world.ctx.person}"
    response = await ok(anonymous, path)
    assert [p["participant_id"] for p in response.json()["participations"]] == [world.shown["participants"]]
    for secret in (world.hidden["participants"], in_hidden_case, hidden_case, "Secret case"):
        assert secret not in response.text
    seen = (await ok(await client_as(Role.reader), path)).json()["participations"]
    assert {p["participant_id"] for p in seen} == {
        world.shown["participants"],
        world.hidden["participants"],
        in_hidden_case,
    }


# A restricted case hides everything inside it


async def test_everything_inside_a_restricted_case_is_hidden(
    client: httpx.AsyncClient, ctx: Ctx, anonymous: httpx.AsyncClient, client_as: Any
) -> None:
    case = (await make_case(client, "Zhanaozen secret case", restricted=True))["id"]
    inner = {kind: (await create(client, kind, ctx, "Zhanaozen", case_id=case))["id"] for kind in INSIDE}
    public = Transcript()

    await public.missing(anonymous, f"/cases/{case}", case)
    await public.missing(anonymous, f"/cases/{case}", case, include=INCLUDE_ALL)
    for kind in INSIDE:
        await public.missing(anonymous, f"/cases/{case}/{kind}", case)
        await public.missing(anonymous, f"/{kind}/{inner[kind]}", inner[kind])
        assert await listed(anonymous, f"/{kind}") == []
        assert await listed(anonymous, f"/{kind}", case_id=case) == []
        assert await counted(anonymous, f"/{kind}") == 0
        await public.get(anonymous, f"/{kind}", format="csv")
    for suffix in ("timeline", "hearings.ics"):
        await public.missing(anonymous, f"/cases/{case}/{suffix}", case)
    await public.missing(anonymous, f"/cases/{case}/timeline", case, format="csv")
    await public.get(anonymous, "/hearings.ics")
    await public.get(anonymous, "/cases")
    await public.get(anonymous, "/cases", q="zhanaozen")
    await public.get(anonymous, "/cases", person_id=ctx.person)
    await public.get(anonymous, "/events", q="zhanaozen")
    await public.get(anonymous, "/people", case_id=case)
    await public.get(anonymous, f"/people/{ctx.person}")
    assert (await ok(anonymous, "/cases")).json()["items"][0]["id"] == ctx.case
    assert await counted(anonymous, "/cases") == 1
    for record_id in (case, *inner.values()):
        assert public.where(record_id) == [], record_id
    assert [w for w, text in public.texts if "secret case" in text.lower()] == []

    reader = await client_as(Role.reader)
    assert (await ok(reader, f"/cases/{case}")).json()["restricted"] is True
    for kind in INSIDE:
        record = (await ok(reader, f"/{kind}/{inner[kind]}")).json()
        assert record["restricted"] is False  # hidden by where it is, not by its own flag
        assert await listed(reader, f"/cases/{case}/{kind}") == [inner[kind]]
    timeline = (await ok(reader, f"/cases/{case}/timeline")).json()
    assert {i["id"] for i in timeline["items"]} == set(inner.values())
    assert case in await listed(reader, "/cases", person_id=ctx.person)
    assert await listed(reader, "/events", q="zhanaozen") == [inner["events"]]
    assert inner["hearings"] in (await ok(reader, "/hearings.ics")).text


# A public record naming a hidden one: the reference is blank (each checked on its own)


@dataclass(frozen=True)
class Reference:
    """A public record of ``kind`` that names a restricted record of ``target`` in ``field``."""

    kind: str
    field: str
    target: str  # people, organizations or sources
    body: Callable[[Ctx, str], Body]  # the record's body, given the hidden target's id
    public: Callable[[Ctx], Any]  # what the field reads without reader rights
    full: Callable[[Ctx, str], Any]  # what it reads for a reader
    on_timeline: bool = True  # whether the timeline item carries the reference

    def __str__(self) -> str:
        return f"{self.kind}.{self.field}->{self.target}"


def _cited(kind: str) -> Reference:
    return Reference(
        kind,
        "source_ids",
        "sources",
        lambda c, hidden: {**body_of(kind, c, "citing"), "source_ids": [c.source, hidden]},
        public=lambda c: [c.source],
        full=lambda c, hidden: sorted([c.source, hidden]),
        on_timeline=kind in INSIDE,
    )


REFERENCES = [
    Reference(
        "events",
        "person_ids",
        "people",
        lambda c, hidden: {**body_of("events", c, "naming"), "person_ids": [c.person, hidden]},
        public=lambda c: [c.person],
        full=lambda c, hidden: sorted([c.person, hidden]),
    ),
    Reference(
        "charges",
        "person_id",
        "people",
        lambda c, hidden: {**body_of("charges", c, "naming"), "person_id": hidden},
        public=lambda c: None,
        full=lambda c, hidden: hidden,
    ),
    Reference(
        "charges",
        "named_person_ids",
        "people",
        lambda c, hidden: {**body_of("charges", c, "naming"), "named_person_ids": [c.person, hidden]},
        public=lambda c: [c.person],
        full=lambda c, hidden: sorted([c.person, hidden]),
    ),
    Reference(
        "hearings",
        "judge_id",
        "people",
        lambda c, hidden: {**body_of("hearings", c, "naming"), "judge_id": hidden},
        public=lambda c: None,
        full=lambda c, hidden: hidden,
    ),
    Reference(
        "outcomes",
        "person_id",
        "people",
        lambda c, hidden: {**body_of("outcomes", c, "naming"), "person_id": hidden},
        public=lambda c: None,
        full=lambda c, hidden: hidden,
    ),
    Reference(
        "sentences",
        "person_id",
        "people",
        lambda c, hidden: {**body_of("sentences", c, "naming"), "person_id": hidden},
        public=lambda c: None,
        full=lambda c, hidden: hidden,
    ),
    Reference(
        "events",
        "organization_ids",
        "organizations",
        lambda c, hidden: {**body_of("events", c, "naming"), "organization_ids": [c.organization, hidden]},
        public=lambda c: [c.organization],
        full=lambda c, hidden: sorted([c.organization, hidden]),
    ),
    Reference(
        "hearings",
        "court_id",
        "organizations",
        lambda c, hidden: {**body_of("hearings", c, "naming"), "court_id": hidden},
        public=lambda c: None,
        full=lambda c, hidden: hidden,
    ),
    Reference(
        "sentences",
        "facility_id",
        "organizations",
        lambda c, hidden: {**body_of("sentences", c, "naming"), "facility_id": hidden},
        public=lambda c: None,
        full=lambda c, hidden: hidden,
    ),
    *[_cited(kind) for kind in KINDS if kind != "sources"],
]


async def make_hidden(client: httpx.AsyncClient, target: str) -> str:
    if target == "people":
        return (await make_person(client, "Hidden Witness", restricted=True))["id"]
    if target == "organizations":
        return (await make_organization(client, "Hidden Facility", restricted=True))["id"]
    return (await make_source(client, title="Hidden informant's report", restricted=True))["id"]


@pytest.mark.parametrize("ref", REFERENCES, ids=str)
async def test_a_public_record_shows_no_trace_of_a_restricted_one_it_names(
    client: httpx.AsyncClient, ctx: Ctx, anonymous: httpx.AsyncClient, client_as: Any, ref: Reference
) -> None:
    hidden = await make_hidden(client, ref.target)
    record = await post(client, collection(ref.kind, ctx.case), ref.body(ctx, hidden))
    record_id = record["id"]
    public = Transcript()

    # The record itself is public: it is there, with the reference blank.
    one = (await public.get(anonymous, f"/{ref.kind}/{record_id}")).json()
    assert one[ref.field] == ref.public(ctx)
    assert one["restricted"] is False
    lists = [f"/{ref.kind}"] + ([f"/cases/{ctx.case}/{ref.kind}"] if ref.kind in INSIDE else [])
    for path in lists:
        items = (await public.get(anonymous, path)).json()["items"]
        mine = [item for item in items if item["id"] == record_id]
        assert len(mine) == 1 and mine[0][ref.field] == ref.public(ctx), path
        await public.get(anonymous, path, fields=f"id,{ref.field}")
        await public.get(anonymous, path, format="csv")
    await public.missing(anonymous, f"/{ref.target}/{hidden}", hidden)
    await public.get(anonymous, f"/{ref.target}")

    reader = await client_as(Role.reader)
    assert (await ok(reader, f"/{ref.kind}/{record_id}")).json()[ref.field] == ref.full(ctx, hidden)
    for path in lists:
        items = [item for item in (await ok(reader, path)).json()["items"] if item["id"] == record_id]
        assert items[0][ref.field] == ref.full(ctx, hidden), path

    if ref.kind in INSIDE or ref.kind == "cases":
        # The whole case: the embedded record, and the people/organizations/sources it names.
        case_id = record_id if ref.kind == "cases" else ctx.case
        embedded = ref.kind if ref.kind in INSIDE else None
        include = f"{embedded},sources,timeline" if embedded else "sources,timeline"
        case = (await public.get(anonymous, f"/cases/{case_id}", include=include)).json()
        if embedded:
            assert [r[ref.field] for r in case[embedded] if r["id"] == record_id] == [ref.public(ctx)]
            named = {"people": ctx.person, "organizations": ctx.organization}
            if ref.target in named and ref.public(ctx):
                assert [p["id"] for p in case[ref.target]] == [named[ref.target]]
            elif ref.target in named:
                assert case[ref.target] == []
        assert [s["id"] for s in case["sources"]] == ([ctx.source] if ref.target == "sources" else [])
        timeline = await public.get(anonymous, f"/cases/{case_id}/timeline")
        await public.get(anonymous, f"/cases/{case_id}/timeline", format="csv")
        await public.get(anonymous, f"/cases/{case_id}/timeline", format="timelinejs")
        if ref.kind in INSIDE:
            assert record_id in [i["id"] for i in timeline.json()["items"]]

        full = (await ok(reader, f"/cases/{case_id}", include=include)).json()
        if embedded:
            assert [r[ref.field] for r in full[embedded] if r["id"] == record_id] == [ref.full(ctx, hidden)]
            if ref.target != "sources":
                assert hidden in [p["id"] for p in full[ref.target]]
        if ref.target == "sources":
            assert hidden in [s["id"] for s in full["sources"]]
        if ref.on_timeline:
            items = (await ok(reader, f"/cases/{case_id}/timeline")).json()["items"]
            assert hidden in str([i for i in items if i["id"] == record_id])

    assert public.where(hidden) == []


async def test_a_participant_whose_person_is_restricted_is_hidden(
    client: httpx.AsyncClient, ctx: Ctx, anonymous: httpx.AsyncClient, client_as: Any
) -> None:
    hidden_person = await make_hidden(client, "people")
    shown = (await create(client, "participants", ctx, "public person"))["id"]
    participant = await post(
        client,
        f"/cases/{ctx.case}/participants",
        {"person_id": hidden_person, "role": "witness", "since": "2012-03"},
    )
    assert participant["restricted"] is False  # the participant's own flag is not what hides it
    public = Transcript()
    await public.missing(anonymous, f"/participants/{participant['id']}", participant["id"])
    for path in ("/participants", f"/cases/{ctx.case}/participants"):
        assert await listed(anonymous, path) == [shown]
        assert await counted(anonymous, path) == 1
        await public.get(anonymous, path)
        await public.get(anonymous, path, format="csv")
    await public.get(anonymous, f"/cases/{ctx.case}", include=INCLUDE_ALL)
    for fmt in ("json", "csv", "timelinejs"):
        await public.get(anonymous, f"/cases/{ctx.case}/timeline", format=fmt)
    await public.get(anonymous, "/people", role="witness")
    await public.get(anonymous, "/people", case_id=ctx.case)
    await public.get(anonymous, "/cases", role="witness")
    assert await listed(anonymous, "/cases", role="witness") == []
    for secret in (participant["id"], hidden_person):
        assert public.where(secret) == [], secret

    reader = await client_as(Role.reader)
    assert (await ok(reader, f"/participants/{participant['id']}")).json()["person_id"] == hidden_person
    assert set(await listed(reader, f"/cases/{ctx.case}/participants")) == {shown, participant["id"]}
    timeline = (await ok(reader, f"/cases/{ctx.case}/timeline")).json()["items"]
    assert participant["id"] in [i["id"] for i in timeline]
    assert await listed(reader, "/cases", role="witness") == [ctx.case]


# Filters naming a hidden record answer as they would for an id that does not exist

FILTERS = [
    # (list, filter parameter, kind of the hidden record, the body field naming it)
    ("/events", "person_id", "people", "person_ids"),
    ("/charges", "person_id", "people", "person_id"),
    ("/sentences", "person_id", "people", "person_id"),
    ("/outcomes", "person_id", "people", "person_id"),
    ("/hearings", "judge_id", "people", "judge_id"),
    ("/hearings", "court_id", "organizations", "court_id"),
    ("/sentences", "facility_id", "organizations", "facility_id"),
    ("/events", "organization_id", "organizations", "organization_ids"),
]


@pytest.mark.parametrize(("path", "param", "target", "body_field"), FILTERS, ids=lambda v: str(v).strip("/"))
async def test_filtering_by_a_hidden_id_finds_nothing(
    client: httpx.AsyncClient,
    ctx: Ctx,
    anonymous: httpx.AsyncClient,
    client_as: Any,
    path: str,
    param: str,
    target: str,
    body_field: str,
) -> None:
    hidden = await make_hidden(client, target)
    kind = path.strip("/")
    value: Any = [hidden] if body_field.endswith("_ids") else hidden
    record = await post(client, collection(kind, ctx.case), {**body_of(kind, ctx, "naming"), body_field: value})
    reader = await client_as(Role.reader)
    assert await listed(reader, path, **{param: hidden}) == [record["id"]]
    assert await listed(anonymous, path, **{param: uuid.uuid4().hex}) == []
    assert await listed(anonymous, path, **{param: hidden}) == []


# Nothing anywhere: one sweep over every read the public can make


async def test_no_public_response_contains_the_id_of_a_hidden_record(
    client: httpx.AsyncClient, ctx: Ctx, anonymous: httpx.AsyncClient, client_as: Any
) -> None:
    world = await make_case_world(client, ctx)
    ctx = world.ctx
    hidden_person = await make_hidden(client, "people")
    hidden_org = await make_hidden(client, "organizations")
    hidden_source = await make_hidden(client, "sources")
    hidden_case = (await make_case(client, "Secret case", restricted=True))["id"]
    refs = ctx.source, hidden_source
    naming = {
        "events": {"person_ids": [ctx.person, hidden_person], "organization_ids": [hidden_org]},
        "charges": {"person_id": hidden_person, "named_person_ids": [hidden_person]},
        "hearings": {"judge_id": hidden_person, "court_id": hidden_org},
        "outcomes": {"person_id": hidden_person},
        "sentences": {"person_id": hidden_person, "facility_id": hidden_org},
        "participants": {"person_id": hidden_person},
    }
    named = {}
    for kind, extra in naming.items():
        body = {**body_of(kind, ctx, "naming"), **extra, "source_ids": list(refs)}
        named[kind] = (await post(client, collection(kind, ctx.case), body))["id"]
    in_hidden_case = {kind: (await create(client, kind, ctx, "secret", case_id=hidden_case))["id"] for kind in INSIDE}
    await client.patch(f"{API}/cases/{ctx.case}", json={"source_ids": list(refs)})
    await client.patch(f"{API}/people/{ctx.person}", json={"source_ids": list(refs)})

    secrets = {
        "hidden person": hidden_person,
        "hidden organization": hidden_org,
        "hidden source": hidden_source,
        "hidden case": hidden_case,
        "participant of a hidden person": named["participants"],
        **{f"restricted {kind}": world.hidden[kind] for kind in INSIDE},
        **{f"{kind} in a hidden case": record_id for kind, record_id in in_hidden_case.items()},
    }
    paths: list[tuple[str, dict[str, Any]]] = []
    for kind in KINDS:
        paths += [(f"/{kind}", {}), (f"/{kind}", {"format": "csv"}), (f"/{kind}", {"count": "true", "limit": 2})]
        if kind in INSIDE:
            paths += [(f"/cases/{ctx.case}/{kind}", {}), (f"/cases/{ctx.case}/{kind}", {"format": "csv"})]
    for kind in SEARCHABLE:
        paths += [(f"/{kind}", {"q": word}) for word in ("hidden", "secret", "naming", "witness", "facility")]
    paths += [
        (f"/cases/{ctx.case}", {"include": INCLUDE_ALL}),
        (f"/cases/{ctx.case}/timeline", {}),
        (f"/cases/{ctx.case}/timeline", {"format": "csv"}),
        (f"/cases/{ctx.case}/timeline", {"format": "timelinejs"}),
        (f"/cases/{ctx.case}/hearings.ics", {}),
        ("/hearings.ics", {}),
        (f"/people/{ctx.person}", {}),
        (f"/organizations/{ctx.organization}", {}),
        (f"/sources/{ctx.source}", {}),
    ]
    paths += [(f"/{kind}/{record_id}", {}) for kind, record_id in world.shown.items()]
    paths += [(f"/{kind}/{record_id}", {}) for kind, record_id in named.items() if kind != "participants"]

    public, private = Transcript(), Transcript()
    reader = await client_as(Role.reader)
    for path, params in paths:
        await public.get(anonymous, path, **params)
        await private.get(reader, path, **params)
    leaks = {name: public.where(record_id) for name, record_id in secrets.items() if public.where(record_id)}
    assert leaks == {}
    # A reader's answers to the very same requests do contain every one of them.
    unseen = [name for name, record_id in secrets.items() if not private.where(record_id)]
    assert unseen == []
    assert re.search("hidden witness|hidden facility|secret case", " ".join(t for _, t in public.texts), re.I) is None
