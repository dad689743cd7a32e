"""History: every write is audited; deletes are soft (restore, purge); the changes feed replays to the
current state; versions and ETags prevent lost updates.

Every test runs on SQLite and on PostgreSQL.
"""

import datetime as dt
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.roles import Role
from tests.conftest import make_token
from tests.helpers import (
    API,
    INSIDE,
    KINDS,
    Ctx,
    assert_problem,
    collection,
    make_case,
    make_person,
    make_refs,
    make_source,
    ok,
    post,
)

Body = dict[str, Any]

RECORD_TYPE = {
    "people": "person",
    "organizations": "organization",
    "sources": "source",
    "cases": "case",
    "participants": "participant",
    "charges": "charge",
    "sentences": "sentence",
    "hearings": "hearing",
    "outcomes": "outcome",
    "events": "event",
}
PATH_OF = {record_type: kind for kind, record_type in RECORD_TYPE.items()}
# One field per kind that a PATCH changes, with its new value
CHANGE = {
    "people": ("name", "Vladimir Ivanovich Kozlov"),
    "organizations": ("name", "Penal colony UK-161/3"),
    "sources": ("title", "Corrected title"),
    "cases": ("status", "released"),
    "participants": ("role", "witness"),
    "charges": ("status", "convicted"),
    "sentences": ("term_months", 60),
    "hearings": ("location", "Aktau"),
    "outcomes": ("summary", "Sentenced to 7.5 years"),
    "events": ("title", "Detained at home"),
}


async def make_ctx(client: httpx.AsyncClient) -> Ctx:
    return await make_refs(client, "Vladimir Kozlov", "Almaty Regional Court", "A report", "Kozlov case", kind="court")


def body_of(kind: str, ctx: Ctx, tag: str = "") -> Body:
    return {
        "people": {"name": f"Aliya Turusbekova{tag}", "aliases": ["Алия"], "country": "KZ"},
        "organizations": {"name": f"Mangistau Regional Court{tag}", "kind": "court"},
        "sources": {"title": f"Eurasianet report{tag}", "published_on": "2015-12-08"},
        "cases": {"title": f"Zhanaozen case{tag}", "status": "trial", "source_ids": [ctx.source]},
        "participants": {"person_id": ctx.person, "role": "defendant", "since": "2012-01-23"},
        "charges": {
            "description": f"Inciting social discord{tag}",
            "person_id": ctx.person,
            "date": "2012-03",
            "source_ids": [ctx.source],
        },
        "sentences": {"person_id": ctx.person, "term_months": 90, "start_date": "2012-10-08"},
        "hearings": {"kind": "trial", "date": "2012-08-16", "court_id": ctx.organization},
        "outcomes": {"kind": "convicted", "date": "2012-10-08", "person_id": ctx.person},
        "events": {"kind": "arrest", "date": "2012-01-23", "title": f"Arrested{tag}", "person_ids": [ctx.person]},
    }[kind]


async def create(client: httpx.AsyncClient, kind: str, ctx: Ctx, tag: str = "", **extra: Any) -> Body:
    return await post(client, collection(kind, ctx.case), {**body_of(kind, ctx, tag), **extra})


async def listed(http: httpx.AsyncClient, path: str, **params: Any) -> list[str]:
    page = (await ok(http, path, limit=500, **params)).json()
    assert page["next"] is None
    return [item["id"] for item in page["items"]]


async def history(http: httpx.AsyncClient, kind: str, record_id: str) -> list[Body]:
    entries: list[Body] = []
    params: dict[str, Any] = {"limit": 2}  # small pages: the order must hold across them
    while True:
        page = (await ok(http, f"/{kind}/{record_id}/history", **params)).json()
        entries += page["items"]
        if page["next"] is None:
            return entries
        params["cursor"] = page["next"]


async def audit_count(connection: AsyncConnection) -> int:
    return (await connection.execute(text("SELECT count(*) FROM audit_entries"))).scalar_one()


def without_participations(body: Body) -> Body:
    """GET /people/{id} adds the person's participations to the record itself."""
    return {k: v for k, v in body.items() if k != "participations"}


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# Every write is audited


@pytest.mark.parametrize("kind", KINDS)
async def test_every_write_is_audited_with_who_when_what_and_the_record_before_and_after(
    client: httpx.AsyncClient, client_as: Any, connection: AsyncConnection, kind: str
) -> None:
    ctx = await make_ctx(client)
    name = f"newsroom-editor-{kind}"
    editor = await client_as(await make_token(connection, Role.editor, name=name))
    start = dt.datetime.now(dt.UTC)
    created = await create(editor, kind, ctx)
    field, value = CHANGE[kind]
    patched = await editor.patch(f"{API}/{kind}/{created['id']}", json={field: value})
    assert patched.status_code == 200, patched.text
    updated = patched.json()
    deleted = await editor.delete(f"{API}/{kind}/{created['id']}")
    assert deleted.status_code == 204, deleted.text
    end = dt.datetime.now(dt.UTC)

    entries = await history(await client_as(Role.reader), kind, created["id"])
    assert [e["action"] for e in entries] == ["create", "update", "delete"]
    for entry in entries:
        assert entry["actor"] == name
        assert entry["record_type"] == RECORD_TYPE[kind]
        assert entry["record_id"] == created["id"]
        assert start - dt.timedelta(seconds=1) <= parse_time(entry["at"]) <= end + dt.timedelta(seconds=1)
    assert [e["seq"] for e in entries] == sorted({e["seq"] for e in entries})
    assert [parse_time(e["at"]) for e in entries] == sorted(parse_time(e["at"]) for e in entries)

    create_entry, update_entry, delete_entry = entries
    assert create_entry["before"] is None
    assert create_entry["after"] == created
    assert update_entry["before"] == created
    assert update_entry["after"] == updated
    assert update_entry["before"][field] == created[field] != value
    assert update_entry["after"][field] == value
    assert update_entry["after"]["version"] == update_entry["before"]["version"] + 1
    assert delete_entry["before"] == updated
    assert delete_entry["after"] is None


async def test_restore_and_purge_are_audited_with_the_admins_name(
    client: httpx.AsyncClient, client_as: Any, connection: AsyncConnection
) -> None:
    admin = await client_as(await make_token(connection, Role.admin, name="chief-archivist"))
    source = await make_source(client, title="To be restored, then purged")
    assert (await client.delete(f"{API}/sources/{source['id']}")).status_code == 204
    restored = await admin.post(f"{API}/sources/{source['id']}/restore")
    assert restored.status_code == 200, restored.text
    assert (await client.delete(f"{API}/sources/{source['id']}")).status_code == 204
    assert (await admin.post(f"{API}/sources/{source['id']}/purge")).status_code == 204

    log = (await ok(admin, "/audit", record_type="source")).json()["items"]
    mine = [e for e in log if e["record_id"] == source["id"]]
    assert [e["action"] for e in mine] == ["create", "delete", "restore", "delete", "purge"]
    restore, purge = mine[2], mine[4]
    assert restore["actor"] == purge["actor"] == "chief-archivist"
    assert restore["before"] is None and restore["after"] == restored.json()
    assert purge["before"]["title"] == "To be restored, then purged" and purge["after"] is None
    assert [e["action"] for e in (await ok(admin, "/audit", actor="chief-archivist")).json()["items"]] == [
        "restore",
        "purge",
    ]


async def test_a_write_that_fails_leaves_no_audit_entry_and_no_change(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    ctx = await make_ctx(client)
    await create(client, "participants", ctx)
    before = await audit_count(connection)
    events = (await connection.execute(text("SELECT count(*) FROM events"))).scalar_one()

    # The event row and its links are written before the citations are checked: all of it goes.
    failed = await client.post(
        f"{API}/cases/{ctx.case}/events",
        json={**body_of("events", ctx), "source_ids": ["0" * 32]},
    )
    assert_problem(failed, 422, "source_ids")
    assert_problem(await client.delete(f"{API}/people/{ctx.person}"), 409)
    assert_problem(
        await client.patch(f"{API}/cases/{ctx.case}", json={"title": "x"}, headers={"If-Match": '"99"'}), 412
    )
    assert_problem(await client.post(f"{API}/cases/{ctx.case}/charges", json={"description": ""}), 422)

    assert await audit_count(connection) == before
    assert (await connection.execute(text("SELECT count(*) FROM events"))).scalar_one() == events
    assert (await ok(client, f"/people/{ctx.person}")).json()["version"] == 1
    assert (await ok(client, f"/cases/{ctx.case}")).json()["title"] == "Kozlov case"


async def test_a_write_and_its_audit_entry_are_one_transaction(
    client: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    person = await make_person(client)
    rows = (
        await connection.execute(
            text("SELECT action, record_id FROM audit_entries WHERE record_type = 'person' ORDER BY seq")
        )
    ).all()
    assert [tuple(r) for r in rows] == [("create", person["id"])]
    assert (await client.patch(f"{API}/people/{person['id']}", json={"name": "Renamed"})).status_code == 200
    stored = (await connection.execute(text("SELECT name, version FROM people WHERE id = :id"), person)).one()
    assert tuple(stored) == ("Renamed", 2)
    actions = (await connection.execute(text("SELECT action FROM audit_entries ORDER BY seq"))).scalars().all()
    assert actions == ["create", "update"]


async def test_history_lists_a_records_changes_oldest_first(client: httpx.AsyncClient, client_as: Any) -> None:
    ctx = await make_ctx(client)
    event = await create(client, "events", ctx)
    titles = ["First", "Second", "Third", "Fourth"]
    for title in titles:
        assert (await client.patch(f"{API}/events/{event['id']}", json={"title": title})).status_code == 200
    other = await create(client, "events", ctx, " elsewhere")  # not part of this history
    await client.patch(f"{API}/events/{other['id']}", json={"title": "Unrelated"})

    entries = await history(await client_as(Role.reader), "events", event["id"])
    assert [e["action"] for e in entries] == ["create", "update", "update", "update", "update"]
    assert [e["after"]["title"] for e in entries] == ["Arrested", *titles]
    assert [e["after"]["version"] for e in entries] == [1, 2, 3, 4, 5]
    for earlier, later in zip(entries, entries[1:], strict=False):
        assert later["before"] == earlier["after"]  # each change starts where the previous one ended
        assert later["seq"] > earlier["seq"]
    assert (await client.get(f"{API}/events/{'0' * 32}/history")).status_code == 404


# Soft deletes, restore, purge


@pytest.mark.parametrize("kind", KINDS)
async def test_a_deleted_record_is_gone_until_an_admin_restores_it_with_the_same_data(
    client: httpx.AsyncClient, client_as: Any, kind: str
) -> None:
    ctx = await make_ctx(client)
    record = await create(client, kind, ctx, " (deleted)")
    path = f"/{kind}/{record['id']}"
    before = (await ok(client, path)).json()
    lists = [f"/{kind}"] + ([f"/cases/{ctx.case}/{kind}"] if kind in INSIDE else [])
    counts = {p: (await ok(client, p, count="true")).json()["count"] for p in lists}

    assert (await client.delete(f"{API}{path}")).status_code == 204
    reader = await client_as(Role.reader)
    for http in (client, reader):  # deleted is deleted for everyone, admins included
        assert_problem(await http.get(f"{API}{path}"), 404)
        for p in lists:
            assert record["id"] not in await listed(http, p)
            assert (await ok(http, p, count="true")).json()["count"] == counts[p] - 1
            assert record["id"] not in (await ok(http, p, format="csv")).text
    assert_problem(await client.patch(f"{API}{path}", json=dict([CHANGE[kind]])), 404)
    assert_problem(await client.delete(f"{API}{path}"), 404)

    restored = await client.post(f"{API}{path}/restore")
    assert restored.status_code == 200, restored.text
    after = (await ok(client, path)).json()
    assert without_participations(after) == restored.json()
    ignore = {"updated_at", "version"}
    assert {k: v for k, v in after.items() if k not in ignore} == {k: v for k, v in before.items() if k not in ignore}
    for p in lists:
        assert record["id"] in await listed(reader, p)
    assert_problem(await client.post(f"{API}{path}/restore"), 409)  # it is not deleted any more
    actions = [e["action"] for e in await history(reader, kind, record["id"])]
    assert actions == ["create", "delete", "restore"]


@pytest.mark.parametrize("kind", KINDS)
async def test_purge_removes_a_deleted_record_for_good(
    client: httpx.AsyncClient, client_as: Any, connection: AsyncConnection, kind: str
) -> None:
    ctx = await make_ctx(client)
    record = await create(client, kind, ctx, " (purged)")
    path = f"{API}/{kind}/{record['id']}"
    assert_problem(await client.post(f"{path}/purge"), 409)  # only a deleted record can be purged
    assert (await client.get(path)).status_code == 200

    assert (await client.delete(path)).status_code == 204
    assert (await client.post(f"{path}/purge")).status_code == 204
    stored = await connection.execute(text(f"SELECT count(*) FROM {kind} WHERE id = :id"), {"id": record["id"]})
    assert stored.scalar_one() == 0
    assert_problem(await client.get(path), 404)
    assert_problem(await client.post(f"{path}/restore"), 404)
    assert_problem(await client.post(f"{path}/purge"), 404)
    # The audit log keeps the whole story.
    log = (await ok(client, "/audit", record_type=RECORD_TYPE[kind], limit=500)).json()["items"]
    story = [e for e in log if e["record_id"] == record["id"]]
    assert [e["action"] for e in story] == ["create", "delete", "purge"]
    assert story[2]["before"]["id"] == record["id"] and story[2]["after"] is None


@pytest.mark.parametrize("kind", ["people", "events"])
async def test_a_purged_records_history_is_still_there(client: httpx.AsyncClient, client_as: Any, kind: str) -> None:
    ctx = await make_ctx(client)
    record = await create(client, kind, ctx, " (purged)")
    path = f"{API}/{kind}/{record['id']}"
    assert (await client.delete(path)).status_code == 204
    assert (await client.post(f"{path}/purge")).status_code == 204
    entries = await history(await client_as(Role.reader), kind, record["id"])
    assert [e["action"] for e in entries] == ["create", "delete", "purge"]


async def test_deleting_a_case_hides_what_is_inside_and_restoring_it_brings_it_back(
    client: httpx.AsyncClient, client_as: Any
) -> None:
    ctx = await make_ctx(client)
    inner = {kind: await create(client, kind, ctx) for kind in INSIDE}
    before = {kind: (await ok(client, f"/{kind}/{r['id']}")).json() for kind, r in inner.items()}
    timeline = (await ok(client, f"/cases/{ctx.case}/timeline")).json()
    whole = (await ok(client, f"/cases/{ctx.case}", include=",".join(INSIDE))).json()
    assert len(timeline["items"]) == 6

    assert (await client.delete(f"{API}/cases/{ctx.case}")).status_code == 204
    reader = await client_as(Role.reader)
    for kind, record in inner.items():
        assert_problem(await reader.get(f"{API}/{kind}/{record['id']}"), 404)
        assert await listed(reader, f"/{kind}") == []
        assert (await ok(reader, f"/{kind}", count="true")).json()["count"] == 0
        assert record["id"] not in (await ok(reader, f"/{kind}", format="csv")).text
        assert_problem(await reader.get(f"{API}/cases/{ctx.case}/{kind}"), 404)
    assert_problem(await reader.get(f"{API}/cases/{ctx.case}/timeline"), 404)
    assert (await ok(reader, f"/people/{ctx.person}")).json()["participations"] == []
    assert inner["hearings"]["id"] not in (await ok(reader, "/hearings.ics")).text
    assert await listed(reader, "/events", q="arrested") == []
    assert await listed(reader, "/cases", person_id=ctx.person) == []
    # With the case gone, nothing live refers to the person any more.
    assert await listed(reader, "/people", case_id=ctx.case) == []

    assert (await client.post(f"{API}/cases/{ctx.case}/restore")).status_code == 200
    for kind, record in inner.items():
        assert (await ok(reader, f"/{kind}/{record['id']}")).json() == before[kind]
        assert await listed(reader, f"/cases/{ctx.case}/{kind}") == [record["id"]]
    assert (await ok(reader, f"/cases/{ctx.case}/timeline")).json() == timeline
    again = (await ok(reader, f"/cases/{ctx.case}", include=",".join(INSIDE))).json()
    ignore = {"updated_at", "version"}
    assert {k: v for k, v in again.items() if k not in ignore} == {k: v for k, v in whole.items() if k not in ignore}
    assert [p["participant_id"] for p in (await ok(reader, f"/people/{ctx.person}")).json()["participations"]] == [
        inner["participants"]["id"]
    ]


# A person still referenced cannot be deleted

REFERENCES = {
    "participant": ("participants", lambda p: {"person_id": p, "role": "lawyer"}),
    "charge (accused)": ("charges", lambda p: {"description": "Charge", "person_id": p}),
    "charge (named)": ("charges", lambda p: {"description": "Charge", "named_person_ids": [p]}),
    "sentence": ("sentences", lambda p: {"person_id": p}),
    "hearing (judge)": ("hearings", lambda p: {"kind": "trial", "date": "2012-08-16", "judge_id": p}),
    "outcome": ("outcomes", lambda p: {"kind": "convicted", "date": "2012-10-08", "person_id": p}),
    "event": ("events", lambda p: {"kind": "visit", "date": "2013", "title": "Visit", "person_ids": [p]}),
}


@pytest.mark.parametrize("reference", REFERENCES)
async def test_a_person_referenced_by_a_live_record_cannot_be_deleted(
    client: httpx.AsyncClient, connection: AsyncConnection, reference: str
) -> None:
    person = await make_person(client, "Zhanbolat Mamay")
    case = await make_case(client)
    kind, body = REFERENCES[reference]
    referrer = await post(client, f"/cases/{case['id']}/{kind}", body(person["id"]))
    entries = await audit_count(connection)

    assert_problem(await client.delete(f"{API}/people/{person['id']}"), 409)
    assert (await ok(client, f"/people/{person['id']}")).json()["version"] == 1
    assert await audit_count(connection) == entries

    assert (await client.delete(f"{API}/{kind}/{referrer['id']}")).status_code == 204
    assert (await client.delete(f"{API}/people/{person['id']}")).status_code == 204
    assert_problem(await client.get(f"{API}/people/{person['id']}"), 404)


# The changes feed


async def read_feed(http: httpx.AsyncClient, since: str = "0", limit: int = 3) -> tuple[list[Body], str]:
    """Every entry after ``since``, following ``next`` page by page; and the last ``next``."""
    entries: list[Body] = []
    for _ in range(1000):
        response = await ok(http, "/changes", since=since, limit=limit)
        page = response.json()
        if not page["items"]:
            assert page["next"] == since  # nothing new: keep asking with the same cursor
            return entries, since
        assert len(page["items"]) <= limit
        entries += page["items"]
        since = page["next"]
    raise AssertionError("the feed does not end")


def replay(entries: list[Body]) -> dict[tuple[str, str], Body]:
    state: dict[tuple[str, str], Body] = {}
    for entry in entries:
        key = (entry["record_type"], entry["record_id"])
        if entry["action"] in ("delete", "purge"):
            state.pop(key, None)
        else:
            state[key] = entry["after"]
    return state


async def current_state(http: httpx.AsyncClient) -> dict[tuple[str, str], Body]:
    """Every record the API serves, as its GET endpoint returns it."""
    state: dict[tuple[str, str], Body] = {}
    for kind in KINDS:
        for item in (await ok(http, f"/{kind}", limit=500)).json()["items"]:
            state[(RECORD_TYPE[kind], item["id"])] = item
    for (record_type, record_id), item in state.items():
        one = without_participations((await ok(http, f"/{PATH_OF[record_type]}/{record_id}")).json())
        assert one == item, (record_type, record_id)
    return state


class Log:
    """The writes a test makes, in order, as the feed should report them."""

    def __init__(self) -> None:
        self.expected: list[tuple[str, str, str]] = []

    async def write(self, http: httpx.AsyncClient, method: str, path: str, action: str, **kw: Any) -> Body | None:
        response = await http.request(method, f"{API}{path}", **kw)
        assert response.status_code in (200, 201, 204), f"{method} {path}: {response.text}"
        parts = path.strip("/").split("/")
        if action == "create":  # POST /<kind> or /cases/{id}/<kind>
            kind, record_id = parts[-1], response.json()["id"]
        else:  # /<kind>/{id}[/restore|/purge]
            kind, record_id = parts[0], parts[1]
        self.expected.append((action, RECORD_TYPE[kind], record_id))
        return response.json() if response.content else None


async def scripted_changes(client: httpx.AsyncClient, log: Log) -> dict[str, str]:
    """A mix of every kind of write, restricted records among them."""
    ids: dict[str, str] = {}

    async def new(key: str, path: str, body: Body) -> None:
        ids[key] = (await log.write(client, "POST", path, "create", json=body))["id"]  # type: ignore[index]

    await new("person", "/people", {"name": "Vladimir Kozlov", "aliases": ["Владимир Козлов"]})
    await new("secret person", "/people", {"name": "Protected witness", "restricted": True})
    await new("court", "/organizations", {"name": "Mangistau Regional Court", "kind": "court"})
    await new("prison", "/organizations", {"name": "UK-161/3", "kind": "prison"})
    await new("source", "/sources", {"title": "Eurasianet", "published_on": "2015-12-08"})
    await new("spare source", "/sources", {"title": "Never cited"})
    await new("case", "/cases", {"title": "Kozlov case", "source_ids": [ids["source"]]})
    await new("secret case", "/cases", {"title": "Sealed case", "restricted": True})
    case = ids["case"]
    await new("participant", f"/cases/{case}/participants", {"person_id": ids["person"], "role": "defendant"})
    await new(
        "charge",
        f"/cases/{case}/charges",
        {"description": "Inciting discord", "person_id": ids["person"], "named_person_ids": [ids["secret person"]]},
    )
    await new(
        "sentence",
        f"/cases/{case}/sentences",
        {"person_id": ids["person"], "term_months": 90, "start_date": "2012-10-08", "facility_id": ids["prison"]},
    )
    await new("hearing", f"/cases/{case}/hearings", {"kind": "trial", "date": "2012-08", "court_id": ids["court"]})
    await new(
        "outcome",
        f"/cases/{case}/outcomes",
        {"kind": "convicted", "date": "2012-10-08", "hearing_id": ids["hearing"], "person_id": ids["person"]},
    )
    await new(
        "event",
        f"/cases/{case}/events",
        {"kind": "arrest", "date": "2012-01-23", "title": "Arrested", "person_ids": [ids["person"]]},
    )
    await new("event 2", f"/cases/{case}/events", {"kind": "visit", "date": "2013", "title": "Visit"})
    await new("sealed event", f"/cases/{ids['secret case']}/events", {"kind": "arrest", "date": "2013", "title": "x"})

    async def change(key: str, kind: str, body: Body) -> None:
        await log.write(client, "PATCH", f"/{kind}/{ids[key]}", "update", json=body)

    await change("person", "people", {"description": "Leader of Alga!", "country": "KZ"})
    await change("case", "cases", {"status": "imprisoned", "source_ids": [ids["source"], ids["spare source"]]})
    await change("charge", "charges", {"status": "convicted", "named_person_ids": []})
    await change("event", "events", {"restricted": True})
    await change("hearing", "hearings", {"location": "Aktau"})
    await change("case", "cases", {"source_ids": [ids["source"]]})

    async def remove(key: str, kind: str, action: str = "delete") -> None:
        suffix = "" if action == "delete" else "/purge"
        method = "DELETE" if action == "delete" else "POST"
        await log.write(client, method, f"/{kind}/{ids[key]}{suffix}", action)

    await remove("event 2", "events")
    await log.write(client, "POST", f"/events/{ids['event 2']}/restore", "restore")
    await change("event 2", "events", {"title": "Visit by his wife"})
    await remove("outcome", "outcomes")
    await remove("outcome", "outcomes", "purge")
    await remove("spare source", "sources")
    await remove("spare source", "sources", "purge")
    await remove("sentence", "sentences")
    await remove("prison", "organizations")
    return ids


async def test_replaying_the_changes_feed_gives_the_current_state_of_every_record(
    client: httpx.AsyncClient, client_as: Any
) -> None:
    log = Log()
    ids = await scripted_changes(client, log)
    reader = await client_as(Role.reader)

    entries, cursor = await read_feed(reader)
    assert [(e["action"], e["record_type"], e["record_id"]) for e in entries] == log.expected
    assert [e["seq"] for e in entries] == sorted({e["seq"] for e in entries})
    assert {"delete", "purge", "restore", "update", "create"} == {e["action"] for e in entries}
    state = await current_state(reader)
    assert replay(entries) == state
    assert ("case", ids["secret case"]) in state and ("event", ids["event"]) in state  # restricted ones too

    # Asking again with the last cursor gives exactly what happened since.
    more = Log()
    await more.write(client, "PATCH", f"/people/{ids['person']}", "update", json={"name": "V. Kozlov"})
    await more.write(client, "DELETE", f"/events/{ids['event 2']}", "delete")
    news, _ = await read_feed(reader, since=cursor, limit=100)
    assert [(e["action"], e["record_type"], e["record_id"]) for e in news] == more.expected
    assert replay(entries + news) == await current_state(reader)


async def test_the_changes_feed_pages_are_consistent_whatever_their_size(
    client: httpx.AsyncClient, client_as: Any
) -> None:
    await scripted_changes(client, Log())
    reader = await client_as(Role.reader)
    whole, last = await read_feed(reader, limit=1000)
    for limit in (1, 2, 7):
        paged, cursor = await read_feed(reader, limit=limit)
        assert paged == whole
        assert cursor == last
    assert_problem(await reader.get(f"{API}/changes", params={"since": "yesterday"}), 422, "since")


@pytest.mark.parametrize("action", ["delete", "purge"])
async def test_replaying_the_feed_after_a_case_is_deleted_gives_the_current_state(
    client: httpx.AsyncClient, client_as: Any, action: str
) -> None:
    ctx = await make_ctx(client)
    for kind in INSIDE:
        await create(client, kind, ctx)
    assert (await client.delete(f"{API}/cases/{ctx.case}")).status_code == 204
    if action == "purge":
        assert (await client.post(f"{API}/cases/{ctx.case}/purge")).status_code == 204
    reader = await client_as(Role.reader)
    entries, _ = await read_feed(reader, limit=100)
    assert replay(entries) == await current_state(reader)


async def test_a_record_naming_a_deleted_record_is_restored_only_after_it(
    client: httpx.AsyncClient, client_as: Any
) -> None:
    """Restoring an event before the person it names would show a live record pointing at a hidden
    one (and the feed could not replay it): refused with 409 until the person is back."""
    ctx = await make_ctx(client)
    person = await make_person(client, "Named in an event")
    event = await create(client, "events", ctx, person_ids=[person["id"]])
    assert (await client.delete(f"{API}/events/{event['id']}")).status_code == 204
    assert (await client.delete(f"{API}/people/{person['id']}")).status_code == 204
    assert_problem(await client.post(f"{API}/events/{event['id']}/restore"), 409, person["id"])
    assert (await client.post(f"{API}/people/{person['id']}/restore")).status_code == 200
    assert (await client.post(f"{API}/events/{event['id']}/restore")).status_code == 200
    reader = await client_as(Role.reader)
    entries, _ = await read_feed(reader, limit=100)
    shown = (await ok(reader, f"/events/{event['id']}")).json()
    assert shown["person_ids"] == [person["id"]]
    assert replay(entries)[("event", event["id"])]["person_ids"] == shown["person_ids"]
    assert replay(entries) == await current_state(reader)


# Versions, ETags and If-Match: no lost updates


VERSIONED_KINDS = KINDS


def assert_etag(response: httpx.Response, version: int) -> None:
    """A record's strong tag carries its version (``"<version>-<digest of the body>"``)."""
    assert response.headers.get("etag", "").startswith(f'"{version}-'), response.headers.get("etag")
    assert response.json()["version"] == version


@pytest.mark.parametrize("kind", VERSIONED_KINDS)
async def test_if_match_prevents_lost_updates(
    client: httpx.AsyncClient, connection: AsyncConnection, kind: str
) -> None:
    ctx = await make_ctx(client)
    created = await client.post(f"{API}{collection(kind, ctx.case)}", json=body_of(kind, ctx, " (versioned)"))
    assert created.status_code == 201, created.text
    assert_etag(created, 1)
    path = f"{API}/{kind}/{created.json()['id']}"
    first = await client.get(path)
    assert_etag(first, 1)
    field, value = CHANGE[kind]

    entries = await audit_count(connection)
    stale = await client.patch(path, json={field: value}, headers={"If-Match": '"0"'})
    assert_problem(stale, 412)
    assert (await client.get(path)).json() == first.json()
    assert await audit_count(connection) == entries

    updated = await client.patch(path, json={field: value}, headers={"If-Match": first.headers["etag"]})
    assert updated.status_code == 200, updated.text
    assert_etag(updated, 2)
    assert updated.json()[field] == value
    assert_etag(await client.get(path), 2)

    # Someone still holding version 1 can neither overwrite nor delete version 2.
    lost = await client.patch(path, json={field: first.json()[field]}, headers={"If-Match": '"1"'})
    assert_problem(lost, 412)
    assert_problem(await client.delete(path, headers={"If-Match": '"1"'}), 412)
    current = await client.get(path)
    assert_etag(current, 2)
    assert current.json()[field] == value

    anything = await client.patch(path, json={field: first.json()[field]}, headers={"If-Match": "*"})
    assert anything.status_code == 200, anything.text
    assert_etag(anything, 3)
    several = await client.patch(path, json={field: value}, headers={"If-Match": '"1", "3"'})
    assert several.status_code == 200, several.text
    assert_etag(several, 4)
    assert await audit_count(connection) == entries + 3

    assert (await client.delete(path, headers={"If-Match": '"4"'})).status_code == 204
    assert_problem(await client.get(path), 404)


@pytest.mark.parametrize("kind", VERSIONED_KINDS)
async def test_delete_honours_if_match_star_and_a_record_get_answers_304(client: httpx.AsyncClient, kind: str) -> None:
    ctx = await make_ctx(client)
    record = await create(client, kind, ctx, " (conditional)")
    path = f"{API}/{kind}/{record['id']}"
    read = await client.get(path)
    assert_etag(read, 1)
    etag = read.headers["etag"]
    not_modified = await client.get(path, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    changed = await client.get(path, headers={"If-None-Match": '"0"'})
    assert changed.status_code == 200 and changed.json()["id"] == record["id"]

    field, value = CHANGE[kind]
    assert (await client.patch(path, json={field: value})).status_code == 200
    after_change = await client.get(path, headers={"If-None-Match": etag})
    assert after_change.status_code == 200  # the old tag no longer matches
    assert_etag(after_change, 2)
    assert (await client.get(path, headers={"If-None-Match": after_change.headers["etag"]})).status_code == 304
    # The version alone is no validator of the body: it may change while the version does not.
    assert (await client.get(path, headers={"If-None-Match": '"2"'})).status_code == 200

    assert (await client.delete(path, headers={"If-Match": "*"})).status_code == 204
    assert_problem(await client.get(path), 404)


@pytest.mark.parametrize("kind", VERSIONED_KINDS)
async def test_the_etag_a_record_get_answers_is_accepted_by_if_match(client: httpx.AsyncClient, kind: str) -> None:
    ctx = await make_ctx(client)
    record = await create(client, kind, ctx, " (read, then changed)")
    path = f"{API}/{kind}/{record['id']}"
    read = await client.get(path)
    field, value = CHANGE[kind]
    changed = await client.patch(path, json={field: value}, headers={"If-Match": read.headers["etag"]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == read.json()["version"] + 1
    reread = await client.get(path)
    assert reread.headers["etag"] != read.headers["etag"]
    assert (await client.delete(path, headers={"If-Match": reread.headers["etag"]})).status_code == 204
