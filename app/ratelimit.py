"""Per-address and per-token rate limits (the ``limits`` library), answered with 429 and the IETF
``RateLimit-*`` headers. The counters live in the storage the settings name: in memory for one
process, ``async+redis://host:6379`` when several server processes must share them."""

import hashlib
import math
import time
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.errors import problem


class RateLimitMiddleware:
    """Every request under /api counts against its address; one with a token also against the token."""

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
        authorization = Headers(scope=scope).get("authorization")
        if self.per_token is not None and authorization:
            # The secret itself never reaches the storage: only a hash of it.
            buckets.append((self.per_token, "token:" + hashlib.sha256(authorization.encode()).hexdigest()[:32]))
        return buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
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
