"""A database the service's schema is not on, over real HTTP: never migrated, or migrated to an older
revision, with the service started on it without migrating (PostgreSQL's default; auto_migrate=false on
SQLite). Every request that needs the database is a 503 saying "run `casetrack migrate`", JSON API and
HTML pages alike, and so is /readyz; once the operator has run `casetrack migrate`, the same server
process serves, without a restart.
"""

import asyncio
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from app.auth.roles import Role
from app.migrate import alembic_config, upgrade
from tests.databases import throwaway_database
from tests.helpers import API, assert_problem
from tests.servers import Server, migrate, new_token, running_servers, server_environment, server_errors

BACKENDS = ["postgresql", "sqlite"]
MISSING_CASE = "0" * 32
ADVICE = "casetrack migrate"


async def _answers(server: Server) -> dict[str, httpx.Response]:
    """One request of each kind that needs the database: API reads and a write, the HTML pages, readiness."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60.0) as http:
        return {
            "list": await http.get(f"{API}/cases"),
            "record": await http.get(f"{API}/people/{MISSING_CASE}"),
            "write": await http.post(f"{API}/people", json={"name": "Aliya Turusbekova"}),
            "timeline": await http.get(f"{API}/cases/{MISSING_CASE}/timeline"),
            "search": await http.get(f"{API}/people", params={"q": "Kozlov"}),
            "page": await http.get("/"),
            "case page": await http.get(f"/cases/{MISSING_CASE}"),
            "readiness": await http.get("/readyz"),
        }


def _assert_says_migrate(answers: dict[str, httpx.Response], servers: list[Server]) -> None:
    failures = []
    for name, response in answers.items():
        retry_after = response.headers.get("retry-after", "")
        if response.status_code != 503 or ADVICE not in response.text or not retry_after.isdigit():
            failures.append(f"{name}: {response.status_code} Retry-After={retry_after!r} {response.text[:300]}")
        elif name.endswith("page"):
            if not response.headers["content-type"].startswith("text/html"):
                failures.append(f"{name}: a page answered {response.headers['content-type']}")
        else:
            assert_problem(response, 503, ADVICE)
    assert not failures, "\n".join(failures) + "\n" + server_errors(servers)


async def _assert_served_after_migrating(url: str, servers: list[Server]) -> None:
    (server,) = servers
    await migrate(url)  # `casetrack migrate`, as the operator would; the server keeps running
    answers = await _answers(server)
    served = {name: response.status_code for name, response in answers.items()}
    expected = {
        "list": 200,
        "record": 404,
        "write": 401,  # no token: refused, as ever
        "timeline": 404,
        "search": 200,
        "page": 200,
        "case page": 404,
        "readiness": 200,
    }
    assert served == expected, server_errors(servers)
    token = await new_token(url, Role.editor)
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}) as http:
        created = await http.post(f"{API}/cases", json={"title": "Kozlov case"})
        assert created.status_code == 201, created.text
        assert (await http.get(f"{API}/cases/{created.json()['id']}")).status_code == 200


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_never_migrated_database_is_503_run_casetrack_migrate(backend: str, tmp_path: Path) -> None:
    async with (
        throwaway_database(backend, tmp_path) as url,
        running_servers(1, server_environment(url, auto_migrate="false"), tmp_path) as servers,
    ):
        for _ in range(2):  # the first request, and every one after it
            _assert_says_migrate(await _answers(servers[0]), servers)
        await _assert_served_after_migrating(url, servers)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_database_at_an_older_revision_is_503_run_casetrack_migrate(backend: str, tmp_path: Path) -> None:
    scripts = ScriptDirectory.from_config(alembic_config(""))
    head = scripts.get_revision(scripts.get_current_head())
    assert head is not None and isinstance(head.down_revision, str)
    async with throwaway_database(backend, tmp_path) as url:
        await asyncio.to_thread(upgrade, url, head.down_revision)
        async with running_servers(1, server_environment(url, auto_migrate="false"), tmp_path) as servers:
            for _ in range(2):
                _assert_says_migrate(await _answers(servers[0]), servers)
            await _assert_served_after_migrating(url, servers)
