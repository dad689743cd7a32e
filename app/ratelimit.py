"""Per-address and per-token rate limits (the ``limits`` library), answered with 429 and the IETF
``RateLimit-*`` headers. The counters live in the storage the settings name: in memory for one
process, ``async+redis://host:6379`` when several server processes must share them."""

import math
import time
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth.service import hash_secret
from app.config import Settings
from app.errors import problem

# Probes an orchestrator or a load balancer polls from one address; throttling them would take a
# healthy process out of service.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz"})


def token_key(authorization: str | None) -> str | None:
    """The bucket of the token a request authenticates with, or None when it sends no bearer token.

    The secret is read exactly as the auth dependency reads it (FastAPI's HTTPBearer: the scheme in any
    case, spaces around the secret ignored), so every spelling of one token shares one count. Only the
    token's stored hash names the bucket: the secret itself never reaches the storage."""
    scheme, secret = get_authorization_scheme_param(authorization)
    if scheme.lower() != "bearer" or not secret:
        return None
    return "token:" + hash_secret(secret)[:32]


class RateLimitMiddleware:
    """Every request counts against its address (pages, /metrics and the docs as much as the API; only
    the probes are exempt); one with a bearer token also against that token."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.per_address = parse(settings.rate_limit_per_address) if settings.rate_limit_per_address else None
        self.per_token = parse(settings.rate_limit_per_token) if settings.rate_limit_per_token else None
        self.limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))

    def _buckets(self, scope: Scope) -> list[tuple[RateLimitItem, str]]:
        buckets = []
        if self.per_address is not None:
            client = scope.get("client")
            buckets.append((self.per_address, f"address:{client[0] if client else 'unknown'}"))
        token = token_key(Headers(scope=scope).get("authorization"))
        if self.per_token is not None and token is not None:
            buckets.append((self.per_token, token))
        return buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        tightest: tuple[int, int, int] | None = None  # (remaining, limit, reset seconds)
        for item, key in self._buckets(scope):
            allowed = await self.limiter.hit(item, key)
            stats = await self.limiter.get_window_stats(item, key)
            reset = max(0, math.ceil(stats.reset_time - time.time()))
            state = (stats.remaining if allowed else 0, item.amount, reset)
            if not allowed:
                response = problem(
                    Request(scope),
                    429,
                    "too-many-requests",
                    "Too many requests",
                    f"More than {item.amount} requests per {item.get_expiry()} seconds; retry in {reset} s.",
                )
                response.headers.update(self._headers(state) | {"Retry-After": str(max(reset, 1))})
                await response(scope, receive, send)
                return
            if tightest is None or state[0] < tightest[0]:
                tightest = state
        if tightest is None:
            await self.app(scope, receive, send)
            return
        headers = self._headers(tightest)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _headers(state: tuple[int, int, int]) -> dict[str, Any]:
        remaining, limit, reset = state
        return {"RateLimit-Limit": str(limit), "RateLimit-Remaining": str(remaining), "RateLimit-Reset": str(reset)}
