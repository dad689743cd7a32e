"""Dump a whole database as NDJSON and load it back, for backups and for moving between SQLite and PostgreSQL.

A dump is one JSON object per line:

    {"format": "casetrack-dump", "version": 1, "schema": "<alembic revision>", "tables": [...], ...}
    {"table": "cases", "row": {"id": "...", "title": "...", "created_at": "2026-01-02T03:04:05.678901+00:00", ...}}
    ...
    {"end": "casetrack-dump", "rows": {"cases": 1, "people": 5, ...}}

Tables come parent-first (``Base.metadata.sorted_tables``) and rows in primary-key order, so a dump of the
same data is the same bytes on either database, and a load can insert as it reads. The closing line
carries every table's row count, so a truncated or trimmed file is refused instead of half-loaded.
Dates and times are ISO 8601 strings (times always in UTC with their offset), JSON columns are JSON.
"""

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TYPE_CHECKING, Any

from alembic.runtime.migration import MigrationContext
from pydantic import BaseModel, ValidationError
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    Table,
    func,
    literal,
    select,
)
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import TypeDecorator, TypeEngine

from app.dates import edtf_bounds
from app.migrate import current_heads
from app.models import Base
from app.records import edtf_fields
from app.resources import RESOURCES

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

FORMAT = "casetrack-dump"
VERSION = 1
BATCH_SIZE = 1000


class TransferError(Exception):
    """A dump or load that cannot go on; the message is one sentence meant for the person running it."""


def schema_revision() -> str:
    """The Alembic revision this code's models correspond to (the migrations' head)."""
    return ",".join(sorted(current_heads("")))


async def database_revision(connection: AsyncConnection) -> str | None:
    """The revision the database has been migrated to, or None when it has no casetrack schema."""

    def read(sync_connection: Any) -> tuple[str, ...]:
        return MigrationContext.configure(sync_connection).get_current_heads()

    heads = await connection.run_sync(read)
    return ",".join(sorted(heads)) or None


def _tables() -> list[Table]:
    return list(Base.metadata.sorted_tables)


# --- values: how each column type becomes JSON and back -------------------------------------------------


@dataclass(frozen=True)
class Codec:
    encode: Callable[[Any], Any]
    # Turns a JSON value into what the column takes; raises ValueError with the reason when it cannot.
    decode: Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


def _expect(kind: type | tuple[type, ...], name: str) -> Callable[[Any], Any]:
    def decode(value: Any) -> Any:
        # bool is an int in Python, but true is not a number in a dump.
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise ValueError(f"expected {name}, got {json.dumps(value)[:60]}")
        return value

    return decode


def _decode_float(value: Any) -> float:
    return float(_expect((int, float), "a number")(value))


def _decode_date(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(_expect(str, "an ISO date")(value))
    except ValueError:
        raise ValueError(f"expected an ISO date (YYYY-MM-DD), got {json.dumps(value)[:60]}") from None


def _encode_datetime(value: dt.datetime) -> str:
    # Stored values are UTC already (UTCDateTime); normalising here keeps both databases' dumps identical.
    return (value.astimezone(dt.UTC) if value.tzinfo is not None else value).isoformat()


def _datetime_decoder(with_zone: bool) -> Callable[[Any], dt.datetime]:
    def decode(value: Any) -> dt.datetime:
        try:
            parsed = dt.datetime.fromisoformat(_expect(str, "an ISO date-time")(value))
        except ValueError:
            raise ValueError(f"expected an ISO date-time, got {json.dumps(value)[:60]}") from None
        if with_zone and parsed.tzinfo is None:
            raise ValueError(f"expected a date-time with a time zone offset, got {json.dumps(value)}")
        return parsed

    return decode


def _decode_decimal(value: Any) -> Decimal:
    try:
        return Decimal(_expect(str, "a decimal number as a string")(value))
    except InvalidOperation:
        raise ValueError(f"expected a decimal number as a string, got {json.dumps(value)[:60]}") from None


def _codec(column: Column[Any]) -> Codec:
    type_: TypeEngine[Any] = column.type
    if isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    # Order matters: Float is a Numeric, Text is a String.
    if isinstance(type_, JSON):
        return Codec(_same, _same)
    if isinstance(type_, DateTime):
        return Codec(_encode_datetime, _datetime_decoder(bool(type_.timezone)))
    if isinstance(type_, Date):
        return Codec(dt.date.isoformat, _decode_date)
    if isinstance(type_, Boolean):
        return Codec(_same, _expect(bool, "true or false"))
    if isinstance(type_, Integer):
        return Codec(_same, _expect(int, "an integer"))
    if isinstance(type_, Float):
        return Codec(_same, _decode_float)
    if isinstance(type_, Numeric):
        return Codec(str, _decode_decimal)
    if isinstance(type_, String):
        return Codec(_same, _expect(str, "a string"))
    raise TransferError(
        f"column {column.table.name}.{column.name} has type {type_!r}, which the dump format cannot carry yet "
        "(teach app/transfer.py how to write it)"
    )


def _codecs(table: Table) -> dict[str, Codec]:
    return {column.name: _codec(column) for column in table.columns}


def _line(record: dict[str, Any]) -> str:
    # ASCII-only output survives any terminal or locale encoding; json.loads restores every character.
    return json.dumps(record, separators=(",", ":")) + "\n"


# --- dump ------------------------------------------------------------------------------------------------


def _primary_key_order(table: Table, dialect: str) -> list[Any]:
    # PostgreSQL sorts text by the database's locale; "C" sorts by code point, as SQLite does, so a dump
    # is the same on both.
    return [
        column.collate("C") if dialect == "postgresql" and isinstance(column.type, String) else column
        for column in table.primary_key.columns
    ]


async def dump(engine: AsyncEngine, out: "SupportsWrite[str]") -> dict[str, int]:
    """Write every table to ``out`` as NDJSON, streaming; returns the row count of each table.

    One transaction reads everything, so the dump is a consistent snapshot even while the API writes.
    """
    tables = _tables()
    codecs = {table.name: _codecs(table) for table in tables}  # an unsupported column fails before any output
    counts: dict[str, int] = {}
    async with engine.connect() as connection:
        dialect = connection.dialect.name
        if dialect == "postgresql":
            await connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        async with connection.begin():
            revision, expected = await database_revision(connection), schema_revision()
            if revision != expected:
                found = f"is at schema revision {revision}" if revision else "has no casetrack schema"
                raise TransferError(
                    f"the database {found}, but this casetrack writes revision {expected}: "
                    "run `casetrack migrate` first"
                )
            out.write(
                _line(
                    {
                        "format": FORMAT,
                        "version": VERSION,
                        "schema": expected,
                        "tables": [table.name for table in tables],
                        "dialect": dialect,
                        "created_at": dt.datetime.now(dt.UTC).isoformat(),
                    }
                )
            )
            for table in tables:
                names = [column.name for column in table.columns]
                encoders = [codecs[table.name][name].encode for name in names]
                query = select(table).order_by(*_primary_key_order(table, dialect))
                result = await connection.stream(query.execution_options(yield_per=BATCH_SIZE))
                count = 0
                async for rows in result.partitions():
                    out.write(
                        "".join(
                            _line(
                                {
                                    "table": table.name,
                                    "row": {
                                        name: None if value is None else encode(value)
                                        for name, encode, value in zip(names, encoders, row, strict=True)
                                    },
                                }
                            )
                            for row in rows
                        )
                    )
                    count += len(rows)
                counts[table.name] = count
            out.write(_line({"end": FORMAT, "rows": counts}))
    return counts


# --- load ------------------------------------------------------------------------------------------------


def _parse(number: int, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TransferError(f"line {number} is not valid JSON ({exc.msg} at column {exc.colno})") from None


def read_header(text: str) -> dict[str, Any]:
    """Check a dump's first line: the right format and version, and this code's schema revision."""
    header = _parse(1, text)
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise TransferError(f'line 1 is not a casetrack dump header (expected {{"format": "{FORMAT}", ...}})')
    if header.get("version") != VERSION:
        raise TransferError(
            f"the dump has format version {json.dumps(header.get('version'))}; this casetrack reads version {VERSION}"
        )
    expected = schema_revision()
    if header.get("schema") != expected:
        raise TransferError(
            f"the dump was written at schema revision {json.dumps(header.get('schema'))}, but this casetrack is "
            f"at {expected}: load it with the casetrack release that wrote it, then run `casetrack migrate`"
        )
    return header


def _numbered(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(line number, text) for each line; a line that is not UTF-8 is reported by its number."""
    iterator = iter(lines)
    number = 0
    while True:
        number += 1
        try:
            text = next(iterator)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise TransferError(f"line {number} is not UTF-8 text") from None
        yield number, text


def database_message(exc: StatementError) -> str:
    """The driver's own first line for a database error, without SQLAlchemy's wrapping."""
    error = getattr(exc, "orig", None) or exc
    text = re.sub(r"^<class '[\w.]+'>:\s*", "", str(error).strip())
    message = text.splitlines()[0] if text else type(error).__name__
    detail = getattr(error.__cause__, "detail", None)  # asyncpg: "Key (id)=(...) already exists."
    return f"{message} ({detail})" if detail else message


class _Inserter:
    """Collects consecutive rows of one table and inserts them BATCH_SIZE at a time."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.table: Table | None = None
        self.batch: list[tuple[int, dict[str, Any]]] = []

    async def add(self, number: int, table: Table, row: dict[str, Any]) -> None:
        if table is not self.table or len(self.batch) >= BATCH_SIZE:
            await self.flush()
            self.table = table
        self.batch.append((number, row))

    async def flush(self) -> None:
        if not self.batch or self.table is None:
            return
        table, batch, self.batch = self.table, self.batch, []
        # A savepoint per batch: when the database refuses one, retrying row by row names the line.
        savepoint = await self.connection.begin_nested()
        try:
            await self.connection.execute(table.insert(), [row for _, row in batch])
        except StatementError as exc:
            await savepoint.rollback()
            for number, row in batch:
                try:
                    await self.connection.execute(table.insert(), row)
                except StatementError as row_exc:
                    raise TransferError(
                        f"line {number}: the database refused this {table.name} row: {database_message(row_exc)}"
                    ) from None
            raise TransferError(
                f"lines {batch[0][0]}-{batch[-1][0]}: the database refused these {table.name} rows: "
                f"{database_message(exc)}"
            ) from None
        else:
            await savepoint.commit()


@dataclass(frozen=True)
class RecordRules:
    """What the API takes for a record of one kind: its Create schema (given the fields that are columns),
    and the calendar bounds it stores beside each EDTF date."""

    schema: type[BaseModel]
    fields: tuple[str, ...]
    dated: frozenset[str]


def _record_rules() -> dict[str, RecordRules]:
    """The rules of each record table; link, audit, search and token tables have none beyond their columns."""
    rules = {}
    for resource in RESOURCES:
        table = resource.model.__table__
        assert isinstance(table, Table)  # as every declarative model's is
        fields = tuple(name for name in resource.create.model_fields if name in table.columns)
        rules[table.name] = RecordRules(
            resource.create,
            fields,
            edtf_fields(resource.model),  # type: ignore[arg-type]  # python/mypy#11470: a class is Hashable
        )
    return rules


def _is_text(value: Any) -> bool:
    """Free text, or a list of it (aliases): what the API normalises; not a value from a closed list."""
    if isinstance(value, list):
        return all(_is_text(item) for item in value)
    return isinstance(value, str) and not isinstance(value, Enum)


def _check_record(number: int, name: str, row: dict[str, Any], values: dict[str, Any], rules: RecordRules) -> None:
    """Refuse a record the API would refuse: whatever a load writes, the service can serve."""
    try:
        validated = rules.schema.model_validate({field: row[field] for field in rules.fields})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        got = json.dumps(error["input"], default=str)[:60]
        raise TransferError(f"line {number}: {name}.{field}: {message} (got {got})") from None
    # Text is stored as the API stores it (NFC, trimmed): a dump of an older database, written before
    # text was normalised, loads into the form every filter and export expects.
    for field in rules.fields:
        if _is_text(value := getattr(validated, field)) and _is_text(values[field]):
            values[field] = value
    for field in sorted(rules.dated):
        date = values[field]
        bounds = None if date is None else edtf_bounds(date)  # valid: the schema took it
        for end, word in (("earliest", "begins"), ("latest", "ends")):
            stored, expected = values[f"{field}_{end}"], None if bounds is None else getattr(bounds, end)
            if stored != expected:
                should = f"the date {date!r} {word} on {expected}" if bounds else f"{field} is null, so it must be"
                raise TransferError(f"line {number}: {name}.{field}_{end}: is {stored}, but {should}")


def _decode_row(
    number: int,
    record: Any,
    tables: dict[str, Table],
    codecs: dict[str, dict[str, Codec]],
    rules: dict[str, RecordRules],
) -> Any:
    if not isinstance(record, dict) or set(record) != {"table", "row"} or not isinstance(record["row"], dict):
        raise TransferError(f'line {number} is not a row (expected {{"table": NAME, "row": {{...}}}})')
    name = record["table"]
    if name not in tables:
        raise TransferError(f"line {number}: there is no table {json.dumps(name)}")
    row, columns = record["row"], codecs[name]
    if unknown := sorted(set(row) - set(columns)):
        raise TransferError(f"line {number}: table {name} has no column {', '.join(unknown)}")
    if missing := [column for column in columns if column not in row]:
        raise TransferError(f"line {number}: the {name} row lacks column {', '.join(missing)}")
    values = {}
    for column, codec in columns.items():
        value = row[column]
        try:
            values[column] = None if value is None else codec.decode(value)
        except ValueError as exc:
            raise TransferError(f"line {number}: {name}.{column}: {exc}") from None
    if name in rules:
        _check_record(number, name, row, values, rules[name])
    return tables[name], values


async def _refuse_non_empty(connection: AsyncConnection, tables: list[Table]) -> None:
    for table in tables:
        if (await connection.execute(select(literal(1)).select_from(table).limit(1))).first():
            raise TransferError(
                f"the database is not empty (table {table.name} has rows): load a dump only into a new database"
            )


async def load(engine: AsyncEngine, lines: Iterable[str]) -> dict[str, int]:
    """Load a dump into an empty, migrated database in one transaction; returns the rows per table.

    Anything wrong (a malformed line, an unknown table or column, a record the API would refuse, a row the
    database refuses, a missing closing line) raises TransferError naming the line, and nothing is written.
    """
    numbered = _numbered(lines)
    first = next(numbered, None)
    if first is None:
        raise TransferError("the dump is empty (no header line)")
    header = read_header(first[1])
    tables = {table.name: table for table in _tables()}
    codecs = {name: _codecs(table) for name, table in tables.items()}
    rules = _record_rules()
    counts = dict.fromkeys(tables, 0)
    async with engine.begin() as connection:
        revision = await database_revision(connection)
        if revision != header["schema"]:
            found = f"is at schema revision {revision}" if revision else "has no casetrack schema"
            raise TransferError(f"the database {found}, not the dump's {header['schema']}: run `casetrack migrate`")
        await _refuse_non_empty(connection, list(tables.values()))
        inserter = _Inserter(connection)
        end: tuple[int, Any] | None = None
        for number, text in numbered:
            if not text.strip():
                continue  # a blank line (say, a trailing one) carries nothing
            record = _parse(number, text)
            if end is not None:
                raise TransferError(f"line {number} comes after the closing line {end[0]}")
            if isinstance(record, dict) and "end" in record:
                end = (number, record)
                continue
            table, values = _decode_row(number, record, tables, codecs, rules)
            await inserter.add(number, table, values)
            counts[table.name] += 1
        if end is None:
            raise TransferError("the dump has no closing line: it is incomplete (truncated?), so nothing was loaded")
        await inserter.flush()
        _check_counts(*end, counts)
        await _advance_sequences(connection, list(tables.values()))
    return counts


async def _advance_sequences(connection: AsyncConnection, tables: list[Table]) -> None:
    """Move PostgreSQL's key sequences (serial, identity) past the keys just loaded, or the next insert
    would collide with them. SQLite needs nothing: its integer keys continue from the largest one."""
    if connection.dialect.name != "postgresql":
        return
    quoted = connection.dialect.identifier_preparer.format_table
    for table in tables:
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer):
                # NULL (and so a no-op) for a column without a sequence.
                sequence = func.pg_get_serial_sequence(quoted(table), column.name)
                await connection.execute(
                    select(func.setval(sequence, func.coalesce(func.max(column), 0) + 1, False)).select_from(table)
                )


def _check_counts(number: int, end: Any, counts: dict[str, int]) -> None:
    if end.get("end") != FORMAT or not isinstance(end.get("rows"), dict):
        raise TransferError(f'line {number} is not a closing line (expected {{"end": "{FORMAT}", "rows": {{...}}}})')
    if unknown := sorted(set(end["rows"]) - set(counts)):
        raise TransferError(f"line {number} counts rows of unknown table {', '.join(unknown)}")
    for name, count in counts.items():
        expected = end["rows"].get(name, 0)
        if expected != count:
            raise TransferError(
                f"line {number} says table {name} has {expected} rows but the dump holds {count}: lines are missing"
                " or were added"
            )
