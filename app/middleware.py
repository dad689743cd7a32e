"""HTTP conventions applied to every response: ETags with conditional GETs, HEAD wherever GET,
compression, CORS."""

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import http
from app.config import Settings
from app.errors import REQUESTED_METHOD, UnexpectedErrorMiddleware, problem
from app.ratelimit import RateLimitMiddleware


def _matches(if_none_match: str, etag: str) -> bool:
    # Weak comparison (RFC 9110 13.1.2): W/ prefixes do not matter for If-None-Match.
    candidates = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in candidates or etag.removeprefix("W/") in candidates


class ETagMiddleware:
    """The one place validators are set: every complete 2xx answer gets the ETag of the exact body
    sent (app.http.etag), and a GET whose ``If-None-Match`` already has it gets 304.

    The tag hashes the uncompressed body, so it changes whenever what this client receives changes,
    whatever the reason (the record, a record it names hidden from this viewer, what it embeds), and
    is the same with or without gzip. A route serving one record only names its version
    (``http.VERSION_HEADER``), which the tag then carries for ``If-Match``. Streamed bodies (CSV
    exports) get no tag; only large static files, streamed by Starlette with a tag of their own, keep
    theirs. Every answer to a GET varies with the token, and one to a request with a token is private.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        is_read = scope["method"] in ("GET", "HEAD")
        if_none_match = request_headers.get("if-none-match") if is_read else None
        has_token = "authorization" in request_headers
        start: Message | None = None
        version: str | None = None
        passthrough = False

        async def send_with_etag(message: Message) -> None:
            nonlocal start, version, passthrough
            if passthrough:
                await send(message)
                return
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=message["headers"])
                version = headers.get(http.VERSION_HEADER)
                if version is not None:
                    del headers[http.VERSION_HEADER]
                if is_read:
                    # What a request may see depends on its token: no cache may hand one client's
                    # answer to another (RFC 9111 4.1, 3.5).
                    headers.add_vary_header("Authorization")
                    headers.setdefault("cache-control", "private, no-cache" if has_token else "no-cache")
                start = message
                if not 200 <= message["status"] < 300 or (not is_read and version is None):
                    passthrough = True
                    await send(message)
                return
            assert start is not None
            if message.get("more_body", False):
                passthrough = True
                await send(start)
                await send(message)
                return
            body = message.get("body", b"")
            headers = MutableHeaders(raw=start["headers"])
            etag = http.etag(body, int(version) if version is not None else None)
            headers["etag"] = etag
            if if_none_match and start["status"] == 200 and _matches(if_none_match, etag):
                not_modified = MutableHeaders(headers={"etag": etag, "cache-control": headers["cache-control"]})
                for name in ("vary", "link"):
                    if name in headers:
                        not_modified[name] = headers[name]
                await send({"type": "http.response.start", "status": 304, "headers": not_modified.raw})
                await send({"type": "http.response.body", "body": b""})
                return
            await send(start)
            await send(message)

        await self.app(scope, receive, send_with_etag)


class HeadMiddleware:
    """HEAD wherever GET: the request is answered as the GET it stands for, with that GET's status and
    headers (Content-Length, ETag, Content-Encoding... included), and the body is dropped.

    FastAPI's GET routes serve GET only (Starlette's own add HEAD; FastAPI's do not), hence this here
    rather than a HEAD route beside each GET. It runs outside the ETag and gzip layers so that their
    headers are the GET's, and inside the rate limit so that a HEAD counts as a request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The server frames the answer by the method it reads from this scope (uvicorn's httptools
                # protocol does): it must read HEAD again before the first byte goes out.
                scope["method"] = "HEAD"
            elif message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # Changed in place, not copied, and restored afterwards: the route the router records in the
        # scope is what the access log and the metrics outside report.
        scope["method"], scope[REQUESTED_METHOD] = "GET", "HEAD"
        try:
            await self.app(scope, receive, without_body)
        finally:
            scope["method"] = "HEAD"


class BodySizeLimitMiddleware:
    """413 for a request body over the limit, whether announced by Content-Length or streamed.

    The body is read here, before the app sees it (up to the limit, so at most that much is held),
    because an error raised while FastAPI reads a body would come out as a 400."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            Request(scope),
            413,
            "content-too-large",
            "Content too large",
            f"The request body is larger than {self.max_bytes} bytes.",
        )
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def install_middleware(app: FastAPI, settings: Settings) -> None:
    # Added innermost first: the ETag sees the plain body; gzip compresses it; HEAD drops it; the size
    # and rate limits refuse early; an exception nothing handled becomes a 500 inside the stack; CORS
    # wraps everything (so even a 429 or a 500 carries its headers).
    app.add_middleware(ETagMiddleware)
    # Level 6 (zlib's default), not Starlette's 9: several times less CPU for a few percent more bytes.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=6)
    app.add_middleware(HeadMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.rate_limit_per_address or settings.rate_limit_per_token:
        app.add_middleware(RateLimitMiddleware, settings=settings)
    app.add_middleware(UnexpectedErrorMiddleware)
    if settings.cors_origin_list:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match", "X-Request-ID"],
            expose_headers=["ETag", "Link", "Location", "Retry-After", "X-Request-ID"],
            max_age=600,
        )
