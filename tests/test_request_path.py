"""What every request pays for, held down structurally: no dependency of any route runs in FastAPI's thread pool.

FastAPI calls a dependency that is not a coroutine (a plain function, or a class used as ``Depends()``) through
``run_in_threadpool``: a hop to a worker thread and back, with its locks and wake-ups, on every request that
uses it. The list endpoints had two to four such dependencies each (page, sort and field parameters, filter
dataclasses), all of them pure parsing; they are coroutines now (``app.filters.query_filters`` for the
dataclasses), and this keeps any new one from slipping back.
"""

import inspect
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
from fastapi import Depends, FastAPI, Query
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.config import Settings
from app.filters import query_filters
from app.main import create_app


def _runs_in_the_loop(call: Any) -> bool:
    return (
        inspect.iscoroutinefunction(call)
        or inspect.isasyncgenfunction(call)
        or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004  an instance with async __call__
    )


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def threadpool_calls(app: FastAPI) -> list[str]:
    """``METHOD path: callable`` for every endpoint or dependency FastAPI would run in its thread pool."""
    found = []
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        label = f"{','.join(sorted(route.methods))} {route.path}"
        if not _runs_in_the_loop(route.endpoint):
            found.append(f"{label}: endpoint {route.endpoint.__qualname__}")
        for sub in _dependencies(route.dependant):
            if sub.call is not None and not _runs_in_the_loop(sub.call):
                found.append(f"{label}: {getattr(sub.call, '__qualname__', repr(sub.call))}")
    return found


def test_no_route_of_the_app_runs_anything_in_the_thread_pool() -> None:
    app = create_app(Settings(database_url="sqlite://", auto_migrate=False))
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    assert len(routes) > 90  # the whole API, not an empty app
    assert threadpool_calls(app) == []


def test_the_check_finds_a_plain_function_or_a_class_as_a_dependency() -> None:
    class Filters:
        def __init__(self, kind: Annotated[str | None, Query()] = None) -> None:
            self.kind = kind

    def page(limit: int = 10) -> int:
        return limit

    app = FastAPI()

    @app.get("/plain")
    async def plain(limit: Annotated[int, Depends(page)], filters: Annotated[Filters, Depends()]) -> None:
        return None

    @app.get("/fixed")
    async def fixed(filters: Annotated[Filters, Depends(query_filters(Filters))]) -> None:
        return None

    assert threadpool_calls(app) == [
        "GET /plain: test_the_check_finds_a_plain_function_or_a_class_as_a_dependency.<locals>.page",
        "GET /plain: test_the_check_finds_a_plain_function_or_a_class_as_a_dependency.<locals>.Filters",
    ]


async def test_query_filters_builds_the_dataclass_from_the_query_as_depends_would() -> None:
    @dataclass
    class Filters:
        kind: Annotated[str | None, Query(max_length=5)] = None
        public: bool | None = None

    app = FastAPI()

    @app.get("/by-class")
    async def by_class(filters: Annotated[Filters, Depends()]) -> dict[str, Any]:
        return {"kind": filters.kind, "public": filters.public, "type": type(filters).__name__}

    @app.get("/by-coroutine")
    async def by_coroutine(filters: Annotated[Filters, Depends(query_filters(Filters))]) -> dict[str, Any]:
        return {"kind": filters.kind, "public": filters.public, "type": type(filters).__name__}

    document = app.openapi()["paths"]
    assert document["/by-class"]["get"]["parameters"] == document["/by-coroutine"]["get"]["parameters"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for query in ("", "?kind=abc&public=true", "?public=no", "?kind=toolong"):
            by_class, by_coroutine = await client.get(f"/by-class{query}"), await client.get(f"/by-coroutine{query}")
            assert (by_coroutine.status_code, by_coroutine.json()) == (by_class.status_code, by_class.json())
