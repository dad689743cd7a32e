"""Writes that can conflict, sent together, many times, to two server processes sharing one database.

Each pair of writes that can interfere is raced TRIALS times per backend: a delete against a write that
refers to the deleted record (for every kind that can be referred to), a restore against a purge, a
restore against deleting what the restored record refers to, concurrent PATCHes and DELETEs without
``If-Match``. Whatever the interleaving, the answers must be those of some serial order: exactly one of
two exclusive writes wins, the other is refused with a 4xx problem that says why, and the database never
ends with a live record pointing at a deleted one. A 412 is only for an ``If-Match`` the client sent, and
nothing is ever a 5xx.

The two requests of a race go out at once (asyncio.gather), each to another server process, on
connections opened beforehand; the number of trials is fixed, so the suite's time stays bounded.
"""

import asyncio
import random
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.auth.roles import Role
from tests.databases import postgres_url
from tests.helpers import API, assert_problem
from tests.servers import ROOT, Deployment, deployed, server_environment, server_errors

TRIALS = 25  # races per pair and backend
WRITERS = 10  # concurrent writes of one record without If-Match
ROUNDS = 5  # ... repeated on a new record each time
WRITING_CLIENTS = 4  # keep the database busy while tokens are created and revoked
RACE_TIMEOUT = 300.0  # safety nets against a hang, not speed requirements
CLI_TIMEOUT = 120.0


@dataclass
class Clients:
    deployment: Deployment
    one: httpx.AsyncClient
    other: httpx.AsyncClient

    def server_errors(self) -> str:
        return server_errors(self.deployment.servers)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
async def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Deployment]:
    directory = tmp_path_factory.mktemp(f"races-{request.param}")
    async with deployed(request.param, directory, Role.admin) as deployment:
        yield deployment


@pytest.fixture
async def clients(deployment: Deployment) -> AsyncIterator[Clients]:
    async with deployment.client(0) as one, deployment.client(1) as other:
        for http in (one, other):  # open the connections before the first race
            assert (await http.get(f"{API}/cases", params={"limit": 1})).status_code == 200
        yield Clients(deployment, one, other)


async def create(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    response = await http.post(f"{API}{path}", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def together(*requests: Awaitable[httpx.Response]) -> list[httpx.Response]:
    async with asyncio.timeout(RACE_TIMEOUT):
        return list(await asyncio.gather(*requests))


def tally(results: list[tuple[int, ...]]) -> str:
    return ", ".join(f"{statuses}: {count}" for statuses, count in sorted(Counter(results).items()))


# Delete against reference.


@dataclass(frozen=True)
class Reference:
    """A write that refers to a record of kind ``target`` (created fresh for each trial)."""

    name: str
    target: str  # URL segment of the referenced kind
    make_target: Callable[[httpx.AsyncClient, str], Awaitable[str]]  # (client, case id) -> new target id
    refer: Callable[[str, str, dict[str, str]], tuple[str, str, dict[str, Any]]]  # -> method, path, body


async def _person(http: httpx.AsyncClient, case: str) -> str:
    return await create(http, "/people", {"name": "Aiman Umarova"})


async def _organization(http: httpx.AsyncClient, case: str) -> str:
    return await create(http, "/organizations", {"name": "Almaty city court", "kind": "court"})


async def _source(http: httpx.AsyncClient, case: str) -> str:
    return await create(http, "/sources", {"title": "The lawyer's post"})


async def _hearing(http: httpx.AsyncClient, case: str) -> str:
    return await create(http, f"/cases/{case}/hearings", {"kind": "parole", "date": "2015-12-08"})


REFERENCES = [
    Reference(
        "participant",
        "people",
        _person,
        lambda t, case, w: ("POST", f"/cases/{case}/participants", {"person_id": t, "role": "lawyer"}),
    ),
    Reference(
        "participant moved to the person",
        "people",
        _person,
        lambda t, case, w: ("PATCH", f"/participants/{w['participant']}", {"person_id": t}),
    ),
    Reference(
        "charge naming the person",
        "people",
        _person,
        lambda t, case, w: ("POST", f"/cases/{case}/charges", {"description": "Libel", "named_person_ids": [t]}),
    ),
    Reference(
        "event naming the person",
        "people",
        _person,
        lambda t, case, w: (
            "POST",
            f"/cases/{case}/events",
            {"kind": "visit", "date": "2015", "title": "Visit", "person_ids": [t]},
        ),
    ),
    Reference(
        "hearing with the person as judge",
        "people",
        _person,
        lambda t, case, w: ("POST", f"/cases/{case}/hearings", {"kind": "trial", "date": "2012", "judge_id": t}),
    ),
    Reference(
        "sentence served in the organization",
        "organizations",
        _organization,
        lambda t, case, w: ("POST", f"/cases/{case}/sentences", {"person_id": w["person"], "facility_id": t}),
    ),
    Reference(
        "event naming the organization",
        "organizations",
        _organization,
        lambda t, case, w: (
            "POST",
            f"/cases/{case}/events",
            {"kind": "reaction", "date": "2015", "title": "Statement", "organization_ids": [t]},
        ),
    ),
    Reference(
        "person citing the source",
        "sources",
        _source,
        lambda t, case, w: ("POST", "/people", {"name": "Aliya Turusbekova", "source_ids": [t]}),
    ),
    Reference(
        "outcome of the hearing",
        "hearings",
        _hearing,
        lambda t, case, w: (
            "POST",
            f"/cases/{case}/outcomes",
            {"kind": "parole_denied", "date": "2015-12-08", "hearing_id": t},
        ),
    ),
]


@pytest.mark.parametrize("reference", REFERENCES, ids=lambda r: r.name)
async def test_delete_and_reference_never_both_win(clients: Clients, reference: Reference) -> None:
    """DELETE of a record and a write referring to it, together: exactly one succeeds."""
    one, other = clients.one, clients.other
    case = await create(one, "/cases", {"title": "Kozlov case"})
    person = await create(one, "/people", {"name": "Vladimir Kozlov"})
    world = {
        "person": person,
        "participant": await create(one, f"/cases/{case}/participants", {"person_id": person, "role": "defendant"}),
    }
    results: list[tuple[int, int]] = []
    for trial in range(TRIALS):
        target = await reference.make_target(one, case)
        method, path, body = reference.refer(target, case, world)
        deleting, referring = (one, other) if trial % 2 else (other, one)
        deleted, referred = await together(
            deleting.delete(f"{API}/{reference.target}/{target}"),
            referring.request(method, f"{API}{path}", json=body),
        )
        results.append((deleted.status_code, referred.status_code))
        assert deleted.status_code < 500 and referred.status_code < 500, clients.server_errors()
        if deleted.status_code == 204:
            # The delete went first: the reference must have been refused, naming the record.
            assert referred.status_code in (404, 422), f"both won after {tally(results)}: {referred.text}"
            assert_problem(referred, referred.status_code, target)
            assert (await one.get(f"{API}/{reference.target}/{target}")).status_code == 404
        else:
            assert_problem(deleted, 409, "referenced")
            assert referred.status_code in (200, 201), f"neither won after {tally(results)}: {referred.text}"
            assert (await other.get(f"{API}/{reference.target}/{target}")).status_code == 200
            if method == "PATCH":  # free the target, so that next trial's record is the only one referring
                await one.patch(f"{API}{path}", json={"person_id": person})


async def test_deleting_a_case_takes_along_what_is_created_in_it_meanwhile(clients: Clients) -> None:
    """A record created in a case while the case is deleted is either refused (404: no such case) or
    created first and then deleted with the case, its delete recorded in its history and the changes feed."""
    results: list[tuple[int, int]] = []
    for trial in range(TRIALS):
        case = await create(clients.one, "/cases", {"title": f"Case {trial}"})
        deleting, creating = (clients.one, clients.other) if trial % 2 else (clients.other, clients.one)
        deleted, created = await together(
            deleting.delete(f"{API}/cases/{case}"),
            creating.post(f"{API}/cases/{case}/charges", json={"description": "Inciting social discord"}),
        )
        results.append((deleted.status_code, created.status_code))
        assert deleted.status_code == 204, f"{deleted.text}\n{clients.server_errors()}"
        if created.status_code == 404:
            assert_problem(created, 404, case)
            continue
        assert created.status_code == 201, f"{created.text}\n{clients.server_errors()}"
        charge = created.json()["id"]
        assert (await clients.one.get(f"{API}/charges/{charge}")).status_code == 404
        history = (await clients.other.get(f"{API}/charges/{charge}/history")).json()["items"]
        actions = [entry["action"] for entry in history]
        assert actions == ["create", "delete"], f"charge {charge}: {actions} after {tally(results)}"


# Restore against purge, and against deleting what the restored record refers to.


async def test_restore_and_purge_never_both_win(clients: Clients) -> None:
    results: list[tuple[int, int]] = []
    for trial in range(TRIALS):
        person = await create(clients.one, "/people", {"name": "Aiman Umarova"})
        assert (await clients.one.delete(f"{API}/people/{person}")).status_code == 204
        restoring, purging = (clients.one, clients.other) if trial % 2 else (clients.other, clients.one)
        restored, purged = await together(
            restoring.post(f"{API}/people/{person}/restore"), purging.post(f"{API}/people/{person}/purge")
        )
        results.append((restored.status_code, purged.status_code))
        assert restored.status_code < 500 and purged.status_code < 500, clients.server_errors()
        after = await clients.one.get(f"{API}/people/{person}")
        if restored.status_code == 200:  # the restore went first: a live record cannot be purged
            assert_problem(purged, 409, "Delete the person first")
            assert after.status_code == 200
        else:  # the purge went first: nothing is left to restore
            assert purged.status_code == 204, f"neither won after {tally(results)}: {purged.text}"
            assert_problem(restored, 404, person)
            assert after.status_code == 404


async def test_restore_and_deleting_what_it_refers_to_never_both_win(clients: Clients) -> None:
    """Restoring a participant while its person is deleted: never a live participant of a deleted person."""
    case = await create(clients.one, "/cases", {"title": "Kozlov case"})
    results: list[tuple[int, int]] = []
    for trial in range(TRIALS):
        person = await create(clients.one, "/people", {"name": "Aliya Turusbekova"})
        participant = await create(clients.one, f"/cases/{case}/participants", {"person_id": person, "role": "spouse"})
        assert (await clients.one.delete(f"{API}/participants/{participant}")).status_code == 204
        restoring, deleting = (clients.one, clients.other) if trial % 2 else (clients.other, clients.one)
        restored, deleted = await together(
            restoring.post(f"{API}/participants/{participant}/restore"),
            deleting.delete(f"{API}/people/{person}"),
        )
        results.append((restored.status_code, deleted.status_code))
        assert restored.status_code < 500 and deleted.status_code < 500, clients.server_errors()
        if restored.status_code == 200:
            assert_problem(deleted, 409, "referenced")
            assert (await clients.other.get(f"{API}/people/{person}")).status_code == 200
        else:
            assert deleted.status_code == 204, f"both won after {tally(results)}: {restored.text}"
            assert_problem(restored, 409, person)
            assert (await clients.other.get(f"{API}/participants/{participant}")).status_code == 404


# Concurrent writes of one record without If-Match.


async def _event(clients: Clients) -> str:
    case = await create(clients.one, "/cases", {"title": "Kozlov case"})
    return await create(clients.one, f"/cases/{case}/events", {"kind": "visit", "date": "2015", "title": "Visit"})


async def test_concurrent_patches_without_if_match_all_succeed(clients: Clients) -> None:
    """Without a precondition the last writer wins: every PATCH is applied, each on top of the one before."""
    for _ in range(ROUNDS):
        path = f"{API}/events/{await _event(clients)}"
        http = [clients.one, clients.other]
        answers = await together(*(http[i % 2].patch(path, json={"title": f"Title {i}"}) for i in range(WRITERS)))
        statuses = [answer.status_code for answer in answers]
        assert statuses == [200] * WRITERS, f"{statuses}\n{[a.text for a in answers if a.status_code != 200]}"
        versions = sorted(answer.json()["version"] for answer in answers)
        assert versions == list(range(2, WRITERS + 2))
        last = next(answer for answer in answers if answer.json()["version"] == WRITERS + 1)
        final = (await clients.other.get(path)).json()
        assert (final["version"], final["title"]) == (WRITERS + 1, last.json()["title"])


async def test_concurrent_patches_and_deletes_without_if_match(clients: Clients) -> None:
    """PATCHes and DELETEs of one event together, none with If-Match: the answers of some serial order
    (one DELETE wins; what comes after it finds no event), never a 412."""
    for round_ in range(ROUNDS):
        event = await _event(clients)
        path = f"{API}/events/{event}"
        http = [clients.one, clients.other]
        methods = ["PATCH"] * (WRITERS - 3) + ["DELETE"] * 3
        random.Random(round_).shuffle(methods)
        answers = await together(
            *(
                http[i % 2].request(method, path, json={"title": f"Title {i}"} if method == "PATCH" else None)
                for i, method in enumerate(methods)
            )
        )
        statuses = [(method, answer.status_code) for method, answer in zip(methods, answers, strict=True)]
        assert all(status < 500 for _, status in statuses), clients.server_errors()
        assert sorted(status for method, status in statuses if method == "DELETE") == [204, 404, 404], statuses
        for answer in answers:
            if answer.status_code == 404:
                assert_problem(answer, 404, event)
            else:
                assert answer.status_code in (200, 204), f"{statuses}: {answer.text}"
        patched = sorted(answer.json()["version"] for answer in answers if answer.status_code == 200)
        assert patched == list(range(2, len(patched) + 2)), statuses
        history = (await clients.other.get(f"{path}/history")).json()["items"]
        assert [entry["action"] for entry in history] == ["create"] + ["update"] * len(patched) + ["delete"]


# Managing tokens from the command line while the service writes.


async def casetrack(url: str, *args: str) -> tuple[int, str, str]:
    """Run the `casetrack` command line as the operator would: exit code, standard output and error."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        cwd=ROOT,
        env=server_environment(url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(CLI_TIMEOUT):
        out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def one_sentence(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    assert lines[0].startswith("casetrack: "), stderr
    return lines[0]


async def _write_until(
    stop: asyncio.Event, http: httpx.AsyncClient, person: str, answers: list[int], wrote: asyncio.Event
) -> None:
    """PATCH a person again and again until ``stop`` (or until the token is refused); ``wrote`` once one
    write got through."""
    count = 0
    while not stop.is_set():
        count += 1
        response = await http.patch(f"{API}/people/{person}", json={"name": f"Aiman Umarova {count}"})
        answers.append(response.status_code)
        if response.status_code == 401:
            return
        if response.status_code == 200:
            wrote.set()


async def test_tokens_are_created_and_revoked_while_the_service_writes(clients: Clients) -> None:
    """`casetrack tokens create` and `revoke` wait for the write lock like API writes: exit 0 under load, and
    a revoked token stops working at once."""
    deployment = clients.deployment
    people = [await create(clients.one, "/people", {"name": "Aiman Umarova"}) for _ in range(WRITING_CLIENTS)]
    stop, answers, busy, new_token_wrote = asyncio.Event(), [], asyncio.Event(), asyncio.Event()

    async def writer(http: httpx.AsyncClient, person: str, wrote: asyncio.Event) -> asyncio.Task[None]:
        return asyncio.create_task(_write_until(stop, await stack.enter_async_context(http), person, answers, wrote))

    async with AsyncExitStack() as stack:
        writers = [await writer(deployment.client(i), p, busy) for i, p in enumerate(people)]
        try:
            async with asyncio.timeout(RACE_TIMEOUT):
                await busy.wait()
            name = f"writer-{uuid.uuid4().hex[:8]}"
            code, secret, err = await casetrack(deployment.url, "tokens", "create", "--name", name, "--role", "editor")
            assert code == 0 and "Traceback" not in err, err
            secret = secret.strip()
            # Now the new token writes too, and is revoked while it does.
            writers += [await writer(deployment.client(i, secret), p, new_token_wrote) for i, p in enumerate(people)]
            async with asyncio.timeout(RACE_TIMEOUT):
                await new_token_wrote.wait()
            code, out, err = await casetrack(deployment.url, "tokens", "revoke", name)
            assert (code, out.strip()) == (0, f"casetrack: revoked the token {name!r}."), err
            async with deployment.client(0, secret) as revoked, deployment.client(1, secret) as elsewhere:
                for http in (revoked, elsewhere):
                    refused = await http.patch(f"{API}/people/{people[0]}", json={"name": "x"})
                    assert_problem(refused, 401, "revoked")
        finally:
            stop.set()
            async with asyncio.timeout(RACE_TIMEOUT):
                await asyncio.gather(*writers)
    assert set(answers) <= {200, 401}, f"{Counter(answers)}\n{clients.server_errors()}"


async def test_a_failing_token_command_says_why_in_one_sentence(deployment: Deployment, tmp_path: Path) -> None:
    code, _, err = await casetrack(deployment.url, "tokens", "revoke", "nobody")
    assert code == 1 and "no token named 'nobody'" in one_sentence(err)
    if deployment.backend == "sqlite":
        unusable = tmp_path / "not-a-database.db"
        unusable.write_bytes(b"this is no SQLite database" * 100)
        url = f"sqlite:///{unusable}"
    else:
        url = postgres_url(f"casetrack_missing_{uuid.uuid4().hex[:8]}")
    for args in (["create", "--name", "someone", "--role", "reader"], ["revoke", "someone"], ["list"]):
        code, _, err = await casetrack(url, "tokens", *args)
        assert code == 1, err
        assert "database" in one_sentence(err)
