"""What the Redis backends of the cache and the rate limiter share: client options that fail
fast, and an ``Outage`` that turns a dead Redis into one log line and a quick degrade.

A request must never wait seconds on a Redis that is down: connects and operations time out
after half a second, redis-py's own retries (with backoff of up to seconds) are cut to one
immediate retry (enough to replace a pooled connection that a Redis restart broke), and after
a failure the backend is skipped altogether for ``RETRY_SECONDS`` before it is tried again.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger("flaskllm.redis")

SOCKET_TIMEOUT = 0.5
RETRY_SECONDS = 2.0  # how long a failed backend is skipped before the next attempt
LOG_EVERY = 60.0  # an outage is logged once a minute, not once a request
# redis-py's default pool fails at once past its connection cap (MaxConnectionsError, a
# ConnectionError that would pass for an outage); a blocking pool makes a burst wait its turn.
MAX_CONNECTIONS = 200
POOL_WAIT = 2.0


def client_options() -> dict:
    """Keyword arguments for ``redis.asyncio.Redis.from_url`` (also passed on by ``limits``)."""
    from redis.asyncio.retry import Retry  # imported here: a server without Redis never needs it
    from redis.backoff import NoBackoff

    return {
        "socket_connect_timeout": SOCKET_TIMEOUT,
        "socket_timeout": SOCKET_TIMEOUT,
        "retry": Retry(NoBackoff(), 1),
        "health_check_interval": 30,
    }


def pool(url: str):
    """A connection pool for ``url`` that waits (up to POOL_WAIT) for a free connection."""
    import redis.asyncio

    return redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT, **client_options())


def connect(url: str):
    """A ``redis.asyncio`` client on a blocking pool; bound to the running event loop."""
    import redis.asyncio

    return redis.asyncio.Redis.from_pool(pool(url))


def shown_url(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + sep + rest


class Outage:
    """The state of one Redis-backed component: up, or down until a moment. ``down()`` is the
    hot-path check (one comparison); ``failed()`` and ``recovered()`` log the transitions."""

    def __init__(self, component: str, url: str, consequence: str):
        self.component = component
        self.url = shown_url(url)
        self.consequence = consequence
        self.until = 0.0
        self.failing = False
        self._logged = 0.0

    def down(self) -> bool:
        return self.until > time.monotonic()

    def retry_after(self) -> int:
        """Whole seconds until the backend is tried again (at least 1)."""
        return max(1, int(self.until - time.monotonic() + 0.999))

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        self.until = now + RETRY_SECONDS
        self.failing = True
        if now - self._logged >= LOG_EVERY:
            self._logged = now
            # The message of a redis error names the host and port, never the password.
            log.warning("%s: Redis at %s is unreachable (%s: %s); %s", self.component,
                        self.url, type(exc).__name__, exc, self.consequence)

    def recovered(self) -> None:
        if self.failing:
            self.failing = False
            self._logged = 0.0
            log.warning("%s: Redis at %s answers again", self.component, self.url)
