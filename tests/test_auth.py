"""API tokens and roles: who may read, write, see the audit log, restore and purge.

Tokens travel as ``Authorization: Bearer ...`` and are stored only as SHA-256 hashes. Roles are
ordered reader < editor < admin. Without a token, public records can be read (unless a setting says
otherwise); every write needs an editor; the audit log, restore and purge need an admin; a record's
history and the changes feed need a reader. Every test runs on SQLite and on PostgreSQL.
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.roles import Role
from app.auth.service import revoke_token
from app.config import Settings
from app.main import create_app
from app.sessions import make_sessionmaker
from tests.conftest import _http_client, make_token
from tests.helpers import API, KINDS, assert_problem, make_case, make_organization, make_person, make_source, post

Body = dict[str, Any]

# URL segment -> the path parameter naming one record of that kind
ID_PARAM = {
    "people": "person_id",
    "organizations": "organization_id",
    "sources": "source_id",
    "cases": "case_id",
    "participants": "participant_id",
    "charges": "charge_id",
    "sentences": "sentence_id",
    "hearings": "hearing_id",
    "outcomes": "outcome_id",
    "events": "event_id",
}


@dataclass
class World:
    """One live record of every kind (by URL segment), all public."""

    ids: dict[str, str]

    def __getitem__(self, kind: str) -> str:
        return self.ids[kind]


async def make_world(client: httpx.AsyncClient) -> World:
    ids: dict[str, str] = {}
    ids["people"] = (await make_person(client))["id"]
    ids["organizations"] = (await make_organization(client))["id"]
    ids["sources"] = (await make_source(client))["id"]
    ids["cases"] = case = (await make_case(client))["id"]
    ids["participants"] = (
        await post(client, f"/cases/{case}/participants", {"person_id": ids["people"], "role": "defendant"})
    )["id"]
    ids["charges"] = (await post(client, f"/cases/{case}/charges", {"description": "Inciting discord"}))["id"]
    ids["sentences"] = (await post(client, f"/cases/{case}/sentences", {"person_id": ids["people"]}))["id"]
    hearing = {"kind": "trial", "date": "2012-08-16", "court_id": ids["organizations"]}
    ids["hearings"] = (await post(client, f"/cases/{case}/hearings", hearing))["id"]
    ids["outcomes"] = (await post(client, f"/cases/{case}/outcomes", {"kind": "convicted", "date": "2012-10-08"}))["id"]
    ids["events"] = (
        await post(
            client,
            f"/cases/{case}/events",
            {"kind": "arrest", "date": "2012-01-23", "title": "Arrested", "source_ids": [ids["sources"]]},
        )
    )["id"]
    return World(ids)


def create_body(kind: str, world: World) -> Body:
    """A valid body to create one more record of this kind."""
    person = world["people"]
    return {
        "people": {"name": "Aliya Turusbekova"},
        "organizations": {"name": "Almaty City Court", "kind": "court"},
        "sources": {"title": "Another report"},
        "cases": {"title": "Another case"},
        "participants": {"person_id": person, "role": "lawyer"},
        "charges": {"description": "Another charge"},
        "sentences": {"person_id": person, "term_months": 12},
        "hearings": {"kind": "appeal", "date": "2012-11-19"},
        "outcomes": {"kind": "appeal_rejected", "date": "2012-11-19"},
        "events": {"kind": "visit", "date": "2013-02", "title": "Visited by his wife"},
    }[kind]


PATCH_BODY: dict[str, Body] = {
    "people": {"name": "Renamed"},
    "organizations": {"name": "Renamed"},
    "sources": {"title": "Renamed"},
    "cases": {"title": "Renamed"},
    "participants": {"note": "Changed"},
    "charges": {"description": "Changed"},
    "sentences": {"note": "Changed"},
    "hearings": {"location": "Changed"},
    "outcomes": {"summary": "Changed"},
    "events": {"title": "Changed"},
}


@dataclass(frozen=True)
class Write:
    method: str
    route: str  # the app's path template, e.g. /api/v1/cases/{case_id}/charges
    admin_only: bool

    def __str__(self) -> str:
        return f"{self.method} {self.route}"

    def kind(self) -> str:
        """The URL segment of the kind the request writes."""
        parts = self.route.removeprefix(API + "/").split("/")
        if self.method == "POST" and len(parts) == 3 and parts[0] == "cases" and parts[2] in ID_PARAM:
            return parts[2]  # a nested create: /cases/{case_id}/<kind>
        return parts[0]

    def url(self, world: World) -> str:
        segment = self.kind()

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "record_id":
                return world[segment]
            kind = next(k for k, param in ID_PARAM.items() if param == name)
            return world[kind]

        return re.sub(r"\{(\w+)\}", fill, self.route)

    def body(self, world: World) -> Body | None:
        if self.admin_only or self.method == "DELETE":
            return None
        if self.method == "PATCH":
            return PATCH_BODY[self.kind()]
        return create_body(self.kind(), world)


def expected_writes() -> list[Write]:
    """Every write the issue names: create (nested for what lives in a case), update, delete, restore, purge."""
    writes = []
    for kind in KINDS:
        nested = kind in ("participants", "charges", "sentences", "hearings", "outcomes", "events")
        writes.append(Write("POST", f"{API}/cases/{{case_id}}/{kind}" if nested else f"{API}/{kind}", False))
        writes.append(Write("PATCH", f"{API}/{kind}/{{{ID_PARAM[kind]}}}", False))
        writes.append(Write("DELETE", f"{API}/{kind}/{{{ID_PARAM[kind]}}}", False))
        writes.append(Write("POST", f"{API}/{kind}/{{record_id}}/restore", True))
        writes.append(Write("POST", f"{API}/{kind}/{{record_id}}/purge", True))
    return writes


WRITES = expected_writes()


async def send(http: httpx.AsyncClient, write: Write, world: World, **headers: str) -> httpx.Response:
    body = write.body(world)
    return await http.request(
        write.method, write.url(world), json=body if body is not None else None, headers=headers or None
    )


async def row_counts(connection: AsyncConnection) -> dict[str, int]:
    """Rows per table, deleted ones included: any write would change one of these (or the audit log)."""
    counts = {}
    for table in (*KINDS, "audit_entries"):
        counts[table] = (await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    counts["deleted"] = 0
    for table in KINDS:
        deleted = f"SELECT count(*) FROM {table} WHERE deleted_at IS NOT NULL"
        counts["deleted"] += (await connection.execute(text(deleted))).scalar_one()
    return counts


async def snapshot_world(client: httpx.AsyncClient, world: World) -> dict[str, tuple[int, str]]:
    """What an admin reads at every record's URL (status and body)."""
    state = {}
    for kind, record_id in world.ids.items():
        response = await client.get(f"{API}/{kind}/{record_id}")
        state[kind] = (response.status_code, response.text)
    return state


def assert_unauthorized(response: httpx.Response) -> None:
    assert_problem(response, 401)
    challenge = response.headers.get("www-authenticate")
    assert challenge is not None, f"401 without WWW-Authenticate: {response.request.method} {response.request.url}"
    assert challenge.lower().startswith("bearer"), challenge


# Tokens


async def test_tokens_are_stored_only_as_sha256_hashes(connection: AsyncConnection, client_as: Any) -> None:
    secret = await make_token(connection, Role.editor, name="hash-check")
    rows = (await connection.execute(text("SELECT * FROM api_tokens WHERE name = 'hash-check'"))).mappings().all()
    assert len(rows) == 1
    row = dict(rows[0])
    for column, value in row.items():
        assert secret not in str(value), f"the secret is stored in plain text in api_tokens.{column}"
    assert re.fullmatch(r"[0-9a-f]{64}", row["secret_hash"]), row["secret_hash"]
    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    # ...and it is the stored hash, not the secret, that lets the token in.
    editor = await client_as(secret)
    assert (await editor.post(f"{API}/people", json={"name": "Written with the token"})).status_code == 201


async def test_no_table_holds_any_secret_in_plain_text(connection: AsyncConnection, client_as: Any) -> None:
    secrets = [await make_token(connection, role) for role in Role]
    for secret in secrets:  # use each token once, so its secret has been through the app
        assert (await (await client_as(secret)).get(f"{API}/people")).status_code == 200
    rows = (await connection.execute(text("SELECT * FROM api_tokens"))).all()
    dumped = repr(rows)
    for secret in secrets:
        assert secret not in dumped
        assert hashlib.sha256(secret.encode()).hexdigest() in dumped


async def test_a_bearer_token_identifies_its_role(client: httpx.AsyncClient, client_as: Any) -> None:
    hidden = await make_person(client, "Hidden Witness", restricted=True)
    path = f"{API}/people/{hidden['id']}"
    for role in Role:  # every role sees restricted records: proof the token was read
        response = await (await client_as(role)).get(path)
        assert response.status_code == 200, (role, response.text)
        assert response.json()["name"] == "Hidden Witness"


@pytest.mark.parametrize(
    "header",
    ["Basic dXNlcjpwYXNzd29yZA==", "Bearer", "Token ct_abcdef", "ct_abcdef", "Bearer  ", "Digest username=x"],
)
async def test_a_malformed_authorization_header_is_401(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, connection: AsyncConnection, header: str
) -> None:
    person = await make_person(client)
    before = await row_counts(connection)
    # Even a read that needs no token: a client that sends a broken header gets told, not served as the public.
    assert_unauthorized(await anonymous.get(f"{API}/people/{person['id']}", headers={"Authorization": header}))
    assert_unauthorized(await anonymous.get(f"{API}/people", headers={"Authorization": header}))
    assert_unauthorized(await anonymous.post(f"{API}/people", json={"name": "X"}, headers={"Authorization": header}))
    assert await row_counts(connection) == before


@pytest.mark.parametrize("token", ["ct_this-token-was-never-issued", "not-even-the-right-prefix"])
async def test_an_unknown_token_is_401(
    client: httpx.AsyncClient, client_as: Any, connection: AsyncConnection, token: str
) -> None:
    person = await make_person(client)
    before = await row_counts(connection)
    stranger = await client_as(token)
    assert_unauthorized(await stranger.get(f"{API}/people/{person['id']}"))
    assert_unauthorized(await stranger.get(f"{API}/people"))
    assert_unauthorized(await stranger.post(f"{API}/people", json={"name": "X"}))
    assert_unauthorized(await stranger.delete(f"{API}/people/{person['id']}"))
    assert await row_counts(connection) == before


async def test_a_revoked_token_is_401_from_then_on(
    client: httpx.AsyncClient, client_as: Any, connection: AsyncConnection
) -> None:
    hidden = await make_person(client, "Hidden Witness", restricted=True)
    secret = await make_token(connection, Role.editor, name="to-be-revoked")
    other = await make_token(connection, Role.editor, name="stays-valid")
    editor = await client_as(secret)
    assert (await editor.get(f"{API}/people/{hidden['id']}")).status_code == 200
    assert (await editor.post(f"{API}/people", json={"name": "Before revocation"})).status_code == 201

    async with make_sessionmaker(connection, join_transaction_mode="create_savepoint")() as session:
        await revoke_token(session, "to-be-revoked")
        await session.commit()

    before = await row_counts(connection)
    assert_unauthorized(await editor.get(f"{API}/people/{hidden['id']}"))
    assert_unauthorized(await editor.get(f"{API}/people"))
    assert_unauthorized(await editor.post(f"{API}/people", json={"name": "After revocation"}))
    assert_unauthorized(await editor.patch(f"{API}/people/{hidden['id']}", json={"name": "Changed"}))
    assert await row_counts(connection) == before
    # The revoked secret is still unusable from a fresh client; the other token is untouched.
    assert_unauthorized(await (await client_as(secret)).get(f"{API}/people"))
    assert (await (await client_as(other)).post(f"{API}/people", json={"name": "Other token"})).status_code == 201


# Writes need an editor


async def test_the_list_of_writes_is_every_write_the_app_serves(settings: Settings) -> None:
    app = create_app(settings)
    try:
        served = {
            Write(method.upper(), path, path.endswith(("/restore", "/purge")))
            for path, operations in app.openapi()["paths"].items()
            for method in operations
            if method.upper() in {"POST", "PUT", "PATCH", "DELETE"}
        }
    finally:
        await app.state.engine.dispose()
    assert served == set(WRITES)  # so the tests below go through every one of them


async def refused_writes(http: httpx.AsyncClient, writes: list[Write], world: World, check: Any) -> list[str]:
    """Send each write; the problems with each answer (``check`` raises on a wrong one)."""
    problems = []
    for write in writes:
        response = await send(http, write, world)
        try:
            check(response)
        except AssertionError as exc:
            problems.append(f"{write}: {exc}")
    return problems


async def test_anonymous_writes_are_401_with_a_bearer_challenge(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, connection: AsyncConnection
) -> None:
    world = await make_world(client)
    state, before = await snapshot_world(client, world), await row_counts(connection)
    assert await refused_writes(anonymous, WRITES, world, assert_unauthorized) == []
    assert await row_counts(connection) == before
    assert await snapshot_world(client, world) == state


async def test_reader_writes_are_403(client: httpx.AsyncClient, client_as: Any, connection: AsyncConnection) -> None:
    world = await make_world(client)
    reader = await client_as(Role.reader)
    state, before = await snapshot_world(client, world), await row_counts(connection)
    assert await refused_writes(reader, WRITES, world, lambda r: assert_problem(r, 403)) == []
    assert await row_counts(connection) == before
    assert await snapshot_world(client, world) == state


async def test_editor_restores_and_purges_are_403(
    client: httpx.AsyncClient, client_as: Any, connection: AsyncConnection
) -> None:
    world = await make_world(client)
    editor = await client_as(Role.editor)
    admin_only = [w for w in WRITES if w.admin_only]
    state, before = await snapshot_world(client, world), await row_counts(connection)
    assert await refused_writes(editor, admin_only, world, lambda r: assert_problem(r, 403)) == []
    assert await row_counts(connection) == before
    assert await snapshot_world(client, world) == state


def _status(response: httpx.Response, expected: int) -> None:
    assert response.status_code == expected, response.text


async def test_an_editor_may_create_update_and_delete_every_kind(
    client: httpx.AsyncClient, client_as: Any, connection: AsyncConnection
) -> None:
    world = await make_world(client)
    editor = await client_as(Role.editor)
    creates = [w for w in WRITES if w.method == "POST" and not w.admin_only]
    before = await row_counts(connection)
    assert await refused_writes(editor, creates, world, lambda r: _status(r, 201)) == []
    after = await row_counts(connection)
    assert {t: after[t] - before[t] for t in KINDS} == dict.fromkeys(KINDS, 1)

    patches = [w for w in WRITES if w.method == "PATCH"]
    assert await refused_writes(editor, patches, world, lambda r: _status(r, 200)) == []
    for kind, record_id in world.ids.items():
        changed = (await client.get(f"{API}/{kind}/{record_id}")).json()
        assert {f: changed[f] for f in PATCH_BODY[kind]} == PATCH_BODY[kind], kind

    # Deletes: first what lives in the case, then what it referred to (a 409 before, not a 403).
    deletes = {w.kind(): w for w in WRITES if w.method == "DELETE"}
    inner = ["participants", "charges", "sentences", "outcomes", "hearings", "events"]
    assert await refused_writes(editor, [deletes[k] for k in inner], world, lambda r: _status(r, 204)) == []
    assert (
        await refused_writes(
            editor,
            [deletes[k] for k in ("cases", "people", "organizations", "sources")],
            world,
            lambda r: _status(r, 204),
        )
        == []
    )
    for kind, record_id in world.ids.items():
        assert (await client.get(f"{API}/{kind}/{record_id}")).status_code == 404, kind
    final = await row_counts(connection)
    assert final["deleted"] == before["deleted"] + len(KINDS)
    # A create, an update and a delete entry for each kind, plus a delete entry for each of the six
    # records created above that were still inside the case when the case was deleted.
    still_inside = len(inner)
    assert final["audit_entries"] == before["audit_entries"] + 3 * len(KINDS) + still_inside


async def test_an_editor_deleting_a_referenced_record_gets_409_not_403(
    client: httpx.AsyncClient, client_as: Any, connection: AsyncConnection
) -> None:
    world = await make_world(client)
    editor = await client_as(Role.editor)
    deletes = [w for w in WRITES if w.method == "DELETE" and w.kind() in ("people", "organizations", "sources")]
    before = await row_counts(connection)
    assert await refused_writes(editor, deletes, world, lambda r: assert_problem(r, 409)) == []
    assert await row_counts(connection) == before


async def test_an_admin_may_restore_and_purge_every_kind(
    client: httpx.AsyncClient, client_as: Any, connection: AsyncConnection
) -> None:
    world = await make_world(client)
    admin = await client_as(Role.admin)
    for kind in reversed(KINDS):  # what is inside the case first, so nothing is still referenced
        assert (await client.delete(f"{API}/{kind}/{world[kind]}")).status_code == 204, kind
    restores = [w for w in WRITES if w.route.endswith("/restore")]
    purges = [w for w in WRITES if w.route.endswith("/purge")]
    assert await refused_writes(admin, restores, world, lambda r: _status(r, 200)) == []
    for kind, record_id in world.ids.items():
        assert (await client.get(f"{API}/{kind}/{record_id}")).status_code == 200, kind
    for kind in reversed(KINDS):
        assert (await client.delete(f"{API}/{kind}/{world[kind]}")).status_code == 204, kind
    before = await row_counts(connection)
    ordered = sorted(purges, key=lambda w: -KINDS.index(w.kind()))
    assert await refused_writes(admin, ordered, world, lambda r: _status(r, 204)) == []
    after = await row_counts(connection)
    assert {t: before[t] - after[t] for t in KINDS} == dict.fromkeys(KINDS, 1)


# Reads


async def test_public_records_can_be_read_without_a_token(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    world = await make_world(client)
    for kind, record_id in world.ids.items():
        response = await anonymous.get(f"{API}/{kind}/{record_id}")
        assert response.status_code == 200, (kind, response.text)
        assert response.json()["id"] == record_id
        listed = await anonymous.get(f"{API}/{kind}")
        assert listed.status_code == 200, (kind, listed.text)
        assert record_id in [item["id"] for item in listed.json()["items"]]
    for nested in ("participants", "charges", "sentences", "hearings", "outcomes", "events", "timeline"):
        response = await anonymous.get(f"{API}/cases/{world['cases']}/{nested}")
        assert response.status_code == 200, (nested, response.text)


async def test_the_audit_log_is_for_admins_only(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, client_as: Any
) -> None:
    await make_person(client)
    assert_unauthorized(await anonymous.get(f"{API}/audit"))
    for role in (Role.reader, Role.editor):
        assert_problem(await (await client_as(role)).get(f"{API}/audit"), 403, "admin")
    response = await (await client_as(Role.admin)).get(f"{API}/audit")
    assert response.status_code == 200, response.text
    assert [e["action"] for e in response.json()["items"]] == ["create"]


async def test_history_and_the_changes_feed_need_a_reader(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, client_as: Any
) -> None:
    world = await make_world(client)
    for kind, record_id in world.ids.items():
        path = f"{API}/{kind}/{record_id}/history"
        assert_unauthorized(await anonymous.get(path))
        for role in Role:
            response = await (await client_as(role)).get(path)
            assert response.status_code == 200, (kind, role, response.text)
            assert [e["record_id"] for e in response.json()["items"]] == [record_id]
    assert_unauthorized(await anonymous.get(f"{API}/changes", params={"since": "0"}))
    for role in Role:
        response = await (await client_as(role)).get(f"{API}/changes", params={"since": "0"})
        assert response.status_code == 200, (role, response.text)
        assert {e["record_id"] for e in response.json()["items"]} == set(world.ids.values())


async def test_a_setting_can_require_a_token_for_every_read(
    client: httpx.AsyncClient, settings: Settings, connection: AsyncConnection
) -> None:
    world = await make_world(client)
    closed = settings.model_copy(update={"require_token_for_reads": True})
    reads = [f"{API}/{kind}/{record_id}" for kind, record_id in world.ids.items()]
    reads += [f"{API}/{kind}" for kind in world.ids]
    reads += [f"{API}/cases/{world['cases']}/timeline", f"{API}/hearings.ics", f"{API}/cases/{world['cases']}"]
    async with _http_client(closed, connection, None) as public:
        for path in reads:
            assert_unauthorized(await public.get(path))
        assert_unauthorized(await public.post(f"{API}/people", json={"name": "X"}))
    async with _http_client(closed, connection, await make_token(connection, Role.reader)) as reader:
        for path in reads:
            response = await reader.get(path)
            assert response.status_code == 200, (path, response.text)
        assert_problem(await reader.post(f"{API}/people", json={"name": "X"}), 403)
    # The same reads are open by default: it is the setting that closes them.
    async with _http_client(settings, connection, None) as public:
        for path in reads:
            assert (await public.get(path)).status_code == 200, path


async def test_roles_are_ordered_reader_editor_admin(
    client: httpx.AsyncClient, anonymous: httpx.AsyncClient, client_as: Any
) -> None:
    hidden = await make_person(client, "Hidden Witness", restricted=True)
    gone = await make_person(client, "Deleted Person")
    assert (await client.delete(f"{API}/people/{gone['id']}")).status_code == 204
    expected = {
        None: {"read restricted": False, "history": False, "write": False, "audit": False, "restore": False},
        Role.reader: {"read restricted": True, "history": True, "write": False, "audit": False, "restore": False},
        Role.editor: {"read restricted": True, "history": True, "write": True, "audit": False, "restore": False},
        Role.admin: {"read restricted": True, "history": True, "write": True, "audit": True, "restore": True},
    }
    for role, rights in expected.items():
        http = await client_as(role) if role is not None else anonymous
        seen = {
            "read restricted": (await http.get(f"{API}/people/{hidden['id']}")).status_code == 200,
            "history": (await http.get(f"{API}/people/{hidden['id']}/history")).status_code == 200,
            "write": (await http.post(f"{API}/sources", json={"title": "x"})).status_code == 201,
            "audit": (await http.get(f"{API}/audit")).status_code == 200,
            "restore": (await http.post(f"{API}/people/{gone['id']}/restore")).status_code == 200,
        }
        assert seen == rights, role
    assert (await client.get(f"{API}/people/{gone['id']}")).json()["name"] == "Deleted Person"
