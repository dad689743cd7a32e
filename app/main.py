"""The application factory: settings in, a ready FastAPI app out."""

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from app import __doc__ as summary
from app.audit.router import router as audit_router
from app.auth.dependencies import authorize_method
from app.cases import charges_router, participants_router, sentences_router
from app.cases.router import router as cases_router
from app.config import Settings, get_settings
from app.db import make_engine
from app.errors import install_error_handlers
from app.events.router import router as events_router
from app.exports.router import router as exports_router
from app.filters import check_request_params
from app.hearings import outcomes_router
from app.hearings.router import router as hearings_router
from app.middleware import install_middleware
from app.migrate import SchemaGate, upgrade_engine
from app.observability import configure_logging, install_observability
from app.openapi import install_openapi
from app.organizations.router import router as organizations_router
from app.people.router import router as people_router
from app.sessions import make_sessionmaker
from app.sources.router import router as sources_router
from app.timeline.router import router as timeline_router
from app.web import install_web

log = logging.getLogger("casetrack")

API_PREFIX = "/api/v1"

DESCRIPTION = """
Document legal cases brought against people — political prisoners above all: who is involved and
in which role, the charges, the sentences, every hearing and its outcome, what happened around the
case, with a source behind every fact, and each case told as a chronological timeline.

Dates of real-world facts are [EDTF](https://www.loc.gov/standards/datetime/) strings, as precise as
the source allows (`2015-12-08?`, `2015-22` for summer 2015, `2011~`); each comes with computed
`*_earliest` / `*_latest` calendar bounds used for sorting and filtering. Errors are
`application/problem+json` (RFC 9457).
"""


def operation_id(route: APIRoute) -> str:
    return route.name


def api_router() -> APIRouter:
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(authorize_method), Depends(check_request_params)])
    for router in (
        cases_router,
        timeline_router,
        participants_router.router,
        charges_router.router,
        sentences_router.router,
        hearings_router,
        outcomes_router.router,
        exports_router,
        events_router,
        people_router,
        organizations_router,
        sources_router,
        audit_router,
    ):
        api.include_router(router)
    return api


def create_app(settings: Settings | None = None, *, server_process: bool = False) -> FastAPI:
    """``server_process``: the app is the whole process (``casetrack serve``), which may be tuned for it
    once started; tests and tools build apps inside processes of their own."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await upgrade_engine(app.state.engine)
        await app.state.schema_gate.check_on_start()
        if server_process:
            tune_garbage_collector()
        yield
        await app.state.engine.dispose()

    app = FastAPI(
        title="casetrack",
        summary=(summary or "").strip(),
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        docs_url=None,  # /docs and /redoc are served by app.web, with their assets from this service
        redoc_url=None,
        # FastAPI's own OpenTelemetry hooks look up the providers (and the environment) on every request;
        # the service reports through /metrics and its JSON log instead.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.engine = make_engine(settings)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)
    app.state.schema_gate = SchemaGate(app.state.engine)
    install_error_handlers(app)
    install_middleware(app, settings)
    install_observability(app)
    app.include_router(api_router())
    install_web(app, API_PREFIX)
    flatten_routes(app.router)
    install_openapi(app)
    return app


def flatten_routes(router: APIRouter) -> None:
    """Replace every included router in ``router``'s table by the routes it stands for, in the same order,
    each built as FastAPI builds it when a request reaches it through the inclusions: the full path, the
    dependencies, tags and responses of every enclosing router first, the resolved response class and
    operation id. FastAPI keeps included routers nested and walks them on every request (each inclusion
    re-checking its routes for changes, matching recursively): about 70 route checks per request, over a
    tenth of the CPU an API request cost. Flat, a request is matched by one pass over plain routes, as
    Starlette does. The OpenAPI document, the route each request reaches and what runs for it do not
    change (tests/test_http_conventions.py pins the dependencies)."""
    flat: list[BaseRoute] = []
    for route in router.routes:
        contexts = list(iter_route_contexts([route]))
        if len(contexts) == 1 and contexts[0].original_route is route:
            flat.append(route)  # a route of the router's own, not an included router
            continue
        for context in contexts:
            original = context.original_route
            if not isinstance(original, APIRoute) or context.path is None:
                raise TypeError(f"cannot flatten {original!r}: only FastAPI routes are included in this app")
            flat.append(
                type(original)(
                    context.path,
                    original.endpoint,
                    response_model=context.response_model,
                    status_code=context.status_code,
                    tags=context.tags,
                    dependencies=context.dependencies,
                    summary=context.summary,
                    description=context.description,
                    response_description=context.response_description,
                    responses=context.responses,
                    deprecated=context.deprecated,
                    name=context.name,
                    methods=context.methods,
                    operation_id=context.operation_id,
                    response_model_include=context.response_model_include,
                    response_model_exclude=context.response_model_exclude,
                    response_model_by_alias=context.response_model_by_alias,
                    response_model_exclude_unset=context.response_model_exclude_unset,
                    response_model_exclude_defaults=context.response_model_exclude_defaults,
                    response_model_exclude_none=context.response_model_exclude_none,
                    include_in_schema=context.include_in_schema,
                    response_class=context.response_class,
                    dependency_overrides_provider=context.dependency_overrides_provider,
                    callbacks=context.callbacks,
                    openapi_extra=context.openapi_extra,
                    generate_unique_id_function=context.generate_unique_id_function,
                    strict_content_type=context.strict_content_type,
                    max_body_size=context.max_body_size,
                    form_limits=original.form_limits,
                )
            )
    router.routes[:] = flat


# Young objects collected every 20,000 allocations rather than 700: a request allocates thousands
# (ORM states, models, rows) that reference counting frees anyway, and each collection also walked
# the older generations. Measured on a median timeline: 10.5 -> 7.1 ms of CPU (docs/performance.md).
GC_THRESHOLDS = (20_000, 20, 20)


def tune_garbage_collector() -> None:
    """For a server process, once started: what exists now (modules, mappers, compiled statements,
    routes) stays for the life of the process, so the collector stops scanning it (``gc.freeze``),
    and collects young objects less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def create_server_app() -> FastAPI:
    """The app as ``casetrack serve`` runs it (one per worker process): ``create_app`` with the
    process-wide tuning a test process should not get."""
    return create_app(server_process=True)
