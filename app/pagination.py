"""Keyset ("cursor") paging: each page continues after the last row's sort key, never with OFFSET,
so a deep page costs what the first one does and rows inserted meanwhile are neither skipped nor repeated."""

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, func, or_
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


def page_params(
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

    @property
    def expression(self) -> Any:
        return self.column if self.null_as is None else func.coalesce(self.column, self.null_as)

    def order_by(self) -> Any:
        return self.expression.desc() if self.descending else self.expression.asc()


def _signature(keys: Sequence[SortKey]) -> str:
    """Which order a cursor belongs to, so a cursor from another sort is refused, not misread."""
    return ",".join(("-" if k.descending else "") + k.column.key for k in keys)


def _encode(keys: Sequence[SortKey], values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, dt.date | dt.datetime) else v for v in values]
    payload = {"o": _signature(keys), "v": plain}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, keys: Sequence[SortKey]) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, dict) or raw.get("o") != _signature(keys):
            raise ValueError("another order")
        values = raw.get("v")
        if not isinstance(values, list) or len(values) != len(keys):
            raise ValueError("wrong shape")
        return [_revive(value, key) for value, key in zip(values, keys, strict=True)]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadQuery("cursor: not a cursor this list produced (it may belong to another sort)") from exc


def _revive(value: Any, key: SortKey) -> Any:
    """A cursor value back in the column's Python type (JSON only keeps strings and numbers)."""
    if value is None:
        raise ValueError("null sort key")
    kind = key.column.type.python_type
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if kind is dt.date:
        return dt.date.fromisoformat(value)
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("expected a number")
        return kind(value)
    if not isinstance(value, str):
        raise ValueError("expected text")
    return value


def _after(keys: Sequence[SortKey], values: Sequence[Any]) -> Any:
    """Rows strictly after ``values`` in the order of ``keys``."""
    clauses = []
    for i, key in enumerate(keys):
        equal_before = [keys[j].expression == values[j] for j in range(i)]
        beyond = key.expression < values[i] if key.descending else key.expression > values[i]
        clauses.append(and_(*equal_before, beyond))
    # Implied by the OR, but said on its own it lets the database start an index scan at the cursor
    # instead of filtering every row before it (PostgreSQL does not derive it from the OR).
    first = keys[0]
    start = first.expression <= values[0] if first.descending else first.expression >= values[0]
    return and_(start, or_(*clauses))


async def fetch_page(
    session: AsyncSession, stmt: Select[Any], keys: Sequence[SortKey], params: PageParams
) -> tuple[list[Any], str | None]:
    """One statement: the rows of one page and the cursor of the next (the last key must be unique)."""
    if params.cursor is not None:
        stmt = stmt.where(_after(keys, _decode(params.cursor, keys)))
    # The sort keys ride along as extra columns, so the next cursor is read from the last row as the
    # database computed it (coalesced NULLs, search ranks), not re-derived in Python.
    labeled = [k.expression.label(f"_sort{i}") for i, k in enumerate(keys)]
    order = [k.order_by() for k in keys]
    rows = (await session.execute(stmt.add_columns(*labeled).order_by(*order).limit(params.limit + 1))).all()
    records = [row[0] for row in rows[: params.limit]]
    if len(rows) <= params.limit:
        return records, None
    return records, _encode(keys, list(rows[params.limit - 1][1:]))


def link_next(request: Request, response: Response, next_cursor: str | None) -> None:
    """RFC 8288 ``Link: <...>; rel="next"`` so generic clients can follow the pages."""
    if next_cursor is not None:
        url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'
