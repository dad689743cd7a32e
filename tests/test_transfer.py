"""`casetrack dump` and `casetrack load`: whole-database NDJSON round trips between SQLite and PostgreSQL.

Each test makes its own databases (a new SQLite file, a new PostgreSQL database beside the suite's),
because a load needs an empty database and commits, which the suite's rolled-back connections cannot show.
"""

import asyncio
import contextlib
import datetime as dt
import io
import itertools
import json
import os
import re
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    Integer,
    String,
    Table,
    func,
    insert,
    select,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import TypeDecorator

from app.cases.models import Case, Sentence
from app.config import Settings
from app.db import make_engine
from app.demo import ARTICLE, load_demo
from app.hearings.models import Hearing
from app.migrate import upgrade_engine
from app.models import Base
from app.organizations.models import Organization
from app.people.models import Person
from app.sessions import make_sessionmaker
from app.sources.models import citations
from app.transfer import BATCH_SIZE, TransferError, database_revision, dump, load, schema_revision
from tests.databases import postgres_admin, postgres_url

ROOT = Path(__file__).resolve().parent.parent
TABLES = Base.metadata.sorted_tables
LINK_TABLES = ("citations", "event_people", "event_organizations", "charge_people")
MANY = 2 * BATCH_SIZE + 345  # enough organizations to span several insert batches

NewDatabase = Callable[[str], Awaitable[str]]


@pytest.fixture
async def new_database(tmp_path: Path) -> AsyncIterator[NewDatabase]:
    """``await new_database("sqlite" | "postgresql")`` gives the URL of a new, empty, unmigrated database.

    PostgreSQL databases sort text by an English (ICU) locale, as most installations do, unlike the
    server's C default: a dump must not depend on the database's collation.
    """
    created: list[str] = []
    numbers = itertools.count()

    async def make(kind: str) -> str:
        if kind == "sqlite":
            return f"sqlite:///{tmp_path / f'casetrack-{next(numbers)}.db'}"
        name = f"casetrack_test_{uuid.uuid4().hex[:12]}"
        await postgres_admin(f"CREATE DATABASE \"{name}\" LOCALE_PROVIDER icu ICU_LOCALE 'en-US' TEMPLATE template0")
        created.append(name)
        return postgres_url(name)

    yield make
    for name in created:
        await postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@asynccontextmanager
async def engine_for(url: str, migrate: bool = True) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(Settings(database_url=url))
    try:
        if migrate:
            await upgrade_engine(engine)
        yield engine
    finally:
        await engine.dispose()


async def add_demo(engine: AsyncEngine) -> None:
    async with make_sessionmaker(engine)() as session, session.begin():
        assert await load_demo(session) > 0


async def add_awkward_rows(engine: AsyncEngine) -> None:
    """Values a careless dump would change: every script and escape, extreme dates, microseconds, a
    non-UTC offset, a float with no short decimal form, false beside null, empty text beside null, the
    largest 32-bit integer, and more rows than one batch. All of them values the API takes (a load refuses
    any other)."""
    moment = dt.datetime(2001, 2, 3, 4, 5, 6, 789012, tzinfo=dt.UTC)
    async with engine.begin() as connection:
        await connection.execute(
            insert(Person),
            [
                {
                    "id": "a" * 32,
                    "name": 'Владимир "Козлов" \\ / \n\t\u2028 Ärger 😀 زمان',
                    "aliases": ["Козлов", "😀", "a\"b'c"],
                    "birth_date": "0001-01-01/9999-12-31",
                    "birth_date_earliest": dt.date(1, 1, 1),
                    "birth_date_latest": dt.date(9999, 12, 31),
                    "created_at": moment,
                    "updated_at": moment.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=45))),
                },
            ],
        )
        await connection.execute(
            insert(Person),
            {
                "id": "b" * 32,
                "name": "No aliases",
                "aliases": [],
                "description": "",
                "created_at": moment,
                "updated_at": moment,
            },
        )
        await connection.execute(
            insert(Case), {"id": "c" * 32, "title": "Awkward", "created_at": moment, "updated_at": moment}
        )
        await connection.execute(
            insert(Sentence),
            {
                "id": "d" * 32,
                "case_id": "c" * 32,
                "person_id": "a" * 32,
                "kind": "imprisonment",
                "term_months": 12 * 200,
                "version": 2**31 - 1,
                "parole_fraction": 1 / 3,
                "created_at": moment,
                "updated_at": moment,
            },
        )
        await connection.execute(
            insert(Hearing),
            [
                {
                    "id": f"{letter}" * 32,
                    "case_id": "c" * 32,
                    "kind": "trial",
                    "date": "2015",
                    "date_earliest": dt.date(2015, 1, 1),
                    "date_latest": dt.date(2015, 12, 31),
                    "public": public,
                    "created_at": moment,
                    "updated_at": moment,
                }
                for letter, public in (("e", False), ("f", None), ("9", True))
            ],
        )
        # Keys that an English collation sorts differently from code-point order (C, SQLite).
        await connection.execute(
            insert(citations),
            [
                {"record_type": record_type, "record_id": "r" * 32, "source_id": ARTICLE}
                for record_type in ("Zebra", "apple", "_under", "Ärger", "b")
            ],
        )
        await connection.execute(
            insert(Organization),
            [
                {"id": f"{n:032x}", "name": f"Organization {n}", "kind": "ngo", "created_at": moment}
                for n in range(MANY)
            ],
        )


async def dump_text(engine: AsyncEngine) -> str:
    out = io.StringIO()
    await dump(engine, out)
    return out.getvalue()


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        return {
            table.name: (await connection.execute(select(func.count()).select_from(table))).scalar_one()
            for table in TABLES
        }


async def contents(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table as Python values, in primary-key order."""
    result = {}
    async with engine.connect() as connection:
        for table in TABLES:
            rows = (await connection.execute(select(table))).all()
            key = [table.columns.keys().index(column.name) for column in table.primary_key]
            result[table.name] = sorted((tuple(row) for row in rows), key=lambda row: [row[i] for i in key])
    return result


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def error(self) -> str:
        """stderr, which must be exactly one sentence: no traceback, no second line."""
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("casetrack: "), self.stderr
        return lines[0]


async def start(*args: str, url: str) -> asyncio.subprocess.Process:
    """The real command line, in a child process, with DATABASE_URL set."""
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("CASETRACK_DATABASE_URL", None)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        *args,
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def casetrack(*args: str, url: str, stdin: str = "") -> Run:
    process = await start(*args, url=url)
    stdout, stderr = await asyncio.wait_for(process.communicate(stdin.encode()), timeout=120)
    return Run(process.returncode or 0, stdout.decode(), stderr.decode())


def body(dump_: str) -> list[str]:
    """A dump's lines after its header (the header records when and from which database it was made)."""
    lines = dump_.splitlines()
    assert json.loads(lines[0])["format"] == "casetrack-dump"
    return lines[1:]


@pytest.fixture(scope="module")
async def sample(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A dump of the demo case plus the awkward rows, made once from a SQLite file for the tests that spoil it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sample') / 'casetrack.db'}"
    async with engine_for(url) as source:
        await add_demo(source)
        await add_awkward_rows(source)
        return await dump_text(source)


# --- round trips ----------------------------------------------------------------------------------------


def _serial_key_tables() -> list[Table]:
    """Tables keyed by a database-generated integer and with no foreign keys (so rows can be made up)."""
    return [
        table
        for table in TABLES
        if [type(column.type) for column in table.primary_key.columns] in ([Integer], [BigInteger])
        and not table.foreign_keys
    ]


def _made_up_row(table: Table, moment: dt.datetime) -> dict[str, Any]:
    plausible = {String: "x", Integer: 0, Float: 0.5, Boolean: False, Date: moment.date(), DateTime: moment, JSON: {}}
    row = {}
    for column in table.columns:
        if column.primary_key or column.nullable:
            continue
        type_ = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
        row[column.name] = next(value for kind, value in plausible.items() if isinstance(type_, kind))
    return row


async def test_load_into_postgresql_moves_key_sequences_past_the_loaded_keys(new_database):
    tables = _serial_key_tables()
    if not tables:
        pytest.skip("no table has a database-generated integer key")
    moment = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    async with engine_for(await new_database("sqlite")) as source:
        async with source.begin() as connection:
            for table in tables:
                key = table.primary_key.columns[0].name
                for value in (1, 2, 1000):
                    await connection.execute(insert(table), {**_made_up_row(table, moment), key: value})
        text_ = await dump_text(source)

    async with engine_for(await new_database("postgresql")) as target:
        await load(target, io.StringIO(text_))
        async with target.begin() as connection:
            for table in tables:
                column = table.primary_key.columns[0]
                new_key = await connection.scalar(insert(table).values(_made_up_row(table, moment)).returning(column))
                assert new_key == 1001, table.name


@pytest.mark.parametrize(("source_kind", "target_kind"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
async def test_round_trip_between_databases_loses_and_changes_nothing(new_database, source_kind, target_kind):
    async with engine_for(await new_database(source_kind)) as source:
        await add_demo(source)
        await add_awkward_rows(source)
        first = await dump_text(source)
        source_counts, source_contents = await row_counts(source), await contents(source)

    async with engine_for(await new_database(target_kind)) as target:
        loaded = await load(target, io.StringIO(first))
        second = await dump_text(target)
        target_counts, target_contents = await row_counts(target), await contents(target)

    header = json.loads(first.splitlines()[0])
    assert header["format"] == "casetrack-dump" and header["version"] == 1
    assert header["schema"] == schema_revision()
    assert header["tables"] == [table.name for table in TABLES]
    assert json.loads(second.splitlines()[0])["dialect"] == target_kind

    assert body(second) == body(first)
    assert loaded == source_counts == target_counts
    assert set(target_counts) == {table.name for table in TABLES}
    assert all(target_counts[name] > 0 for name in LINK_TABLES), target_counts
    assert target_counts["organizations"] > MANY
    assert target_contents == source_contents  # the values themselves, not only their text in the dump

    rows = {(record["table"], record["row"].get("id")): record["row"] for record in map(json.loads, body(second)[:-1])}
    awkward = rows["people", "a" * 32]
    assert awkward["name"] == 'Владимир "Козлов" \\ / \n\t\u2028 Ärger 😀 زمان'
    assert awkward["aliases"] == ["Козлов", "😀", "a\"b'c"]
    assert rows["people", "b" * 32]["description"] == ""
    assert awkward["birth_date_earliest"] == "0001-01-01" and awkward["birth_date_latest"] == "9999-12-31"
    assert awkward["created_at"] == "2001-02-03T04:05:06.789012+00:00"
    assert awkward["updated_at"] == "2001-02-03T04:05:06.789012+00:00"  # stored in UTC, written with its offset
    sentence = rows["sentences", "d" * 32]
    assert sentence["parole_fraction"] == 1 / 3 and sentence["version"] == 2**31 - 1
    hearings = {letter: rows["hearings", letter * 32]["public"] for letter in "ef9"}
    assert hearings == {"e": False, "f": None, "9": True}


async def test_dump_is_ordered_parent_first_and_by_primary_key(new_database):
    async with engine_for(await new_database("postgresql")) as engine:
        await add_demo(engine)
        await add_awkward_rows(engine)
        lines = (await dump_text(engine)).splitlines()

    records = [json.loads(line) for line in lines[1:-1]]
    order = [table.name for table in TABLES]
    positions = [order.index(record["table"]) for record in records]
    assert positions == sorted(positions)
    ids = [record["row"]["id"] for record in records if record["table"] == "organizations"]
    assert ids == sorted(ids)
    keys = [tuple(record["row"].values()) for record in records if record["table"] == "citations"]
    assert keys == sorted(keys)  # code-point order, though this database's locale sorts "_under" first
    assert [key[0] for key in keys if key[1] == "r" * 32] == ["Zebra", "_under", "apple", "b", "Ärger"]
    end = json.loads(lines[-1])
    assert end == {"end": "casetrack-dump", "rows": {name: positions.count(order.index(name)) for name in order}}


async def test_dump_refuses_an_unmigrated_database(new_database):
    async with engine_for(await new_database("postgresql"), migrate=False) as engine:
        out = io.StringIO()
        with pytest.raises(TransferError, match="no casetrack schema.*casetrack migrate"):
            await dump(engine, out)
    assert out.getvalue() == ""


# --- through the command line ---------------------------------------------------------------------------


async def test_cli_round_trip_sqlite_to_postgresql_and_back(new_database, tmp_path):
    sqlite_url, postgres_url, second_sqlite_url = (
        await new_database("sqlite"),
        await new_database("postgresql"),
        await new_database("sqlite"),
    )
    assert (await casetrack("demo", url=sqlite_url)).code == 0

    backup = tmp_path / "backup.ndjson"
    dumped = await casetrack("dump", "--output", str(backup), url=sqlite_url)
    assert dumped.code == 0, dumped.stderr
    assert dumped.stdout == ""
    assert "dumped" in dumped.error and "rows" in dumped.error
    to_stdout = await casetrack("dump", url=sqlite_url)
    assert to_stdout.code == 0, to_stdout.stderr
    assert body(to_stdout.stdout) == body(backup.read_text())
    assert sorted(path.name for path in tmp_path.iterdir() if "backup" in path.name) == ["backup.ndjson"]

    loaded = await casetrack("load", str(backup), url=postgres_url)  # a new database: load migrates it
    assert loaded.code == 0, loaded.stderr
    total = sum(json.loads(backup.read_text().splitlines()[-1])["rows"].values())
    assert f"loaded {total} rows" in loaded.stdout
    from_postgres = await casetrack("dump", url=postgres_url)
    assert from_postgres.code == 0, from_postgres.stderr
    assert body(from_postgres.stdout) == body(backup.read_text())

    from_stdin = await casetrack("load", "-", url=second_sqlite_url, stdin=from_postgres.stdout)
    assert from_stdin.code == 0, from_stdin.stderr
    again = await casetrack("dump", url=second_sqlite_url)
    assert body(again.stdout) == body(backup.read_text())


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_cli_load_into_a_non_empty_database_changes_nothing(new_database, tmp_path, sample, kind):
    backup = tmp_path / "backup.ndjson"
    backup.write_text(sample)

    url = await new_database(kind)
    async with engine_for(url) as target:
        async with target.begin() as connection:
            await connection.execute(insert(Person), {"name": "Already here", "aliases": []})
        before = await contents(target)
        run = await casetrack("load", str(backup), url=url)
        assert run.code == 1
        assert "not empty" in run.error and "people" in run.error
        assert await contents(target) == before


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_cli_load_of_a_dump_corrupted_in_the_middle_loads_nothing(new_database, tmp_path, sample, kind):
    lines = sample.splitlines(keepends=True)
    middle = len(lines) // 2  # deep into the organizations, after whole batches went in
    assert BATCH_SIZE < middle < len(lines) - BATCH_SIZE
    lines[middle - 1] = lines[middle - 1][: len(lines[middle - 1]) // 2] + "\n"  # a line cut short
    corrupted = tmp_path / "corrupted.ndjson"
    corrupted.write_text("".join(lines))

    url = await new_database(kind)
    run = await casetrack("load", str(corrupted), url=url)
    assert run.code == 1
    assert f"line {middle} is not valid JSON" in run.error
    async with engine_for(url) as target:
        assert set((await row_counts(target)).values()) == {0}


async def test_cli_load_stops_at_ctrl_c_and_loads_nothing(new_database, sample):
    url = await new_database("postgresql")
    lines = [line.encode() for line in sample.splitlines(keepends=True)]
    process = await start("load", "-", url=url)
    assert process.stdin is not None
    process.stdin.write(b"".join(lines[: BATCH_SIZE + 500]))
    await process.stdin.drain()
    async with engine_for(url, migrate=False) as engine:
        for _ in range(600):  # the command migrates the database just before it starts loading
            async with engine.connect() as connection:
                if await database_revision(connection):
                    break
            await asyncio.sleep(0.1)
        process.send_signal(signal.SIGINT)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.write(b"".join(lines[BATCH_SIZE + 500 :]))
            await process.stdin.drain()
            process.stdin.close()
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
        run = Run(process.returncode or 0, stdout.decode(), stderr.decode())
        assert run.code == 130
        assert "interrupted; nothing was loaded" in run.error
        assert set((await row_counts(engine)).values()) == {0}


def _replace_row(line: str, change: Callable[[dict[str, Any]], None]) -> str:
    record = json.loads(line)
    change(record)
    return json.dumps(record) + "\n"


def _organization_lines(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.startswith('{"table":"organizations"')]


CORRUPTIONS: dict[str, tuple[Callable[[list[str]], int], str]] = {}


def corruption(expected: str) -> Callable[[Callable[[list[str]], int]], Callable[[list[str]], int]]:
    """Register a way of spoiling a dump (in place, returning the 1-based line it spoiled) and the error."""

    def register(spoil: Callable[[list[str]], int]) -> Callable[[list[str]], int]:
        CORRUPTIONS[spoil.__name__] = (spoil, expected)
        return spoil

    return register


@corruption("line {line}: the database refused this organizations row")
def duplicate_id(lines: list[str]) -> int:
    index = _organization_lines(lines)[BATCH_SIZE + 10]
    lines[index] = lines[index - 3]
    return index + 1


@corruption("line {line}: the database refused this participants row")
def dangling_reference(lines: list[str]) -> int:
    index = next(i for i, line in enumerate(lines) if line.startswith('{"table":"participants"'))
    lines[index] = _replace_row(lines[index], lambda record: record["row"].update(person_id="0" * 31 + "x"))
    return index + 1


@corruption("line {line}: table organizations has no column founded")
def unknown_column(lines: list[str]) -> int:
    index = _organization_lines(lines)[-1]
    lines[index] = _replace_row(lines[index], lambda record: record["row"].update(founded="1990"))
    return index + 1


@corruption('line {line}: there is no table "prisoners"')
def unknown_table(lines: list[str]) -> int:
    index = _organization_lines(lines)[5]
    lines[index] = _replace_row(lines[index], lambda record: record.update(table="prisoners"))
    return index + 1


@corruption("line {line}: organizations.created_at: expected an ISO date-time")
def bad_timestamp(lines: list[str]) -> int:
    index = _organization_lines(lines)[BATCH_SIZE * 2 + 1]
    lines[index] = _replace_row(lines[index], lambda record: record["row"].update(created_at="yesterday"))
    return index + 1


@corruption("line {line}: sentences.term_months: expected an integer")
def wrong_json_type(lines: list[str]) -> int:
    index = next(i for i, line in enumerate(lines) if line.startswith('{"table":"sentences"'))
    lines[index] = _replace_row(lines[index], lambda record: record["row"].update(term_months="90"))
    return index + 1


# Rows the database would take but the API refuses: a load holds every record to the API's own rules, or
# the service answers 500 on the lists, pages and `include=` that meet the record.


def _spoil_first(lines: list[str], table: str, **changes: Any) -> int:
    index = next(i for i, line in enumerate(lines) if line.startswith(f'{{"table":"{table}"'))
    lines[index] = _replace_row(lines[index], lambda record: record["row"].update(changes))
    return index + 1


@corruption("line {line}: organizations.kind: Input should be 'court', 'prison'")
def unknown_organization_kind(lines: list[str]) -> int:
    index = _organization_lines(lines)[BATCH_SIZE + 7]  # deep in a batch, after whole batches went in
    lines[index] = _replace_row(lines[index], lambda record: record["row"].update(kind="secret_police"))
    return index + 1


@corruption("line {line}: hearings.date: '2015-13-45' is not a valid EDTF date")
def bad_edtf_date(lines: list[str]) -> int:
    return _spoil_first(lines, "hearings", date="2015-13-45")


@corruption("line {line}: people.name: String should have at most 500 characters")
def too_long_name(lines: list[str]) -> int:
    return _spoil_first(lines, "people", name="x" * 501)


@corruption("line {line}: cases.title: must not contain the NUL character")
def nul_in_a_title(lines: list[str]) -> int:
    return _spoil_first(lines, "cases", title="Kozlov\x00case")


@corruption("line {line}: events.title: must not be blank")
def blank_title(lines: list[str]) -> int:
    return _spoil_first(lines, "events", title="   ")


@corruption("line {line}: sentences.term_months: Input should be less than or equal to 2400")
def term_beyond_the_api_range(lines: list[str]) -> int:
    return _spoil_first(lines, "sentences", term_months=10**6)


@corruption("line {line}: cases.country: 'kz' is not an ISO 3166-1 alpha-2 country code")
def unknown_country(lines: list[str]) -> int:
    return _spoil_first(lines, "cases", country="kz")


@corruption("line {line}: hearings.date_earliest: is 2016-01-01, but the date '2015' begins on 2015-01-01")
def bounds_that_disagree_with_the_date(lines: list[str]) -> int:
    return _spoil_first(lines, "hearings", date="2015", date_earliest="2016-01-01", date_latest="2015-12-31")


@corruption("line {line} says table outcomes has")
def row_removed(lines: list[str]) -> int:
    index = next(i for i, line in enumerate(lines) if line.startswith('{"table":"outcomes"'))
    del lines[index]
    return len(lines)  # the closing line names the loss


@corruption("no closing line")
def truncated(lines: list[str]) -> int:
    del lines[len(lines) // 2 :]
    return 0


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("name", sorted(CORRUPTIONS))
async def test_load_names_the_bad_line_and_leaves_the_database_empty(new_database, sample, kind, name):
    lines = sample.splitlines(keepends=True)
    spoil, expected = CORRUPTIONS[name]
    line = spoil(lines)

    async with engine_for(await new_database(kind)) as target:
        with pytest.raises(TransferError) as raised:
            await load(target, io.StringIO("".join(lines)))
        assert expected.format(line=line) in str(raised.value)
        assert "\n" not in str(raised.value)
        assert set((await row_counts(target)).values()) == {0}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_cli_load_of_a_record_the_api_refuses_names_the_line_and_changes_nothing(
    new_database, tmp_path, sample, kind
):
    lines = sample.splitlines(keepends=True)
    line = unknown_organization_kind(lines)
    spoiled = tmp_path / "spoiled.ndjson"
    spoiled.write_text("".join(lines))

    url = await new_database(kind)
    run = await casetrack("load", str(spoiled), url=url)
    assert run.code == 1
    assert f"line {line}: organizations.kind: " in run.error and "secret_police" in run.error
    async with engine_for(url) as target:
        assert set((await row_counts(target)).values()) == {0}


HEADERS = {
    "another format": (lambda header: '{"format": "pg_dump", "version": 1}', "line 1 is not a casetrack dump header"),
    "a newer version": (lambda header: {**header, "version": 2}, "format version 2; this casetrack reads version 1"),
    "another schema": (lambda header: {**header, "schema": "0123456789ab"}, 'schema revision "0123456789ab"'),
    "no header": (lambda header: '{"table": "cases", "row": {}}', "line 1 is not a casetrack dump header"),
    "not JSON": (lambda header: "casetrack dump", "line 1 is not valid JSON"),
    "empty": (None, "the dump is empty"),
}


def with_header(sample: str, case: str) -> tuple[str, str]:
    """The sample with its header replaced as HEADERS[case] says, and the error that must follow."""
    change, expected = HEADERS[case]
    if change is None:
        return "", expected
    header, rest = sample.split("\n", 1)
    changed = change(json.loads(header))
    return (changed if isinstance(changed, str) else json.dumps(changed)) + "\n" + rest, expected


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("case", sorted(HEADERS))
async def test_load_refuses_a_dump_with_a_wrong_header(new_database, sample, kind, case):
    text, expected = with_header(sample, case)
    async with engine_for(await new_database(kind)) as target:
        with pytest.raises(TransferError, match=re.escape(expected)):
            await load(target, io.StringIO(text))
        assert set((await row_counts(target)).values()) == {0}


@pytest.mark.parametrize("case", ["another format", "another schema", "empty"])
async def test_cli_refuses_a_wrong_header_before_touching_the_database(new_database, tmp_path, sample, case):
    text, expected = with_header(sample, case)
    dump_file = tmp_path / "wrong.ndjson"
    dump_file.write_text(text)

    url = await new_database("sqlite")
    run = await casetrack("load", str(dump_file), url=url)
    assert run.code == 1
    assert expected in run.error
    # Refused before the database was even created.
    assert not await asyncio.to_thread(Path(url.removeprefix("sqlite:///")).exists)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_load_refuses_a_database_without_the_schema(new_database, sample, kind):
    async with engine_for(await new_database(kind), migrate=False) as target:
        with pytest.raises(TransferError, match="has no casetrack schema"):
            await load(target, io.StringIO(sample))


async def test_cli_errors_are_one_sentence_with_a_configuration_exit_code(new_database, tmp_path):
    missing = tmp_path / "missing.db"
    run = await casetrack("dump", url=f"sqlite:///{missing}")
    assert run.code == 2
    assert f"there is no SQLite database at {missing}" in run.error
    assert not missing.exists()

    server_url = await new_database("postgresql")
    async with engine_for(server_url) as engine:
        await add_demo(engine)
        text = await dump_text(engine)
    absent = server_url.rsplit("/", 1)[0] + "/casetrack_no_such_database"
    run = await casetrack("load", "-", url=absent, stdin=text)
    assert run.code == 2
    assert "cannot reach the database" in run.error and "casetrack_no_such_database" in run.error


async def test_cli_dump_to_a_file_leaves_no_file_when_it_fails(new_database, tmp_path):
    url = await new_database("postgresql")  # exists, but was never migrated
    target = tmp_path / "backup.ndjson"
    run = await casetrack("dump", "--output", str(target), url=url)
    assert run.code == 1
    assert "casetrack migrate" in run.error
    assert list(tmp_path.iterdir()) == []
