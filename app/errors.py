"""The error vocabulary of the service, and its rendering as RFC 9457 problem documents."""

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.status import HTTP_500_INTERNAL_SERVER_ERROR
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("casetrack.errors")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "urn:casetrack:problem:"
# The method the client sent, when the app answers another (HEAD is answered as GET: app/middleware.py).
REQUESTED_METHOD = "casetrack.requested_method"


class AppError(Exception):
    """An error answered with its own problem document; services raise these, one handler renders them.
    All but DatabaseUnavailable are the client's to fix."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    headers: dict[str, str] | None = None

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class Unauthorized(AppError):
    status = 401
    slug = "unauthorized"
    title = "Unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="casetrack"'}


class Forbidden(AppError):
    status = 403
    slug = "forbidden"
    title = "Forbidden"


class PreconditionFailed(AppError):
    status = 412
    slug = "precondition-failed"
    title = "Precondition failed"


class NotFound(AppError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(AppError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class Invalid(AppError):
    """The request is well-formed but says something the service cannot accept."""

    status = 422
    slug = "validation-error"
    title = "Invalid input"

    @classmethod
    def field(cls, field: str, message: str) -> "Invalid":
        return cls(f"{field}: {message}", errors=[{"field": field, "loc": ["body", field], "message": message}])


class BadQuery(AppError):
    """400: a query parameter the endpoint does not take or given twice, or a cursor it did not produce."""

    status = 400
    slug = "bad-query"
    title = "Bad query parameter"


class DatabaseUnavailable(AppError):
    """503: the database cannot be reached (dropped, down, unreachable, its file gone), or the connection
    to it was lost while answering. Nothing the client did; the same request may succeed later."""

    status = 503
    slug = "database-unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}

    @classmethod
    def unreachable(cls) -> "DatabaseUnavailable":
        return cls("The database cannot be reached at the moment; retry later.", retry_after=5)

    @classmethod
    def busy(cls) -> "DatabaseUnavailable":
        # SQLite's write lock held past the busy timeout; PostgreSQL's deadlock, serialization failure or
        # lock timeout: the transaction was rolled back and the same request made again may well succeed.
        return cls("The database is busy with other writes; nothing was changed, retry this request.", retry_after=1)

    @classmethod
    def connection_lost(cls) -> "DatabaseUnavailable":
        # The pool has dropped the connection (and every one as old), so the same request made again
        # gets a fresh one.
        return cls("The connection to the database was lost while answering this request; retry it.", retry_after=1)


class DatabaseNotMigrated(DatabaseUnavailable):
    """503: the database is behind the code's migrations (never migrated, or at an older revision); the
    detail tells the operator to run `casetrack migrate`, after which the same request succeeds."""

    slug = "database-not-migrated"

    def __init__(self, advice: str) -> None:
        super().__init__(advice, retry_after=5)


class InvalidQuery(AppError):
    """422: a known query parameter with a value it cannot take (as FastAPI answers for out-of-range numbers)."""

    status = 422
    slug = "invalid-query"
    title = "Invalid query parameter"

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}", errors=[{"field": param, "loc": ["query", param], "message": message}])


def problem(request: Request, status: int, slug: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header") else list(map(str, loc))
    return ".".join(parts) or str(loc[0] if loc else "body")


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        loc = tuple(err.get("loc", ()))
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        kind = str(err.get("type", ""))
        if kind == "extra_forbidden":
            message = "unknown field: this field is not part of the resource, or is set by the server"
        elif "input" in err and err["input"] is None:
            message = "must not be null (leave the field out to keep its value)"
        errors.append({"field": _field_name(loc), "loc": list(loc), "message": message, "type": err.get("type")})
    return errors


async def handle_app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    response = problem(request, exc.status, exc.slug, exc.title, exc.detail, errors=exc.errors)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    if any(e["type"] == "json_invalid" for e in errors):
        reason = next(e for e in errors if e["type"] == "json_invalid")
        ctx: dict[str, Any] = next(
            (err.get("ctx", {}) for err in exc.errors() if err.get("type") == "json_invalid"), {}
        )
        return problem(
            request,
            400,
            "malformed-json",
            "Malformed JSON",
            f"The request body is not valid JSON: {ctx.get('error', reason['message'])}",
        )
    content_type = request.headers.get("content-type", "")
    if any(e["loc"] == ["body"] for e in errors) and "json" not in content_type:
        return problem(
            request,
            415,
            "unsupported-media-type",
            "Unsupported media type",
            f"Send the body as JSON with 'Content-Type: application/json' (got {content_type or 'none'!r}).",
        )
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    if all(e["loc"][:1] == ["query"] for e in errors):
        return problem(request, 422, "invalid-query", "Invalid query parameter", summary, errors=errors)
    return problem(request, 422, "validation-error", "Invalid input", summary, errors=errors)


async def handle_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No resource at {request.url.path}"
    if exc.status_code == 405:
        # Each method is its own route, so Starlette names only one: list every method served here.
        allowed = ", ".join(sorted(_methods_at(request)))
        method = request.scope.get(REQUESTED_METHOD, request.method)
        detail = f"{method} is not served at {request.url.path}; allowed here: {allowed}."
    response = problem(request, exc.status_code, title.lower().replace(" ", "-"), title, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    if exc.status_code == 405:
        response.headers["Allow"] = allowed
    return response


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _methods_at(request: Request) -> set[str]:
    """The methods some route serves at this path (included routers answer ``matches`` for their routes),
    with HEAD wherever GET is (app/middleware.py answers it)."""
    methods = {
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in request.app.router.routes
        )
    }
    return methods | {"HEAD"} if "GET" in methods else methods


async def handle_integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # The services check references before writing; this only catches a race between two writers.
    return problem(
        request,
        409,
        "conflict",
        "Conflict",
        "The change conflicts with the current state of the data (a referenced record was changed "
        "or removed meanwhile, or a unique value is taken). Reload and try again.",
    )


async def handle_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        request,
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal-error",
        "Internal server error",
        "The server failed to handle this request; the failure has been logged.",
    )


async def handle_stale_data(request: Request, exc: Exception) -> JSONResponse:
    # The version check in an UPDATE found another version. Writes lock the record they change when they
    # read it (app/http.py), so this is a safety net; it is no 412, which is only for the client's If-Match.
    return problem(
        request,
        409,
        "conflict",
        "Conflict",
        "The record was changed by someone else while this request ran; reload it and retry.",
    )


async def handle_database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if not exc.connection_invalidated:
        return await handle_unexpected_error(request, exc)
    # The database, a pooler or the network closed a pooled connection outside a request's session
    # (app.db.get_session turns the same into DatabaseUnavailable).
    log.warning("database connection lost on %s %s: %s", request.method, request.url.path, exc.orig)
    return await handle_app_error(request, DatabaseUnavailable.connection_lost())


class UnexpectedErrorMiddleware:
    """The last resort for an exception nothing else handled: logged, and answered with a 500 problem
    document from inside the middleware stack, so that it carries X-Request-ID (and the CORS headers),
    and not raised further, so that the server keeps the connection open for the client's next request.

    Starlette's own last resort (ServerErrorMiddleware, where a handler for ``Exception`` goes) sits
    outside every middleware and raises the exception again after answering, upon which uvicorn drops
    the keep-alive connection without a ``Connection: close``. An exception after part of the answer
    was sent is raised further: closing the connection is then the only way to say it is incomplete."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            if started:
                raise
            response = await handle_unexpected_error(Request(scope), exc)
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, handle_app_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(IntegrityError, handle_integrity_error)
    app.add_exception_handler(StaleDataError, handle_stale_data)
    app.add_exception_handler(DBAPIError, handle_database_error)
    # Any other exception: UnexpectedErrorMiddleware (installed with the middleware), not a handler for
    # Exception, which Starlette would run outside the middleware stack.
