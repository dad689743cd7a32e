"""Operations: liveness and readiness probes, one structured JSON log line per request carrying a
request id, and Prometheus metrics (requests, latencies, database pool use)."""

import logging
import re
import sys
import time
from typing import Any

from asgi_correlation_id import CorrelationIdFilter, CorrelationIdMiddleware
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import problem
from app.migrate import database_revision, schema_advice

access_log = logging.getLogger("casetrack.access")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

ops = APIRouter(tags=["operations"], include_in_schema=True)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr; every line of a request carries its request id. Idempotent."""
    root = logging.getLogger()
    # The service's own loggers keep their level whatever else reconfigures the root (alembic.ini does).
    logging.getLogger("casetrack").setLevel(level)
    if any(getattr(h, "name", None) == "casetrack-json" for h in root.handlers):
        return
    handler = logging.StreamHandler()
    handler.set_name("casetrack-json")
    handler.addFilter(CorrelationIdFilter(name="request_id", uuid_length=None, default_value="-"))
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "correlation_id": "request_id"},
            # Uvicorn adds the same message with terminal colour codes: a JSON line keeps the plain one.
            reserved_attrs=[*RESERVED_ATTRS, "color_message"],
        )
    )
    for old in [h for h in root.handlers if isinstance(h, logging.StreamHandler) and h.name != "casetrack-json"]:
        if old.stream in (sys.stderr, sys.stdout):
            root.removeHandler(old)  # plain-text duplicates of the same lines
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("uvicorn.access").disabled = True  # ours says more, and never logs a token or body


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "casetrack_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "casetrack_http_request_duration_seconds", "Time to answer", ["method", "route"], registry=self.registry
        )
        self.pool_in_use = Gauge(
            "casetrack_db_pool_connections_in_use", "Database connections checked out", registry=self.registry
        )
        self.pool_size = Gauge("casetrack_db_pool_size", "Database pool size", registry=self.registry)


def _route_template(scope: Scope) -> str:
    """The path with its parameters as names (/api/v1/cases/{case_id}), never the raw ids: those would
    make one metric series per record."""
    if "route" not in scope:
        return "unmatched"
    params = {str(v): k for k, v in scope.get("path_params", {}).items()}
    return "/".join(f"{{{params[seg]}}}" if seg in params else seg for seg in scope["path"].split("/"))


class AccessLogMiddleware:
    """One log line and one metric sample per request: method, path template, status, duration."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            metrics: Metrics = self.fastapi_app.state.metrics
            metrics.requests.labels(scope["method"], route, str(status)).inc()
            metrics.latency.labels(scope["method"], route).observe(elapsed)
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )


def _valid_request_id(value: str) -> bool:
    return bool(REQUEST_ID.match(value))


@ops.get("/healthz", name="getHealth", description="The process is alive (no database check).")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@ops.get(
    "/readyz",
    name="getReadiness",
    description="The database answers and its schema is at the current migration; 503 otherwise.",
    responses={503: {"description": "Not ready", "content": {"application/problem+json": {}}}},
)
async def readyz(request: Request) -> Response:
    try:
        revision = await database_revision(request.app.state.engine)
    except Exception as exc:  # noqa: BLE001  any failure to reach or read the database means "not ready"
        return _not_ready(request, f"The database cannot be read: {type(exc).__name__}")
    advice = schema_advice(revision)
    if advice is not None:
        return _not_ready(request, advice)
    return JSONResponse({"status": "ready", "schema": revision})


def _not_ready(request: Request, detail: str) -> Response:
    response = problem(request, 503, "not-ready", "Not ready", detail)
    response.headers["Retry-After"] = "5"
    return response


@ops.get("/metrics", name="getMetrics", description="Prometheus metrics.", response_class=Response)
async def metrics(request: Request) -> Response:
    state: Metrics = request.app.state.metrics
    pool: Any = request.app.state.engine.pool
    if hasattr(pool, "checkedout"):
        state.pool_in_use.set(pool.checkedout())
        state.pool_size.set(pool.size())
    return Response(generate_latest(state.registry), media_type=CONTENT_TYPE_LATEST)


def install_observability(app: FastAPI) -> None:
    app.state.metrics = Metrics()
    app.include_router(ops)
    app.add_middleware(AccessLogMiddleware, fastapi_app=app)
    # Outermost: the request id exists before anything logs, and comes back in X-Request-ID.
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID", validator=_valid_request_id)
