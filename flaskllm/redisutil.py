"""What the Redis backends of the cache, the rate limiter and the budgets share: client
options that fail fast, and a circuit breaker per Redis URL that turns a dead or hung Redis
into one log line and a quick degrade.

A request must never wait long on a Redis that does not answer. Commands time out after
SOCKET_TIMEOUT (a hung Redis, stopped with SIGSTOP or behind a full network buffer,
accepts connections and answers nothing). redis-py's own retries are cut to one immediate
retry of a broken connection (enough to replace a pooled one that a Redis restart broke),
none after a timeout. After a failure, the circuit of that URL opens: every component using it skips
Redis for OPEN_SECONDS, answering at once (the cache: a miss; the rate limiter: its
RATE_LIMIT_FAIL_OPEN policy; budgets: 503). Then one request probes it (half-open) while the
others go on skipping; its success closes the circuit. So a request waits on a failing Redis
at most one SOCKET_TIMEOUT, and usually not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from typing import AsyncIterator

log = logging.getLogger("flaskllm.redis")

# The read timeout: a hung Redis accepts connections and answers nothing. Not lower: the
# timer runs on the event loop, so a loop busy with a burst (100 requests at once on a
# loaded machine) fires it late for a reply that did arrive; 0.25 s failed that way here.
SOCKET_TIMEOUT = 0.4
# A new connection may wait for a busy Redis (or a loaded machine) to accept it: 200 opened
# at once took up to 1.5 s, and over 2 s in the test suite on a loaded 2-core machine. Only a
# silent host costs this, and only to the requests in flight when it went silent: a hung
# Redis still accepts connections (its kernel does), and a probe is bounded to SOCKET_TIMEOUT.
CONNECT_TIMEOUT = 5.0
OPEN_SECONDS = 3.0  # after a failure, how long every component skips that Redis
PROBE_SECONDS = 1.0  # half-open: one request probes; the others skip for up to this long
LOG_EVERY = 60.0  # an outage is logged once a minute, not once a request
# redis-py's default pool fails at once past its connection cap (MaxConnectionsError, a
# ConnectionError that would pass for an outage); a blocking pool makes a burst wait its turn.
MAX_CONNECTIONS = 200
POOL_WAIT = 2.0


def client_options() -> dict:
    """Keyword arguments for ``redis.asyncio.Redis.from_url`` (also passed on by ``limits``)."""
    from redis.asyncio.retry import Retry  # imported here: a server without Redis never needs it
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError

    return {
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": SOCKET_TIMEOUT,
        # A broken connection is retried once, at once; a timeout is not (it would double).
        "retry": Retry(NoBackoff(), 1, supported_errors=(ConnectionError,)),
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


class Circuit:
    """The breaker of one Redis URL, shared by every component that uses it in a process."""

    def __init__(self) -> None:
        self.open_until = 0.0  # 0: closed
        self.probe_until = 0.0

    def allow(self) -> bool:
        """Whether this caller may use Redis now (one comparison while closed)."""
        if not self.open_until:
            return True
        now = time.monotonic()
        if now < self.open_until or now < self.probe_until:
            return False
        self.probe_until = now + PROBE_SECONDS  # this caller is the probe
        return True

    @property
    def probing(self) -> bool:
        return self.probe_until > time.monotonic()

    def failed(self) -> None:
        self.open_until = time.monotonic() + OPEN_SECONDS
        self.probe_until = 0.0

    def succeeded(self) -> None:
        self.open_until = self.probe_until = 0.0

    @property
    def is_open(self) -> bool:
        return bool(self.open_until)


_circuits: dict[str, Circuit] = {}


def circuit(url: str) -> Circuit:
    found = _circuits.get(url)
    if found is None:
        found = _circuits[url] = Circuit()
    return found


@contextlib.asynccontextmanager
async def _probe_deadline() -> AsyncIterator[None]:
    from redis.exceptions import TimeoutError as RedisTimeout

    try:
        async with asyncio.timeout(SOCKET_TIMEOUT):
            yield
    except TimeoutError:
        raise RedisTimeout(f"no answer within {SOCKET_TIMEOUT}s") from None


_ping_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = \
    weakref.WeakKeyDictionary()


async def ping(url: str) -> None:
    """Raise unless the Redis at ``url`` answers a PING within SOCKET_TIMEOUT (at once while
    its circuit is open). For /api/v1/health; the outcome moves the shared circuit."""
    from redis.exceptions import ConnectionError

    breaker = circuit(url)
    if not breaker.allow():
        raise ConnectionError("skipped: the circuit is open after a failure")
    clients = _ping_clients.setdefault(asyncio.get_running_loop(), {})
    client = clients.get(url)
    if client is None:
        client = clients[url] = connect(url)
    try:
        async with _probe_deadline():  # /health answers quickly, however Redis is
            await client.ping()
    except Exception:
        breaker.failed()
        raise
    breaker.succeeded()


class Outage:
    """What one Redis-backed component knows of its Redis: ``down()`` is the hot-path check
    (the URL's shared circuit); ``failed()`` and ``recovered()`` record each operation's
    outcome and log the transitions, once a minute at most, with what it means here."""

    def __init__(self, component: str, url: str, consequence: str):
        self.component = component
        self.url = shown_url(url)
        self.consequence = consequence
        self.circuit = circuit(url)
        self.failing = False
        self._logged = float("-inf")

    def down(self) -> bool:
        if self.circuit.allow():
            return False
        if not self.failing:  # another component's failure opened the circuit
            self._log("its circuit is open after a failure")
        return True

    def guard(self):
        """Around the operation that follows a ``down()`` of False. A probe gets a fresh
        connection, and redis-py may try a fresh one twice (a handshake that times out, then
        again): the probe is bounded to SOCKET_TIMEOUT as a whole. Other operations are not
        (a burst may wait for a pooled connection, up to POOL_WAIT)."""
        return _probe_deadline() if self.circuit.probing else contextlib.nullcontext()

    def retry_after(self) -> int:
        """Whole seconds until Redis is tried again (at least 1)."""
        return max(1, int(self.circuit.open_until - time.monotonic() + 0.999))

    def failed(self, exc: BaseException) -> None:
        self.circuit.failed()
        # The message of a redis error names the host and port, never the password.
        self._log(f"{type(exc).__name__}: {exc}")

    def _log(self, reason: str) -> None:
        self.failing = True
        now = time.monotonic()
        if now - self._logged >= LOG_EVERY:
            self._logged = now
            log.warning("%s: Redis at %s is unreachable (%s); %s", self.component,
                        self.url, reason, self.consequence)

    def recovered(self) -> None:
        self.circuit.succeeded()
        if self.failing:
            self.failing = False
            self._logged = float("-inf")
            log.warning("%s: Redis at %s answers again", self.component, self.url)
