"""How requests use the database, on an app with its own engine (as deployed, not the rolled-back test
connection the other tests share): reads run without a transaction around them, writes in one, and a
pooled connection that the database closed costs one 503, not a 500 and not the process.
"""

import gc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from app.auth.roles import Role
from app.config import Settings, get_settings
from app.main import GC_THRESHOLDS, create_app, create_server_app
from tests.databases import add_token, migrated_database, postgres_admin


@dataclass
class Deployed:
    name: str
    url: str
    http: httpx.AsyncClient
    executed: list[tuple[str, dict[str, Any]]]  # (statement, the connection's execution options)


@pytest.fixture(params=["sqlite", "postgresql"])
async def deployed(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Deployed]:
    async with migrated_database(request.param, tmp_path) as url:
        settings = Settings(database_url=url, auto_migrate=False, rate_limit_per_address="", rate_limit_per_token="")
        token = await add_token(settings, "editor", Role.editor)
        app = create_app(settings)
        executed: list[tuple[str, dict[str, Any]]] = []

        @event.listens_for(app.state.engine.sync_engine, "before_cursor_execute")
        def _record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            executed.append((statement, dict(conn.get_execution_options())))

        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=transport, base_url="http://casetrack.test", headers={"Authorization": f"Bearer {token}"}
            ) as http,
        ):
            executed.clear()  # what the process read once on start (its schema revision), not a request
            yield Deployed(request.param, url, http, executed)


def _in_transaction(deployed: Deployed, options: dict[str, Any]) -> bool:
    if deployed.name == "postgresql":
        return options.get("isolation_level") != "AUTOCOMMIT"
    return not options.get("casetrack_read_only", False)


async def test_reads_run_without_begin_and_commit_writes_in_one_transaction(deployed: Deployed) -> None:
    created = await deployed.http.post("/api/v1/people", json={"name": "Mukhtar Dzhakishev"})
    assert created.status_code == 201, created.text
    write = list(deployed.executed)
    assert any(s.startswith("INSERT INTO people") for s, _ in write)
    assert all(_in_transaction(deployed, options) for _, options in write)
    if deployed.name == "sqlite":
        assert [s for s, _ in write][0] == "BEGIN IMMEDIATE"  # the write lock first: writers queue

    deployed.executed.clear()
    read = await deployed.http.get(created.headers["Location"])
    assert read.status_code == 200, read.text
    statements = [s for s, _ in deployed.executed]
    # The token lookup, the person and their cases: no BEGIN, no COMMIT, no transaction around them.
    assert len(statements) >= 2
    assert {s.split()[0] for s in statements} == {"SELECT"}, statements
    assert not any(_in_transaction(deployed, options) for _, options in deployed.executed)


# Only PostgreSQL: an SQLite connection is a file handle in the process, which nothing outside can close.
@pytest.mark.parametrize("deployed", ["postgresql"], indirect=True)
async def test_a_connection_the_database_closed_costs_one_503(deployed: Deployed) -> None:
    assert (await deployed.http.get("/api/v1/people")).status_code == 200  # a pooled connection now exists
    database = deployed.url.rsplit("/", 1)[1]
    await postgres_admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'")

    lost = await deployed.http.get("/api/v1/people")
    assert lost.status_code == 503, lost.text
    assert lost.headers["content-type"] == "application/problem+json"
    assert lost.headers["retry-after"] == "1"
    assert "retry" in lost.json()["detail"]
    again = await deployed.http.get("/api/v1/people")
    assert again.status_code == 200, again.text


async def test_a_server_process_tunes_the_garbage_collector_once_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`casetrack serve` builds its app with create_server_app: after start-up the objects that live as long
    as the process are frozen out of the collector's scans and young objects are collected less often."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'casetrack.db'}")
    get_settings.cache_clear()
    thresholds = gc.get_threshold()
    try:
        tools_app = create_app()  # what tests and tools build: started, it leaves the collector alone
        async with tools_app.router.lifespan_context(tools_app):
            assert gc.get_threshold() == thresholds
            assert gc.get_freeze_count() == 0
        app = create_server_app()
        assert gc.get_threshold() == thresholds  # nothing changes before the server starts it
        async with app.router.lifespan_context(app):
            assert gc.get_threshold() == GC_THRESHOLDS
            assert gc.get_freeze_count() > 10_000  # the modules, mappers and routes loaded by now
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://casetrack.test") as http:
                assert (await http.get("/api/v1/cases")).status_code == 200
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        get_settings.cache_clear()


async def test_a_record_by_id_is_one_statement_plus_the_token_check(deployed: Deployed) -> None:
    created = await deployed.http.post(
        "/api/v1/cases", json={"title": "Kozlov", "country": "KZ", "opened_on": "2012-01-23"}
    )
    assert created.status_code == 201, created.text
    path = created.headers["Location"]

    deployed.executed.clear()
    assert (await deployed.http.get(path)).status_code == 200
    statements = [s for s, _ in deployed.executed]
    assert len(statements) == 2, statements
    assert "FROM api_tokens" in statements[0] and "FROM cases" in statements[1]

    deployed.executed.clear()
    anonymous = await deployed.http.get(path, headers={"Authorization": ""})
    assert anonymous.status_code == 200, anonymous.text
    assert [s.split("FROM")[-1].split()[0] for s, _ in deployed.executed] == ["cases"]
