"""Validators follow the representation each viewer receives.

A record's public body depends on other records: the ids it names are blanked when those become
hidden, a person's page lists the cases they take part in, a case read with ``include`` embeds what
lies inside it. Whenever that body changes, its ETag changes too, so no cache keeps serving (or
answers 304 for) a body that still shows a record which has since been hidden. Writers' ``If-Match``
keeps working with the tag they read. A change that only touches links to hidden records is visible
to the public as a new ``version`` and ``updated_at``, and as nothing else.

Every test runs on SQLite and on PostgreSQL.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.auth.roles import Role
from app.http import etag
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


async def make_ctx(client: httpx.AsyncClient) -> Ctx:
    return await make_refs(client, "Vladimir Kozlov", "Almaty Regional Court", "A report", "Kozlov case", kind="court")


async def tagged(http: httpx.AsyncClient, path: str, **params: Any) -> tuple[Body, str]:
    """The body and the ETag of a 200 answer."""
    response = await ok(http, path, **params)
    assert response.headers.get("etag"), f"no ETag on {path}"
    assert "authorization" in response.headers.get("vary", "").lower(), response.headers.get("vary")
    return response.json(), response.headers["etag"]


async def conditional(http: httpx.AsyncClient, path: str, etag: str, **params: Any) -> httpx.Response:
    url = path if path.startswith(API) else f"{API}{path}"
    return await http.get(url, params=params, headers={"If-None-Match": etag})


async def assert_not_modified(http: httpx.AsyncClient, path: str, etag: str, **params: Any) -> None:
    response = await conditional(http, path, etag, **params)
    assert response.status_code == 304, f"{path}: {response.status_code} {response.text}"
    assert response.headers["etag"] == etag
    assert "authorization" in response.headers.get("vary", "").lower()


async def assert_changed(
    http: httpx.AsyncClient, path: str, before: Body, old_etag: str, **params: Any
) -> tuple[Body, str]:
    """The body changed, so the tag did: the old tag gets the new body (200), never a 304."""
    stale = await conditional(http, path, old_etag, **params)
    assert stale.status_code == 200, f"{path}: a stale If-None-Match got {stale.status_code}"
    body, etag = stale.json(), stale.headers["etag"]
    assert body != before
    assert etag != old_etag
    await assert_not_modified(http, path, etag, **params)
    return body, etag


def without(body: Body, *keys: str) -> Body:
    return {key: value for key, value in body.items() if key not in keys}


# A public record naming a record that is then hidden from the public


@dataclass(frozen=True)
class Dependency:
    """A public record of ``kind`` whose ``field`` names a public record of ``target`` (then restricted)."""

    kind: str
    field: str
    target: str  # people, organizations, sources or hearings
    body: Callable[[Ctx, str], Body]  # the record's body, given the target's id
    before: Callable[[Ctx, str], Any]  # what the field reads while the target is public
    after: Callable[[Ctx], Any]  # what the public reads once it is hidden

    def __str__(self) -> str:
        return f"{self.kind}.{self.field}->{self.target}"


ARREST = {"kind": "arrest", "date": "2012-01-23", "title": "Arrested"}


def base(kind: str, c: Ctx) -> Body:
    """A valid body of ``kind``, naming only the public ``c.person`` where a person is required."""
    return {
        "people": {"name": "Aliya Turusbekova"},
        "organizations": {"name": "Mangistau Regional Court", "kind": "court"},
        "cases": {"title": "Zhanaozen case"},
        "participants": {"person_id": c.person, "role": "defendant"},
        "charges": {"description": "Inciting social discord", "date": "2012-03"},
        "sentences": {"person_id": c.person, "term_months": 90, "start_date": "2012-10-08"},
        "hearings": {"kind": "trial", "date": "2012-08-16"},
        "outcomes": {"kind": "convicted", "date": "2012-10-08"},
        "events": ARREST,
    }[kind]


def _one(kind: str, field: str, target: str) -> Dependency:
    return Dependency(kind, field, target, lambda c, t: {**base(kind, c), field: t}, lambda c, t: t, lambda c: None)


def _many(kind: str, field: str, target: str, own: Callable[[Ctx], str]) -> Dependency:
    return Dependency(
        kind,
        field,
        target,
        lambda c, t: {**base(kind, c), field: [own(c), t]},
        lambda c, t: sorted([own(c), t]),
        lambda c: [own(c)],
    )


def person(c: Ctx) -> str:
    return c.person


def organization(c: Ctx) -> str:
    return c.organization


def source(c: Ctx) -> str:
    return c.source


# A free-text field of each kind, for a write that changes nothing else.
TEXT = {
    "people": "description",
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

DEPENDENCIES = [
    _many("events", "person_ids", "people", person),
    _many("events", "organization_ids", "organizations", organization),
    _one("charges", "person_id", "people"),
    _many("charges", "named_person_ids", "people", person),
    _one("sentences", "person_id", "people"),
    _one("sentences", "facility_id", "organizations"),
    _one("hearings", "judge_id", "people"),
    _one("hearings", "court_id", "organizations"),
    _one("outcomes", "person_id", "people"),
    _one("outcomes", "hearing_id", "hearings"),
    *[_many(kind, "source_ids", "sources", source) for kind in KINDS if kind != "sources"],
]


async def make_target(client: httpx.AsyncClient, target: str, ctx: Ctx) -> str:
    """A public record of ``target``, to be hidden later."""
    if target == "people":
        return (await make_person(client, "Aiman Umarova"))["id"]
    if target == "organizations":
        return (await make_organization(client, "Penal colony UK-161/3"))["id"]
    if target == "sources":
        return (await make_source(client, title="The lawyer's post"))["id"]
    return (await post(client, f"/cases/{ctx.case}/hearings", {"kind": "parole", "date": "2015-12-08"}))["id"]


@pytest.mark.parametrize("dependency", DEPENDENCIES, ids=str)
async def test_hiding_a_named_record_changes_the_public_etag(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, client_as: Any, dependency: Dependency
) -> None:
    ctx = await make_ctx(client)
    target = await make_target(client, dependency.target, ctx)
    record = await post(client, collection(dependency.kind, ctx.case), dependency.body(ctx, target))
    path = f"/{dependency.kind}/{record['id']}"
    reader = await client_as(Role.reader)

    public_before, public_etag = await tagged(anonymous, path)
    assert public_before[dependency.field] == dependency.before(ctx, target)
    await assert_not_modified(anonymous, path, public_etag)
    listing = f"/cases/{ctx.case}/{dependency.kind}" if dependency.kind in INSIDE else f"/{dependency.kind}"
    list_before, list_etag = await tagged(anonymous, listing)
    reader_before, reader_etag = await tagged(reader, path)
    assert reader_etag == public_etag  # while both see the same body, it has one tag

    hidden = await client.patch(f"{API}/{dependency.target}/{target}", json={"restricted": True})
    assert hidden.status_code == 200, hidden.text

    public_after, _ = await assert_changed(anonymous, path, public_before, public_etag)
    assert public_after[dependency.field] == dependency.after(ctx)
    assert public_after["version"] == public_before["version"]  # the record itself did not change
    assert target not in str(public_after)
    await assert_changed(anonymous, listing, list_before, list_etag)

    # The reader's view did not change, and neither did the reader's tag.
    assert (await tagged(reader, path)) == (reader_before, reader_etag)
    await assert_not_modified(reader, path, reader_etag)


async def test_a_persons_etag_follows_the_cases_the_public_sees_them_in(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    """The issue's example: a case a person takes part in becomes restricted."""
    ctx = await make_ctx(client)
    await post(client, f"/cases/{ctx.case}/participants", {"person_id": ctx.person, "role": "defendant"})
    path = f"/people/{ctx.person}"
    before, etag = await tagged(anonymous, path)
    assert [p["case_id"] for p in before["participations"]] == [ctx.case]

    assert (await client.patch(f"{API}/cases/{ctx.case}", json={"restricted": True})).status_code == 200

    after, _ = await assert_changed(anonymous, path, before, etag)
    assert after["participations"] == []
    assert after["version"] == before["version"]


async def _restrict_the_case(client: httpx.AsyncClient, case: str, participant: str) -> None:
    assert (await client.patch(f"{API}/cases/{case}", json={"restricted": True})).status_code == 200


async def _restrict_the_participant(client: httpx.AsyncClient, case: str, participant: str) -> None:
    assert (await client.patch(f"{API}/participants/{participant}", json={"restricted": True})).status_code == 200


async def _delete_the_participant(client: httpx.AsyncClient, case: str, participant: str) -> None:
    assert (await client.delete(f"{API}/participants/{participant}")).status_code == 204


async def _delete_the_case(client: httpx.AsyncClient, case: str, participant: str) -> None:
    assert (await client.delete(f"{API}/cases/{case}")).status_code == 204


async def _rename_the_case(client: httpx.AsyncClient, case: str, participant: str) -> None:
    assert (await client.patch(f"{API}/cases/{case}", json={"title": "Zhanaozen case"})).status_code == 200


PARTICIPATION_CHANGES = [
    _restrict_the_case,
    _restrict_the_participant,
    _delete_the_participant,
    _delete_the_case,
    _rename_the_case,
]


@pytest.mark.parametrize("change", PARTICIPATION_CHANGES, ids=lambda f: f.__name__.strip("_"))
async def test_a_persons_etag_changes_with_their_participations(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, change: Callable[..., Any]
) -> None:
    ctx = await make_ctx(client)
    other_case = (await make_case(client, "Another case"))["id"]
    await post(client, f"/cases/{other_case}/participants", {"person_id": ctx.person, "role": "witness"})
    participant = await post(client, f"/cases/{ctx.case}/participants", {"person_id": ctx.person, "role": "defendant"})
    path = f"/people/{ctx.person}"
    before, etag = await tagged(anonymous, path)
    assert len(before["participations"]) == 2

    await change(client, ctx.case, participant["id"])

    after, _ = await assert_changed(anonymous, path, before, etag)
    assert after["version"] == before["version"]
    assert other_case in [p["case_id"] for p in after["participations"]]


async def test_a_case_read_with_include_changes_its_etag_when_an_embedded_record_is_hidden(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    ctx = await make_ctx(client)
    event = await post(client, f"/cases/{ctx.case}/events", {**ARREST, "person_ids": [ctx.person]})
    path = f"/cases/{ctx.case}"
    for include in ("events", "events,timeline", "events,sources"):
        before, etag = await tagged(anonymous, path, include=include)
        assert [e["id"] for e in before["events"]] == [event["id"]]
        hidden = await client.patch(f"{API}/events/{event['id']}", json={"restricted": True})
        assert hidden.status_code == 200
        after, _ = await assert_changed(anonymous, path, before, etag, include=include)
        assert after["events"] == []
        assert (await client.patch(f"{API}/events/{event['id']}", json={"restricted": False})).status_code == 200


async def test_every_tag_is_the_digest_of_the_exact_body_sent(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    """One function makes every validator, from the body as sent (records add their version for If-Match)."""
    ctx = await make_ctx(client)
    event = await post(client, f"/cases/{ctx.case}/events", {**ARREST, "person_ids": [ctx.person]})
    records = [f"/events/{event['id']}", f"/people/{ctx.person}", f"/cases/{ctx.case}"]
    for path in records:
        for params in ({}, {"include": "events,timeline"}) if path.startswith("/cases") else ({},):
            response = await ok(anonymous, path, **params)
            assert response.headers["etag"] == etag(response.content, response.json()["version"]), path
    for path in ("/events", f"/cases/{ctx.case}/timeline", f"/cases/{ctx.case}/timeline.svg"):
        response = await ok(anonymous, path)
        assert response.headers["etag"] == etag(response.content), path
    page = await anonymous.get(f"/cases/{ctx.case}")
    assert page.status_code == 200 and page.headers["etag"] == etag(page.content)


# The public and a reader never share a representation


async def test_the_public_and_a_reader_get_different_tags_for_different_bodies(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, client_as: Any
) -> None:
    ctx = await make_ctx(client)
    witness = (await make_person(client, "Hidden Witness", restricted=True))["id"]
    event = await post(client, f"/cases/{ctx.case}/events", {**ARREST, "person_ids": [ctx.person, witness]})
    path = f"/events/{event['id']}"
    reader = await client_as(Role.reader)
    public_body, public_etag = await tagged(anonymous, path)
    reader_body, reader_etag = await tagged(reader, path)
    assert public_body != reader_body
    assert public_etag != reader_etag
    # Neither tag validates the other's body: a cache keyed on the tag alone could not mix them up.
    assert (await conditional(anonymous, path, reader_etag)).status_code == 200
    assert (await conditional(reader, path, public_etag)).status_code == 200
    # A response to a request with a token is for that client only.
    reader_response = await ok(reader, path)
    assert "private" in reader_response.headers["cache-control"]
    assert "private" not in (await ok(anonymous, path)).headers["cache-control"]
    # Streamed exports vary with the token too.
    csv = await ok(reader, f"/cases/{ctx.case}/events", format="csv")
    assert "authorization" in csv.headers.get("vary", "").lower()
    assert "private" in csv.headers["cache-control"]


# Writers' If-Match still works with the tag they read


@pytest.mark.parametrize("dependency", [d for d in DEPENDENCIES if d.field != "source_ids"], ids=str)
async def test_if_match_takes_the_tag_a_writer_read_after_a_named_record_is_hidden(
    client: httpx.AsyncClient, client_as: Any, dependency: Dependency
) -> None:
    ctx = await make_ctx(client)
    target = await make_target(client, dependency.target, ctx)
    record = await post(client, collection(dependency.kind, ctx.case), dependency.body(ctx, target))
    path = f"{API}/{dependency.kind}/{record['id']}"
    editor = await client_as(Role.editor)
    _, etag = await tagged(editor, path)

    # Another editor hides the record it names: the public's body changes, the editor's does not.
    assert (await client.patch(f"{API}/{dependency.target}/{target}", json={"restricted": True})).status_code == 200
    assert (await tagged(editor, path))[1] == etag

    field = TEXT[dependency.kind]
    changed = await editor.patch(path, json={field: "checked"}, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == record["version"] + 1
    new_etag = changed.headers["etag"]
    assert new_etag != etag
    assert (await tagged(editor, path))[1] == new_etag  # the write answers the tag a read would

    stale = await editor.patch(path, json={field: "overwritten"}, headers={"If-Match": etag})
    assert_problem(stale, 412)
    assert_problem(await editor.delete(path, headers={"If-Match": etag}), 412)
    assert (await ok(editor, path)).json()[field] == "checked"
    assert (await editor.delete(path, headers={"If-Match": new_etag})).status_code == 204


async def test_if_match_takes_a_persons_tag_after_their_participations_change(client: httpx.AsyncClient) -> None:
    """If-Match guards the record itself: a new participation elsewhere is no lost update of the person."""
    ctx = await make_ctx(client)
    path = f"{API}/people/{ctx.person}"
    read, etag = await tagged(client, path)
    await post(client, f"/cases/{ctx.case}/participants", {"person_id": ctx.person, "role": "defendant"})
    reread, _ = await assert_changed(client, path, read, etag)
    assert len(reread["participations"]) == 1

    changed = await client.patch(path, json={"description": "Opposition leader"}, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert_problem(await client.patch(path, json={"description": "Lost"}, headers={"If-Match": etag}), 412)
    assert (await ok(client, path)).json()["description"] == "Opposition leader"


async def test_if_match_takes_the_tag_of_a_case_read_with_include(client: httpx.AsyncClient) -> None:
    ctx = await make_ctx(client)
    path = f"{API}/cases/{ctx.case}"
    _, etag = await tagged(client, path, include="participants,timeline")
    changed = await client.patch(path, json={"status": "trial"}, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.text
    assert_problem(await client.patch(path, json={"status": "appeal"}, headers={"If-Match": etag}), 412)
    assert (await ok(client, path)).json()["status"] == "trial"


async def test_if_match_refuses_weak_and_unknown_tags(client: httpx.AsyncClient) -> None:
    ctx = await make_ctx(client)
    path = f"{API}/people/{ctx.person}"
    _, etag = await tagged(client, path)
    for sent in (f"W/{etag}", '"nonsense"', '""', "garbage", '"0"', f'"{etag}'):
        assert_problem(await client.patch(path, json={"description": "x"}, headers={"If-Match": sent}), 412)
    assert (await ok(client, path)).json()["version"] == 1


# What the public can observe of an edit to hidden links (documented in the README's security section)


async def test_an_edit_to_hidden_links_shows_the_public_only_a_new_version_and_updated_at(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, client_as: Any
) -> None:
    ctx = await make_ctx(client)
    witness = (await make_person(client, "Hidden Witness", restricted=True))["id"]
    report = (await make_source(client, title="Hidden report", restricted=True))["id"]
    event = await post(client, f"/cases/{ctx.case}/events", {**ARREST, "person_ids": [ctx.person, witness]})
    path = f"/events/{event['id']}"
    reader = await client_as(Role.reader)

    for change in ({"person_ids": [ctx.person]}, {"source_ids": [report]}, {"person_ids": [ctx.person, witness]}):
        before, etag = await tagged(anonymous, path)
        seen_before = (await ok(reader, path)).json()
        patched = await client.patch(f"{API}{path}", json=change)
        assert patched.status_code == 200, patched.text

        after, _ = await assert_changed(anonymous, path, before, etag)
        assert after["version"] == before["version"] + 1
        assert after["updated_at"] > before["updated_at"]
        assert without(after, "version", "updated_at") == without(before, "version", "updated_at")
        seen_after = (await ok(reader, path)).json()
        assert {key: seen_after[key] for key in change} != {key: seen_before[key] for key in change}


async def test_an_edit_to_hidden_links_moves_the_record_in_lists_sorted_by_updated_at(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    ctx = await make_ctx(client)
    witness = (await make_person(client, "Hidden Witness", restricted=True))["id"]
    edited = await post(client, f"/cases/{ctx.case}/events", {**ARREST, "person_ids": [witness]})
    other = await post(client, f"/cases/{ctx.case}/events", {**ARREST, "title": "Searched"})
    path = f"/cases/{ctx.case}/events"
    before = (await ok(anonymous, path, sort="-updated_at")).json()["items"]
    assert [e["id"] for e in before] == [other["id"], edited["id"]]

    patched = await client.patch(f"{API}/events/{edited['id']}", json={"person_ids": []})
    assert patched.status_code == 200, patched.text

    after = (await ok(anonymous, path, sort="-updated_at")).json()["items"]
    assert [e["id"] for e in after] == [edited["id"], other["id"]]
    assert after[1] == before[0]
    assert without(after[0], "version", "updated_at") == without(before[1], "version", "updated_at")


async def test_an_edit_to_a_hidden_judge_shows_in_a_calendar_at_most_as_new_timestamps(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    ctx = await make_ctx(client)
    judge = (await make_person(client, "Hidden Judge", restricted=True))["id"]
    hearing = await post(
        client, f"/cases/{ctx.case}/hearings", {"kind": "trial", "date": "2012-08-16", "judge_id": judge}
    )
    path = f"/cases/{ctx.case}/hearings.ics"
    before = (await ok(anonymous, path)).text
    json_before = (await ok(anonymous, f"/hearings/{hearing['id']}")).json()

    patched = await client.patch(f"{API}/hearings/{hearing['id']}", json={"judge_id": None})
    assert patched.status_code == 200, patched.text

    after = (await ok(anonymous, path)).text
    json_after = (await ok(anonymous, f"/hearings/{hearing['id']}")).json()
    assert without(json_after, "version", "updated_at") == without(json_before, "version", "updated_at")
    assert json_after["version"] == json_before["version"] + 1
    changed = {line.split(":", 1)[0] for line in set(after.splitlines()) ^ set(before.splitlines())}
    assert changed <= {"DTSTAMP", "LAST-MODIFIED"}  # whole seconds there: within one second, nothing at all
