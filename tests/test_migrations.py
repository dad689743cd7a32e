"""The Alembic migrations on a fresh SQLite file and a fresh PostgreSQL database: they build exactly the
schema the models describe, undo it completely, and can be run again."""

import asyncio
import datetime as dt
import os
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, Date, DateTime, column, insert, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app import migrate
from app.config import async_database_url
from app.models import Base
from tests.databases import migrated_database, throwaway_database

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CASETRACK_TABLES = set(Base.metadata.tables)


@pytest.fixture(params=["sqlite", "postgresql"])
async def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database of each kind; a PostgreSQL one is created here and dropped after."""
    async with throwaway_database(request.param, tmp_path) as url:
        yield url


async def alembic(url: str, *args: str) -> tuple[int, str]:
    """Run the alembic command line from the project root (where alembic.ini is); returns (exit code, output)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASETRACK_") and k != "DATABASE_URL"}
    env["DATABASE_URL"] = url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "alembic",
        *args,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def schema_objects(url: str) -> set[tuple[str, str]]:
    """Every (kind, name) of object in the database's own schema: tables, indexes, triggers, views,
    sequences, functions and types (those a database makes for itself are left out)."""
    if make_url(url).get_backend_name() == "sqlite":
        with sqlite3.connect(make_url(url).database) as db:
            rows = db.execute("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchall()
        return {(kind, name) for kind, name in rows}
    engine = create_async_engine(async_database_url(url))
    try:
        async with engine.connect() as connection:
            relations = await connection.execute(
                text(
                    "SELECT c.relkind::text, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind <> 'c'"  # composite row types: one per table
                )
            )
            functions = await connection.execute(
                text(
                    "SELECT 'function', p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = 'public'"
                )
            )
            types = await connection.execute(
                text(
                    "SELECT 'type', t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                    "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r')"  # enums, domains, ranges
                )
            )
            return {(kind, name) for kind, name in [*relations, *functions, *types]}
    finally:
        await engine.dispose()


def tables(objects: set[tuple[str, str]]) -> set[str]:
    return {name for kind, name in objects if kind in ("table", "r")}


async def revisions_in(url: str) -> set[str]:
    engine = create_async_engine(async_database_url(url))
    try:
        async with engine.connect() as connection:
            return set(await connection.scalars(text("SELECT version_num FROM alembic_version")))
    finally:
        await engine.dispose()


def only_alembic_left(objects: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """What is left besides Alembic's own version table (and, on PostgreSQL, its primary key index)."""
    return {(kind, name) for kind, name in objects if not name.startswith("alembic_version")}


async def test_upgrade_check_downgrade_upgrade(fresh_url: str) -> None:
    heads = migrate.current_heads(fresh_url)
    assert len(heads) == 1, f"the migrations have several heads: {heads}"

    code, output = await alembic(fresh_url, "upgrade", "head")
    assert code == 0, output
    built = await schema_objects(fresh_url)
    assert tables(built) >= CASETRACK_TABLES
    assert await revisions_in(fresh_url) == heads

    code, output = await alembic(fresh_url, "check")
    assert code == 0, output
    assert "No new upgrade operations detected" in output

    code, output = await alembic(fresh_url, "downgrade", "base")
    assert code == 0, output
    left = await schema_objects(fresh_url)
    assert only_alembic_left(left) == set(), "downgrade base left casetrack objects behind"
    assert await revisions_in(fresh_url) == set()

    code, output = await alembic(fresh_url, "upgrade", "head")
    assert code == 0, output
    assert await schema_objects(fresh_url) == built
    assert await revisions_in(fresh_url) == heads
    code, output = await alembic(fresh_url, "check")
    assert code == 0, output


async def test_check_notices_drift(fresh_url: str) -> None:
    """`alembic check` is not vacuous: a table the models do not have is reported."""
    code, output = await alembic(fresh_url, "upgrade", "head")
    assert code == 0, output
    engine = create_async_engine(async_database_url(fresh_url))
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE stray_table (id INTEGER PRIMARY KEY)"))
    finally:
        await engine.dispose()
    code, output = await alembic(fresh_url, "check")
    assert code != 0
    assert "stray_table" in output


async def test_a_copy_of_the_migrated_template_is_what_the_migrations_build(fresh_url: str, tmp_path: Path) -> None:
    """Tests that need a migrated database but do not test the migrations take a copy of a template this
    process migrated once (tests/databases.py): the copy is at the head revision, holds exactly the objects
    the migrations build on a fresh database, and `alembic check` finds no drift from the models in it."""
    await asyncio.to_thread(migrate.upgrade, fresh_url)
    async with migrated_database(make_url(fresh_url).get_backend_name(), tmp_path) as copy:
        assert await schema_objects(copy) == await schema_objects(fresh_url)
        assert await revisions_in(copy) == migrate.current_heads(copy)
        # `alembic check` in this process (in a thread: the migration environment runs its own event loop);
        # it raises AutogenerateDiffsDetected, naming the differences, on any drift.
        await asyncio.to_thread(command.check, migrate.alembic_config(copy))


async def test_each_revision_goes_up_down_and_up_again(fresh_url: str) -> None:
    """The stairway: every revision's downgrade undoes exactly its upgrade (through app.migrate, in a thread,
    since the migration environment runs its own event loop)."""
    script = ScriptDirectory.from_config(migrate.alembic_config(fresh_url))
    revisions = list(reversed(list(script.walk_revisions())))  # base first
    assert revisions, "no migrations"
    before = only_alembic_left(await schema_objects(fresh_url))
    for revision in revisions:
        await asyncio.to_thread(migrate.upgrade, fresh_url, revision.revision)
        after = only_alembic_left(await schema_objects(fresh_url))
        if getattr(revision.module, "DATA_ONLY", False):  # rewrites rows; its own test checks them
            assert after == before, f"{revision.revision} says it changes only data"
        else:
            assert after != before, f"{revision.revision} changed nothing"
        assert await revisions_in(fresh_url) == {revision.revision}
        await asyncio.to_thread(migrate.downgrade, fresh_url, revision.down_revision or "base")
        undone = only_alembic_left(await schema_objects(fresh_url))
        assert undone == before, f"{revision.revision}'s downgrade is not its inverse"
        await asyncio.to_thread(migrate.upgrade, fresh_url, revision.revision)
        assert only_alembic_left(await schema_objects(fresh_url)) == after
        before = after
    assert await revisions_in(fresh_url) == migrate.current_heads(fresh_url)


# The first revision's columns, spelled out: the models describe the newest schema, not this one.
TZ = DateTime(timezone=True)
PEOPLE = table(
    "people",
    *(column(c) for c in ("id", "name", "description")),
    column("aliases", JSON),
    column("created_at", TZ),
    column("updated_at", TZ),
)
CASES = table("cases", column("id"), column("title"), column("created_at", TZ), column("updated_at", TZ))
EVENTS = table(
    "events",
    *(column(c) for c in ("id", "case_id", "kind", "date", "title", "quote")),
    column("date_earliest", Date),
    column("date_latest", Date),
    column("created_at", TZ),
    column("updated_at", TZ),
)
SEARCH_DOCUMENTS = table("search_documents", *(column(c) for c in ("record_type", "record_id", "title", "body")))


PERSON, CASE, EVENT = "p" * 32, "c" * 32, "e" * 32


async def first_revision_with_records(url: str) -> str:
    """Migrate to the first revision only and store a person, a case and an event there; returns the revision."""
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    first = list(script.walk_revisions())[-1].revision
    await asyncio.to_thread(migrate.upgrade, url, first)
    now = dt.datetime(2015, 12, 8, tzinfo=dt.UTC)
    stamps = {"created_at": now, "updated_at": now}
    engine = create_async_engine(async_database_url(url))
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(PEOPLE).values(
                    id=PERSON, name="Vladimir Kozlov", aliases=["Владимир Козлов"], description="Opposition", **stamps
                )
            )
            await connection.execute(insert(CASES).values(id=CASE, title="Kozlov case", **stamps))
            await connection.execute(
                insert(EVENTS).values(
                    id=EVENT,
                    case_id=CASE,
                    kind="incident",
                    date="2011",
                    date_earliest=dt.date(2011, 1, 1),
                    date_latest=dt.date(2011, 12, 31),
                    title="Zhanaozen",
                    quote="15 civilians",
                    **stamps,
                )
            )
    finally:
        await engine.dispose()
    return first


async def read(url: str, stmt: Any) -> list[Any]:
    engine = create_async_engine(async_database_url(url))
    try:
        async with engine.connect() as connection:
            return list(await connection.execute(stmt))
    finally:
        await engine.dispose()


async def search_documents(url: str) -> dict[tuple[str, str], tuple[str, str]]:
    rows = await read(url, select(SEARCH_DOCUMENTS))
    return {(row.record_type, row.record_id): (row.title, row.body) for row in rows}


async def test_upgrade_keeps_data_and_indexes_existing_records_for_search(fresh_url: str) -> None:
    first = await first_revision_with_records(fresh_url)
    await asyncio.to_thread(migrate.upgrade, fresh_url, "head")
    assert await read(fresh_url, select(PEOPLE.c.name)) == [("Vladimir Kozlov",)]
    documents = await search_documents(fresh_url)
    assert set(documents) == {("person", PERSON), ("case", CASE), ("event", EVENT)}
    assert "vladimir kozlov" in documents[("person", PERSON)][0]
    assert "kozlov case" in documents[("case", CASE)][0]
    assert "15 civilians" in documents[("event", EVENT)][1]

    await asyncio.to_thread(migrate.downgrade, fresh_url, first)
    assert await read(fresh_url, select(PEOPLE.c.name)) == [("Vladimir Kozlov",)]


async def test_backfilled_search_text_keeps_non_latin_aliases(fresh_url: str) -> None:
    await first_revision_with_records(fresh_url)
    await asyncio.to_thread(migrate.upgrade, fresh_url, "head")
    # The aliases themselves, not their JSON text (where non-Latin letters are \uXXXX escapes).
    title, _ = (await search_documents(fresh_url))[("person", PERSON)]
    assert "владимир козлов" in title


async def test_search_text_written_before_folding_is_folded(fresh_url: str) -> None:
    first = await first_revision_with_records(fresh_url)
    script = ScriptDirectory.from_config(migrate.alembic_config(fresh_url))
    folding = next(r for r in script.walk_revisions() if getattr(r.module, "DATA_ONLY", False))
    await asyncio.to_thread(migrate.upgrade, fresh_url, folding.down_revision)
    engine = create_async_engine(async_database_url(fresh_url))
    try:
        async with engine.begin() as connection:  # as the code before folding indexed them
            await connection.execute(
                SEARCH_DOCUMENTS.update()
                .where(SEARCH_DOCUMENTS.c.record_id == PERSON)
                .values(title="JOSE\u0301BELLE Straße Владимир Козлов", body="İstanbul, ½")
            )
    finally:
        await engine.dispose()
    assert first != folding.down_revision
    await asyncio.to_thread(migrate.upgrade, fresh_url, "head")
    documents = await search_documents(fresh_url)
    assert documents[("person", PERSON)] == ("josebelle strasse владимир козлов", "istanbul 1 2")
    assert documents[("case", CASE)] == ("kozlov case", "")
    if make_url(fresh_url).get_backend_name() == "sqlite":  # the FTS5 table follows its content table
        found = await read(fresh_url, text("SELECT count(*) FROM search_fts WHERE search_fts MATCH 'strasse'"))
        assert found == [(1,)]
