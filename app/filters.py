"""Query-string helpers shared by list endpoints: several values in one parameter, date windows,
and refusing parameters an endpoint does not know (a typo must not silently widen a research query)."""

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from enum import StrEnum
from typing import Annotated, Any, TypeVar

from fastapi import Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import ColumnElement, Select
from sqlalchemy.orm import InstrumentedAttribute

from app.dates import EDTFDate, edtf_bounds
from app.errors import BadQuery, InvalidQuery
from app.schemas import Country

E = TypeVar("E", bound=StrEnum)
F = TypeVar("F")


def query_filters(cls: type[F]) -> Callable[..., Awaitable[F]]:
    """``Depends(query_filters(Filters))``: a dataclass of query parameters built as ``Depends()`` builds it (the
    same parameters, documented the same way), but by a coroutine. FastAPI runs any other callable, a class
    included, in its thread pool: a hop to another thread and back on every request. Every dependency of the
    app is a coroutine (tests/test_request_path.py holds to it)."""

    async def build(**values: Any) -> F:
        return cls(**values)

    build.__signature__ = inspect.signature(cls, eval_str=True)  # type: ignore[attr-defined]
    build.__name__ = build.__qualname__ = f"{cls.__name__}_from_query"
    return build


SearchQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=200,
        description="Full-text search, any script (Latin, Cyrillic...): every word must match, as a prefix. "
        "Results come best match first unless `sort` is given. Words are runs of letters and digits; a search "
        "without any is refused.",
        examples=["Козлов"],
        # app.search.service takes the words as Python's `[^\W_]+`: exactly the letters and digits.
        json_schema_extra={"pattern": r"[\p{L}\p{N}]"},
    ),
]

DateFrom = Annotated[
    EDTFDate | None,
    Query(
        description="Only records whose date may fall on or after this EDTF date (its earliest day).",
        examples=["2012"],
    ),
]
DateTo = Annotated[
    EDTFDate | None,
    Query(
        description="Only records whose date may fall on or before this EDTF date (its latest day).",
        examples=["2015-12"],
    ),
]
CountryFilter = Annotated[Country | None, Query(description="ISO 3166-1 alpha-2 country code, in capitals.")]


def list_pattern(names: Iterable[str], prefix: str = "") -> str:
    """The pattern of a comma-separated list of ``names``, each with an optional ``prefix`` (such as ``-?``)
    and spaces around it (`list_items` drops them)."""
    one = f" *{prefix}(?:{'|'.join(names)}) *"
    return f"^{one}(?:,{one})*$"


def list_items(value: str) -> list[str]:
    """``"a, b"`` -> ["a", "b"]: the items of a list `list_pattern` describes (to be checked one by one)."""
    return [part.strip(" ") for part in value.split(",")]


def choice_list(enum: type[StrEnum], description: str, example: str | None = None) -> Any:
    """A query parameter taking one or more values of ``enum``, comma-separated, documented as a pattern
    (parse it with `choices`, which takes exactly what the pattern admits)."""
    values = [e.value for e in enum]
    return Query(
        description=f"{description} One or more of: {', '.join(values)}; comma-separated in this one parameter "
        "(given twice, it is refused).",
        examples=[example or values[0]],
        json_schema_extra={"pattern": list_pattern(values)},
    )


def choices(value: str | None, enum: type[E], param: str) -> list[E] | None:
    """``kind=a,b`` -> [a, b]; a value outside the vocabulary (or blank) is a 422 naming it."""
    if value is None:
        return None
    picked = []
    for part in list_items(value):
        try:
            picked.append(enum(part))
        except ValueError:
            allowed = ", ".join(e.value for e in enum)
            raise InvalidQuery(param, f"{part!r} is not one of {allowed}") from None
    return picked


def ids(value: str | None) -> list[str] | None:
    return None if value is None else [p.strip() for p in value.split(",") if p.strip()]


def within_dates(
    stmt: Select[Any],
    earliest: ColumnElement[Any] | InstrumentedAttribute[Any],
    latest: ColumnElement[Any] | InstrumentedAttribute[Any],
    date_from: str | None,
    date_to: str | None,
) -> Select[Any]:
    """Keep records whose date range overlaps the window: a vague date that may fall inside stays in.
    The dates are DateFrom and DateTo parameters, so valid already."""
    if date_from is not None:
        stmt = stmt.where(latest >= edtf_bounds(date_from).earliest)
    if date_to is not None:
        stmt = stmt.where(earliest <= edtf_bounds(date_to).latest)
    return stmt


_known_params: dict[int, frozenset[str]] = {}


def _query_param_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_param_names(sub)
    return names


def _declared_query_params(route: APIRoute) -> frozenset[str]:
    names = _known_params.get(id(route))
    if names is None:
        names = frozenset(_query_param_names(route.dependant))
        _known_params[id(route)] = names
    return names


async def check_request_params(request: Request) -> None:
    """Refuse unknown query parameters, a parameter given more than once, and NUL characters anywhere in
    the path or query.

    Every query parameter takes one value (several go comma-separated in it: ``kind=arrest,visit``), so a
    repeated one is a mistake: Starlette would keep its last value and silently drop the others."""
    for name, value in [*request.query_params.multi_items(), *request.path_params.items()]:
        if "\x00" in name or "\x00" in str(value):
            raise BadQuery(f"{name!r}: must not contain the NUL character")
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown: Sequence[str] = sorted(set(request.query_params) - _declared_query_params(route))
    if unknown:
        known = ", ".join(sorted(_declared_query_params(route))) or "none"
        raise BadQuery(f"unknown query parameter {', '.join(map(repr, unknown))} (this endpoint takes: {known})")
    names = [name for name, _ in request.query_params.multi_items()]
    if repeated := sorted({name for name in names if names.count(name) > 1}):
        raise BadQuery(
            f"query parameter {', '.join(map(repr, repeated))} is given more than once; give each parameter "
            "once, with several values comma-separated in it (for example kind=arrest,visit)"
        )
