"""How every list endpoint answers: one page of JSON (keyset-paged, sortable, with optional total and
field selection) or the whole filtered list as a streamed CSV file.

Services build the filtered ``SELECT``; this module orders, pages, counts and renders it, so the
rules are the same for every resource.
"""

import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.auth.roles import ANONYMOUS
from app.errors import InvalidQuery
from app.filters import list_items, list_pattern
from app.pagination import PageDep, PageParams, SortKey, by_rank, fetch_page, link_next
from app.schemas import WHITESPACE

CSV_BATCH = 1_000


@dataclass(frozen=True)
class Sorting:
    """The sort keys a list accepts (``name -> column``), and its default order."""

    columns: Mapping[str, InstrumentedAttribute[Any]]
    default: str
    id_column: InstrumentedAttribute[Any]
    nulls: Mapping[str, Any] | None = None  # stand-in values that give NULLs a place in the order

    @property
    def pattern(self) -> str:
        return list_pattern(self.columns, prefix="-?")

    def keys(self, sort: str | None) -> list[SortKey]:
        """The order ``sort`` asks for (exactly what `pattern` admits); None is the default order."""
        keys = []
        for part in list_items(self.default if sort is None else sort):
            name = part.removeprefix("-")
            if name not in self.columns:
                allowed = ", ".join(sorted(self.columns))
                raise InvalidQuery(
                    "sort", f"cannot sort by {name!r}; sortable fields: {allowed} (`-` in front: descending)"
                )
            null_as = (self.nulls or {}).get(name)
            keys.append(SortKey(self.columns[name], descending=part.startswith("-"), null_as=null_as))
        if not any(k.column is self.id_column for k in keys):
            keys.append(SortKey(self.id_column))
        return keys


@dataclass(frozen=True)
class ListParams:
    page: PageParams
    sort: str | None
    count: bool
    fields: str | None
    format: Literal["json", "csv"] | None
    schema: type[BaseModel]  # of each item
    sorting: Sorting


def _examples(schema: type[BaseModel], sorting: Sorting) -> tuple[str, str]:
    """A `sort` and a `fields` value that make sense for this list, for its documentation."""
    telling = [name for name in sorting.columns if name not in ("id", "created_at", "updated_at")][:2]
    sort = ",".join(["-" + telling[0], *telling[1:]]) if telling else "-created_at"
    key = "id" if "id" in schema.model_fields else next(iter(schema.model_fields))
    fields = ",".join([key, *[name for name in telling if name in schema.model_fields and name != key]])
    return sort, fields


def _fields_query(schema: type[BaseModel], scope: str, example: str) -> Any:
    """The `fields` parameter over ``schema``'s fields: the same words and pattern on a list of a kind
    and on one record of it, which `selected_fields` holds to."""
    return Query(
        max_length=1000,
        description=f"Comma-separated fields to return {scope} (the others are left out): "
        f"{', '.join(schema.model_fields)}.",
        examples=[example],
        json_schema_extra={"pattern": list_pattern(schema.model_fields)},
    )


def record_fields(schema: type[BaseModel], scope: str = "") -> Callable[..., Awaitable[set[str] | None]]:
    """The `fields` parameter of one record's GET, as a dependency (a route takes
    ``Annotated[set[str] | None, Depends(record_fields(...))]``): None without it, else the set of
    ``schema``'s fields it names (unknown ones are a 422, as on lists). The body is then trimmed to them:
    the same body the viewer would get in full, with keys left out, so nothing new can show."""
    names = list(schema.model_fields)
    example = ",".join(names[:2])

    async def fields(
        fields: Annotated[str | None, _fields_query(schema, scope or "of the record", example)] = None,
    ) -> set[str] | None:
        return None if fields is None else set(selected_fields(schema, fields))

    return fields


def list_params(schema: type[BaseModel], sorting: Sorting) -> Callable[..., Awaitable[ListParams]]:
    """The query parameters of a list of ``schema`` items ordered by ``sorting``, as a dependency (a route takes
    ``Annotated[ListParams, Depends(list_params(...))]``):
    `sort` and `fields` documented with this list's own names (a pattern each), which `respond` holds to."""
    sort_example, fields_example = _examples(schema, sorting)

    async def params(
        page: PageDep,
        sort: Annotated[
            str | None,
            Query(
                max_length=200,
                description="Comma-separated fields to sort by; `-` in front for descending. Ties are broken by "
                f"id. Sortable: {', '.join(sorting.columns)}.",
                examples=[sort_example],
                json_schema_extra={"pattern": sorting.pattern},
            ),
        ] = None,
        count: Annotated[bool, Query(description="Add the total number of matching records as `count`.")] = False,
        fields: Annotated[str | None, _fields_query(schema, "for each item", fields_example)] = None,
        format: Annotated[
            Literal["json", "csv"] | None,
            Query(description="`csv` streams every matching record as CSV (the same as `Accept: text/csv`)."),
        ] = None,
    ) -> ListParams:
        return ListParams(page, sort, count, fields, format, schema, sorting)

    return params


def wants_csv(request: Request, params: ListParams) -> bool:
    if params.format is not None:
        return params.format == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def selected_fields(schema: type[BaseModel], fields: str | None) -> list[str]:
    """The fields ``fields`` names (exactly what `_fields_query` documents), or all of them."""
    names = list(schema.model_fields)
    if fields is None:
        return names
    picked = list_items(fields)
    unknown = [f for f in picked if f not in schema.model_fields]
    if unknown:
        raise InvalidQuery("fields", f"unknown field(s) {', '.join(map(repr, unknown))}; available: {', '.join(names)}")
    return picked


async def respond(
    request: Request,
    session: AsyncSession,
    stmt: Select[Any],
    params: ListParams,
    search: Select[Any] | None = None,
) -> Response:
    """Render a list. ``search``: ``(record_id, rank)`` of full-text matches; best match first unless sorted."""
    schema, sorting = params.schema, params.sorting
    keys = sorting.keys(params.sort)
    if search is not None:
        matches = search.subquery("matches")
        stmt = stmt.join(matches, matches.c.record_id == sorting.id_column)
        if params.sort is None:
            keys = by_rank(stmt, matches.c.rank, sorting.id_column)
    fields = selected_fields(schema, params.fields)
    if wants_csv(request, params):
        return csv_response(request, stmt, keys, schema, fields)
    rows, next_cursor = await fetch_page(session, stmt, keys, params.page)
    include = None if params.fields is None else set(fields)
    body: dict[str, Any] = {
        "items": [schema.model_validate(row).model_dump(mode="json", include=include) for row in rows],
        "next": next_cursor,
    }
    if params.count:
        body["count"] = await session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    response = JSONResponse(body)
    link_next(request, response, next_cursor)
    return response


# A spreadsheet opening a CSV file runs a cell that begins with one of these as a formula
# (`=HYPERLINK(...)` leaks data when clicked; DDE can run programs): OWASP's CSV injection advice.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_TEXT_RULE = (
    "Text that begins with `=`, `+`, `-`, `@`, a tab or a carriage return (or with spaces and then one of the "
    "first four), or with `'`, has one `'` put in front, so that a spreadsheet shows it instead of running it "
    "as a formula: take one leading `'` off a cell to get the stored text."
)


def defused(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet runs: one ``'`` (which spreadsheets read as "this is text")
    in front of a formula start, also after leading spaces (some importers trim them), and in front of
    a ``'`` of its own, so that taking one leading ``'`` off always gives the stored text back.
    Only text is touched: numbers, dates and the JSON of lists never begin with these characters."""
    if text.startswith(("'", *FORMULA_STARTS)) or text.lstrip(WHITESPACE).startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return defused(value)
    return value


def csv_lines(header: Sequence[str], rows: Sequence[Mapping[str, Any]], with_header: bool) -> str:
    """CSV text (RFC 4180, CRLF) for some rows; lists become JSON arrays so nothing is lost, and text that
    would start a spreadsheet formula is `defused`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if with_header:
        writer.writerow(header)
    writer.writerows([[_cell(row.get(name)) for name in header] for row in rows])
    return buffer.getvalue()


def csv_response(
    request: Request, stmt: Select[Any], keys: Sequence[SortKey], schema: type[BaseModel], fields: list[str]
) -> StreamingResponse:
    """Every matching row, streamed in batches from a server-side cursor: memory stays flat however many."""
    sessionmaker = request.app.state.sessionmaker
    ordered = stmt.order_by(*[k.order_by() for k in keys]).execution_options(yield_per=CSV_BATCH)

    async def body() -> AsyncIterator[str]:
        # Its own session: the request's session is closed once the endpoint returns.
        async with sessionmaker() as session:
            session.info["viewer"] = getattr(request.state, "viewer", None) or ANONYMOUS
            result = await session.stream_scalars(ordered)
            first = True
            async for partition in result.partitions(CSV_BATCH):
                rows = [schema.model_validate(row).model_dump(mode="json", include=set(fields)) for row in partition]
                yield csv_lines(fields, rows, with_header=first)
                first = False
            if first:
                yield csv_lines(fields, [], with_header=True)

    name = request.url.path.rstrip("/").rsplit("/", 1)[-1] or "export"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


LIST_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A page of items (JSON), or with `format=csv` / `Accept: text/csv` every matching item as CSV. "
        + CSV_TEXT_RULE,
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}
