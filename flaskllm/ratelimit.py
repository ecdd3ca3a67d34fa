"""Rate limits, with the ``limits`` library: per token, and per client address for requests
whose token fails, so that guessing tokens is throttled.

    handler ─▶ await app.limiter.hit(token_name, cost=n)   429 RATE_LIMITED + Retry-After
    check_token ─▶ app.limiter.refuse_blocked(address)      429 before the token is checked
               ─▶ await app.limiter.auth_failed(address)    after a wrong token (401, or 429)

One interface, two storages chosen by settings: memory (one count per worker process) or,
with REDIS_URL, Redis (one count shared by every worker and server). The strategy is the
moving window: at most N requests in any window of the limit's length, and a refused request
consumes nothing, so a client that keeps knocking does not push its own reset further away.

Limits are checked shortest window first and the check stops at the first refusal, so a
request refused by `100/minute` never counts against `2000/day`. (A request refused by the
day limit has already taken a place in the minute window; that only matters when the day is
spent anyway.)

When Redis does not answer, RATE_LIMIT_FAIL_OPEN decides: false (the default) answers 503
SERVICE_UNAVAILABLE with Retry-After, true lets requests through unlimited (and without
X-RateLimit-* headers). Either way the outage is logged once a minute, and Redis is skipped
for a couple of seconds after each failure so that no request waits on it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from limits import RateLimitItem
from limits.aio import storage, strategies
from limits.errors import StorageError

from flaskllm import context, errors
from flaskllm.redisutil import Outage, pool
from flaskllm.setting_values import parse_limits
from flaskllm.settings import Settings

TOKEN = "token"  # limit identifiers: ("token", name) and ("auth-fail", address)
AUTH_FAIL = "auth-fail"
MAX_BLOCKED = 10_000  # addresses remembered as blocked in one process


class StorageUnavailable(errors.ServiceUnavailable):
    """503 SERVICE_UNAVAILABLE: Redis does not answer and RATE_LIMIT_FAIL_OPEN is false."""

    logged = True  # the outage is logged once a minute (redisutil.Outage), not per request


def describe(item: RateLimitItem) -> str:
    """``60 per 1 minute``"""
    return f"{item.amount} per {item.multiples} {item.GRANULARITY.name}"


def client_address(request: Any) -> str:
    """The client's address: the connection's, or the one a proxy in TRUSTED_PROXIES named
    in CLIENT_IP_HEADER (flaskllm/clientip.py has already put it in the scope)."""
    scope = getattr(request, "scope", None) or {}
    client = scope.get("client")
    return client[0] if client else "unknown"


class Disabled:
    """RATE_LIMIT_ENABLED=false: every check passes, no headers are added."""

    enabled = False
    backend = "off"

    async def hit(self, name: str, cost: int = 1) -> None:
        return None

    def refuse_blocked(self, address: str) -> None:
        return None

    async def auth_failed(self, address: str) -> None:
        return None

    async def aclose(self) -> None:
        return None


class Limiter:
    """Per-token limits (RATE_LIMIT) and the failed-authentication limit per address
    (AUTH_FAIL_LIMIT), on memory or on Redis."""

    enabled = True

    def __init__(self, settings: Settings):
        self.limits = parse_limits(settings.rate_limit, "RATE_LIMIT")
        self.auth_limits = parse_limits(settings.auth_fail_limit, "AUTH_FAIL_LIMIT")
        self.fail_open = settings.rate_limit_fail_open
        self.url = settings.redis_url
        self.prefix = settings.redis_key_prefix + ":ratelimit"
        self.backend = "redis" if self.url else "memory"
        self.outage = Outage("rate limiter", self.url, "requests are let through unlimited"
                             if self.fail_open else "requests are refused with 503")
        self._strategy = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # What an outage raises: limits' StorageError, and redis-py's TimeoutError for the
        # probe's deadline. redis is imported only for a Redis backend: its import took
        # 0.1 s of every start-up (half of connexion's route building).
        self._failures: tuple[type[BaseException], ...] = (StorageError,)
        if self.url:
            from redis.exceptions import TimeoutError as RedisTimeout

            self._failures = (StorageError, RedisTimeout)
        # Addresses over the failed-authentication limit, until when (monotonic). Checked
        # before every token check, so it lives in the process: a dict lookup, no round trip.
        # Every process learns of a block from the first failure it sees from that address.
        self._blocked: dict[str, float] = {}

    def _limiter(self):
        """The moving-window limiter. A Redis client is bound to the event loop it first ran
        in, so the Redis one is built inside the running loop (and again for a new loop, which
        only tests do); the memory one holds the counts and is built once."""
        if self.backend == "memory":
            if self._strategy is None:
                self._strategy = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
            return self._strategy
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            unix = self.url.startswith("unix://")  # limits spells it async+redis+unix://
            url = "async+" + ("redis+" if unix else "") + self.url
            self._strategy = strategies.MovingWindowRateLimiter(storage.RedisStorage(
                url, implementation="redispy", wrap_exceptions=True, key_prefix=self.prefix,
                connection_pool=pool(self.url)))
            self._loop = loop
        return self._strategy

    async def hit(self, name: str, cost: int = 1) -> None:
        """Count ``cost`` requests (a batch: one per item) for the token named ``name``, and
        set the X-RateLimit-* headers of the response. Raises RateLimited (429) when a limit
        is reached, ServiceUnavailable (503) when Redis is down and the policy is closed."""
        if self.outage.down():
            return self._unavailable()
        try:
            async with self.outage.guard():
                limiter = self._limiter()
                for item in self.limits:
                    if not await limiter.hit(item, TOKEN, name, cost=cost):
                        stats = await limiter.get_window_stats(item, TOKEN, name)
                        raise self._refusal(item, stats, cost)
                self._set_headers(*[(item, await limiter.get_window_stats(item, TOKEN, name))
                                    for item in self.limits])
        except self._failures as exc:
            self.outage.failed(getattr(exc, "storage_error", exc))
            return self._unavailable()
        self.outage.recovered()

    def _refusal(self, item, stats, cost: int) -> errors.RateLimited:
        wait = max(1, int(stats.reset_time - time.time() + 0.999))
        self._set_headers((item, stats))
        if cost > item.amount:
            detail = (f"This request counts {cost} (one per item), more than the limit of "
                      f"{describe(item)} allows at once; send fewer items.")
        else:
            detail = (f"This token may make {describe(item)} (RATE_LIMIT); "
                      f"retry in {wait} seconds.")
        return errors.RateLimited(detail, headers={"Retry-After": str(wait)})

    def _unavailable(self) -> None:
        if self.fail_open:
            return None
        raise StorageUnavailable(
            "The rate limiter's storage (Redis) is not answering, and this server refuses "
            "requests it cannot count (RATE_LIMIT_FAIL_OPEN=false); retry shortly.",
            headers={"Retry-After": str(self.outage.retry_after())})

    @staticmethod
    def _set_headers(*stats_by_item) -> None:
        """X-RateLimit-* for the limit closest to refusing (least remaining, then soonest
        reset). Reset is in seconds from now, like Retry-After, so clocks need not agree."""
        ctx = context.current()  # outside a request: a detached context, the headers go nowhere
        item, stats = min(stats_by_item, key=lambda pair: (pair[1].remaining,
                                                           pair[1].reset_time))
        ctx.set_header("X-RateLimit-Limit", str(item.amount))
        ctx.set_header("X-RateLimit-Remaining", str(max(0, stats.remaining)))
        ctx.set_header("X-RateLimit-Reset",
                       str(max(0, int(stats.reset_time - time.time() + 0.999))))

    # Failed authentication ---------------------------------------------------------------

    def refuse_blocked(self, address: str) -> None:
        """429 for an address over AUTH_FAIL_LIMIT, before its token is even looked at."""
        if not self._blocked:
            return
        until = self._blocked.get(address)
        if until is None:
            return
        wait = until - time.monotonic()
        if wait <= 0:
            del self._blocked[address]
            return
        raise self._auth_refusal(max(1, int(wait + 0.999)))

    async def auth_failed(self, address: str) -> None:
        """Count a wrong token from ``address``; 429 once AUTH_FAIL_LIMIT is passed (the
        request is refused either way: without Redis the plain 401 stands)."""
        if self.outage.down():
            return
        try:
            async with self.outage.guard():
                limiter = self._limiter()
                for item in self.auth_limits:
                    if not await limiter.hit(item, AUTH_FAIL, address):
                        stats = await limiter.get_window_stats(item, AUTH_FAIL, address)
                        wait = max(1.0, stats.reset_time - time.time())
                        if len(self._blocked) >= MAX_BLOCKED:
                            self._blocked.clear()
                        self._blocked[address] = time.monotonic() + wait
                        raise self._auth_refusal(int(wait + 0.999))
        except self._failures as exc:
            self.outage.failed(getattr(exc, "storage_error", exc))
            return
        self.outage.recovered()

    @staticmethod
    def _auth_refusal(wait: int) -> errors.RateLimited:
        return errors.RateLimited(
            f"Too many requests with a wrong X-API-Token from this address (AUTH_FAIL_LIMIT); "
            f"retry in {wait} seconds.", headers={"Retry-After": str(wait)})

    async def aclose(self) -> None:
        strategy, self._strategy = self._strategy, None
        if strategy is None or self.backend != "redis":
            return
        if self._loop is not asyncio.get_running_loop():
            return  # a client of another (finished) loop cannot be closed from this one
        client = strategy.storage.bridge.get_connection()
        await client.aclose()


def build(settings: Settings) -> Limiter | Disabled:
    return Limiter(settings) if settings.rate_limit_enabled else Disabled()
