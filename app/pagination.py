"""Keyset ("cursor") paging: each page continues after the last row's sort key, never with OFFSET,
so a deep page costs what the first one does and rows inserted meanwhile are neither skipped nor repeated."""

import base64
import binascii
import datetime as dt
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import BigInteger, Integer, Select, SmallInteger, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import BadQuery

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next: str | None = Field(description="Cursor of the next page; null on the last page.")
    count: int | None = Field(default=None, description="Total matching records; only with `count=true`.")


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=1000, description="The `next` value of the previous page.")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


PageDep = Annotated[PageParams, Depends(page_params)]


@dataclass(frozen=True)
class SortKey:
    column: Any  # a mapped attribute, or a labeled column such as a search rank
    descending: bool = False
    null_as: Any = None  # for a nullable column: the value NULL sorts as (keyset needs comparable values)
    # For a value no cursor may hold, ``anchor -> SQL`` of it: given the last key's value (the id of the row
    # a page continues after), the value that row has now. See `by_rank`.
    recompute: Callable[[Any], Any] | None = None

    @property
    def expression(self) -> Any:
        return self.column if self.null_as is None else func.coalesce(self.column, self.null_as)

    def order_by(self) -> Any:
        return self.expression.desc() if self.descending else self.expression.asc()


def by_rank(stmt: Select[Any], rank: Any, id_column: Any) -> list[SortKey]:
    """Best match first, ties by id, for ``stmt``: the matching rows the viewer may see, with their ``rank``.

    A full-text rank counts every indexed document, the hidden ones too (BM25 weighs a word by how many
    documents hold it), so a rank in a cursor would let the public watch restricted records come and go.
    The cursor holds the last row's id only; the next page recomputes that row's rank in its own statement,
    among the rows ``stmt`` lets this viewer see: a cursor naming a row the viewer cannot see, or a row that
    no longer matches, has no rank, and `fetch_page` answers it with a 400.
    """

    def rank_of(record_id: Any) -> Any:
        # correlate(None): the subquery reads its own tables, not the outer query's rows of the same tables.
        only_rank = stmt.with_only_columns(rank, maintain_column_froms=True)
        return only_rank.where(id_column == record_id).correlate(None).scalar_subquery()

    return [SortKey(rank, descending=True, recompute=rank_of), SortKey(id_column)]


def _signature(keys: Sequence[SortKey]) -> str:
    """Which order a cursor belongs to, so a cursor from another sort is refused, not misread."""
    return ",".join(("-" if k.descending else "") + k.column.key for k in keys)


INVALID_CURSOR = "cursor: invalid, not a cursor this list produced (edited, or from another list or sort)"
GONE_CURSOR = (
    "cursor: no longer valid: the record it continues after no longer matches this list; "
    "start again from the first page (without `cursor`)"
)
# Whatever a client can put in a cursor: a forged one is answered with a 400, never reaches the database.
CURSOR_ERRORS = (ValueError, TypeError, OverflowError, RecursionError, binascii.Error)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a sort key")


def cursor_payload(cursor: str) -> Any:
    """The JSON a cursor holds (base64url, padding optional), without NaN or Infinity."""
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), parse_constant=_no_constant)


def cursor_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected text")
    if "\x00" in value:
        raise ValueError("NUL in text")
    value.encode()  # a lone surrogate no database can store raises UnicodeEncodeError, a ValueError
    return value


def cursor_int(value: Any, bits: int = 64) -> int:
    """An integer a signed column of ``bits`` holds (the databases refuse to compare with a larger one)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("expected an integer")
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise ValueError(f"beyond a {bits}-bit integer")
    return value


def cursor_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("expected a number")
    number = float(value)  # OverflowError for an integer of hundreds of digits
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def cursor_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(cursor_text(value))


def cursor_timestamp(value: Any) -> dt.datetime:
    """An aware timestamp within the calendar in UTC (``0001-01-01T00:00+14:00`` is not)."""
    stamp = dt.datetime.fromisoformat(cursor_text(value))
    if stamp.tzinfo is None:
        raise ValueError("a timestamp without its UTC offset")
    return stamp.astimezone(dt.UTC)  # OverflowError beyond the ends of the calendar


def _encode(keys: Sequence[SortKey], values: Sequence[Any]) -> str:
    plain = [
        v.isoformat() if isinstance(v, dt.date | dt.datetime) else v
        for k, v in zip(keys, values, strict=True)
        if k.recompute is None
    ]
    payload = {"o": _signature(keys), "v": plain}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, keys: Sequence[SortKey]) -> list[Any]:
    """The sort values a cursor continues after; recomputed keys are SQL for the value their row has now."""
    held = [k for k in keys if k.recompute is None]
    try:
        raw = cursor_payload(cursor)
        if not isinstance(raw, dict) or raw.get("o") != _signature(keys):
            raise ValueError("another order")
        values = raw.get("v")
        if not isinstance(values, list) or len(values) != len(held):
            raise ValueError("wrong shape")
        revived = iter([_revive(value, key) for value, key in zip(values, held, strict=True)])
    except CURSOR_ERRORS as exc:
        raise BadQuery(INVALID_CURSOR) from exc
    decoded = [None if k.recompute is not None else next(revived) for k in keys]
    anchor = decoded[-1]  # the last key is unique (the id) and always held
    return [k.recompute(anchor) if k.recompute is not None else v for k, v in zip(keys, decoded, strict=True)]


def _integer_bits(column_type: Any) -> int:
    if isinstance(column_type, SmallInteger):
        return 16
    if isinstance(column_type, BigInteger):
        return 64
    return 32 if isinstance(column_type, Integer) else 64


def _revive(value: Any, key: SortKey) -> Any:
    """A cursor value back in the column's Python type (JSON only keeps strings and numbers), or ValueError
    for one the column could not hold."""
    if value is None:
        raise ValueError("null sort key")
    column_type = key.column.type
    kind = column_type.python_type
    if kind is dt.datetime:
        return cursor_timestamp(value)
    if kind is dt.date:
        return cursor_date(value)
    if kind is int:
        return cursor_int(value, _integer_bits(column_type))
    if kind is float:
        return cursor_float(value)
    return cursor_text(value)


def _after(keys: Sequence[SortKey], values: Sequence[Any]) -> Any:
    """Rows strictly after ``values`` in the order of ``keys``."""
    clauses = []
    for i, key in enumerate(keys):
        equal_before = [keys[j].expression == values[j] for j in range(i)]
        beyond = key.expression < values[i] if key.descending else key.expression > values[i]
        clauses.append(and_(*equal_before, beyond))
    first = keys[0]
    if first.recompute is not None:  # a computed value (a rank) has no index to start a scan from
        return or_(*clauses)
    # Implied by the OR, but said on its own it lets the database start an index scan at the cursor
    # instead of filtering every row before it (PostgreSQL does not derive it from the OR).
    start = first.expression <= values[0] if first.descending else first.expression >= values[0]
    return and_(start, or_(*clauses))


async def fetch_page(
    session: AsyncSession, stmt: Select[Any], keys: Sequence[SortKey], params: PageParams
) -> tuple[list[Any], str | None]:
    """One statement: the rows of one page and the cursor of the next (the last key must be unique)."""
    after = None if params.cursor is None else _decode(params.cursor, keys)
    if after is not None:
        stmt = stmt.where(_after(keys, after))
    # The sort keys ride along as extra columns, so the next cursor is read from the last row as the
    # database computed it (coalesced NULLs, search ranks), not re-derived in Python.
    labeled = [k.expression.label(f"_sort{i}") for i, k in enumerate(keys)]
    order = [k.order_by() for k in keys]
    rows = (await session.execute(stmt.add_columns(*labeled).order_by(*order).limit(params.limit + 1))).all()
    records = [row[0] for row in rows[: params.limit]]
    if not rows and after is not None:
        await _check_anchor(session, keys, after)
    if len(rows) <= params.limit:
        return records, None
    return records, _encode(keys, list(rows[params.limit - 1][1:]))


async def _check_anchor(session: AsyncSession, keys: Sequence[SortKey], after: Sequence[Any]) -> None:
    """An empty page after a cursor: the end of the list, or a cursor whose row has no recomputed value now
    (a row the viewer cannot see, or one that no longer matches), after which no row can follow."""
    for key, value in zip(keys, after, strict=True):
        if key.recompute is not None and await session.scalar(select(value)) is None:
            raise BadQuery(GONE_CURSOR)


def link_next(request: Request, response: Response, next_cursor: str | None) -> None:
    """RFC 8288 ``Link: <...>; rel="next"`` so generic clients can follow the pages."""
    if next_cursor is not None:
        url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'
