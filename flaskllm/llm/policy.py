"""Deadline, retries, fallback and error mapping for provider calls: the one place for them.

Adapters (``openai_api``, ``anthropic_api``) translate their SDK's exceptions, by type and
status code, into this small internal tree; this module decides what is retried, what falls
back to the next provider and which problem the client finally sees::

    UpstreamError                          never leaves flaskllm.llm as itself
     ├── UpstreamStatus(status, retry_after)  an HTTP error status from the provider
     ├── UpstreamRefused                   nothing listens at the base URL
     ├── UpstreamDisconnect                the connection broke (reset, closed mid-body)
     ├── UpstreamTimeout                   the attempt ran out of time (the deadline)
     └── UpstreamMalformed                 a 2xx whose body is not the API's JSON

    what happened                       retried   falls back   the client gets
    429                                 yes       no           429 PROVIDER_RATE_LIMITED
                                                               (with Retry-After)
    408, 409, 5xx (529 overloaded too)  yes       yes (5xx)    502 PROVIDER_ERROR
    401, 403                            no        no           502 PROVIDER_AUTH (logged as error)
    other 4xx (bad model, …)            no        no           502 PROVIDER_ERROR
    connection reset / broken           yes       yes          502 PROVIDER_ERROR
    connection refused                  no        yes          502 PROVIDER_ERROR, at once
    malformed / empty / HTML body       no        yes          502 PROVIDER_ERROR
    deadline passed                     no        yes          504 PROVIDER_TIMEOUT

REQUEST_TIMEOUT is one deadline for the whole request: every attempt, back-off sleep, fallback
and repair fits inside it. Each attempt gets the time that remains (passed to the SDK, whose
own retries are off, and enforced here with ``asyncio.timeout`` since httpx's timeouts are per
read, not per request). With fallbacks configured, a provider gets an equal share of what
remains among the providers still to try, so a hanging primary leaves time for the next one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import email.utils
import logging
import math
import random
import time
from typing import Mapping, Sequence

from flaskllm import errors
from flaskllm.llm.base import Provider, Result, Task

log = logging.getLogger("flaskllm.llm")

# Retries ------------------------------------------------------------------------------------
MAX_ATTEMPTS = 3  # per provider: the first try and two retries
RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx
BACKOFF_INITIAL = 0.25  # seconds before the first retry
BACKOFF_FACTOR = 2.0
BACKOFF_MAX = 4.0
JITTER = 0.5  # each back-off is scaled by a random factor in [1 - JITTER, 1]
RETRY_AFTER_MAX = 60.0  # an upstream asking for a longer wait is not waited for
MIN_ATTEMPT_SECONDS = 0.05  # less time than this left: do not start another attempt

# Answers to our own clients ------------------------------------------------------------------
DEFAULT_RETRY_AFTER = 3  # seconds, for an upstream 429 that did not say

# Connection pool of each SDK client: httpx's default of 100 connections would silently cap
# concurrency at 100 in-flight LLM calls per provider.
POOL_MAX_CONNECTIONS = 1000
POOL_MAX_KEEPALIVE = 100


class UpstreamError(Exception):
    """A provider call failed; the subclass and fields say how (never the message text)."""

    retryable = False
    fallback = True


class UpstreamStatus(UpstreamError):
    def __init__(self, status: int, retry_after: float | None = None):
        super().__init__(f"upstream status {status}")
        self.status = status
        self.retry_after = retry_after
        self.retryable = status in RETRY_STATUSES or status >= 500
        self.fallback = status >= 500


class UpstreamRefused(UpstreamError):
    """Connection refused: nothing is listening, so retrying soon is pointless."""


class UpstreamDisconnect(UpstreamError):
    retryable = True


class UpstreamTimeout(UpstreamError):
    pass


class UpstreamMalformed(UpstreamError):
    pass


def refused(exc: BaseException) -> bool:
    """Whether a connection error was a refused connection (walks the exception chain)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionRefusedError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if not headers:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:  # not a number: an HTTP date, or junk (ignored)
            parsed = email.utils.parsedate_tz(value) if divisor == 1.0 else None
            if parsed is None:
                continue
            seconds = email.utils.mktime_tz(parsed) - time.time()
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None


class Deadline:
    """A point in (monotonic) time by which the answer is due."""

    def __init__(self, seconds: float, *, at: float | None = None):
        self.seconds = seconds
        self.at = time.monotonic() + seconds if at is None else at

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    def share(self, ways: int) -> "Deadline":
        """An earlier deadline: an equal share of what remains, split ``ways`` ways."""
        if ways <= 1:
            return self
        part = self.remaining() / ways
        return Deadline(part, at=time.monotonic() + part)


def backoff(retry: int) -> float:
    """Exponential back-off with jitter before retry number ``retry`` (1, 2, …)."""
    delay = min(BACKOFF_MAX, BACKOFF_INITIAL * BACKOFF_FACTOR ** (retry - 1))
    return delay * (1 - JITTER * random.random())


async def attempt(provider: Provider, task: Task, deadline: Deadline) -> Result:
    """One call, bounded by the deadline; a timeout becomes ``UpstreamTimeout``."""
    budget = deadline.remaining()
    if budget < MIN_ATTEMPT_SECONDS:
        raise UpstreamTimeout("no time left for an attempt")
    try:
        async with asyncio.timeout(budget):
            return await provider.complete(dataclasses.replace(task, timeout=budget))
    except TimeoutError as exc:
        raise UpstreamTimeout("the attempt ran out of time") from exc


async def with_retries(provider: Provider, task: Task, deadline: Deadline) -> Result:
    """Call ``provider`` until it answers, the error is final, attempts run out or the
    deadline would pass during the next wait."""
    for number in range(1, MAX_ATTEMPTS + 1):
        try:
            return await attempt(provider, task, deadline)
        except UpstreamError as exc:
            if not exc.retryable or number == MAX_ATTEMPTS:
                raise
            wait = backoff(number)
            asked = getattr(exc, "retry_after", None)
            if asked is not None:
                if asked > RETRY_AFTER_MAX:
                    raise
                wait = max(wait, asked)
            if wait + MIN_ATTEMPT_SECONDS >= deadline.remaining():
                raise  # waiting would pass the deadline: answer now instead
            log.info("provider %s failed (%s); retry %d in %.2fs", provider.name,
                     type(exc).__name__, number, wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises


async def with_fallback(chain: Sequence[tuple[Provider, Task]],
                        deadline: Deadline) -> tuple[Provider, Task, Result]:
    """Try each (provider, task) in order; move on after a 5xx, timeout or connection error.
    Returns the provider that answered, its task and its result; raises the problem of the
    last one that failed, already mapped for the client."""
    for index, (provider, task) in enumerate(chain):
        left = len(chain) - index
        try:
            return provider, task, await with_retries(provider, task, deadline.share(left))
        except UpstreamError as exc:
            problem = to_problem(exc, provider, deadline)
            if left == 1 or not exc.fallback or deadline.remaining() < MIN_ATTEMPT_SECONDS:
                raise problem from exc
            log.warning("provider %s failed (%s, %s); falling back to %s", provider.name,
                        type(exc).__name__, problem.code, chain[index + 1][0].name)
    raise AssertionError("unreachable")  # the last provider returns or raises


def to_problem(exc: UpstreamError, provider: Provider,
               deadline: Deadline | None = None) -> errors.APIProblem:
    """The client-facing problem for what is left after retries (by type and status)."""
    name = provider.name
    if isinstance(exc, UpstreamTimeout):
        seconds = f" within {deadline.seconds:g} seconds" if deadline else ""
        return errors.ProviderTimeout(f"The {name} provider did not answer{seconds}.")
    if isinstance(exc, UpstreamStatus):
        if exc.status == 429:
            wait = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
            seconds = max(1, math.ceil(wait))
            return errors.ProviderRateLimited(
                f"The {name} provider is rate limiting this server; retry in {seconds} "
                f"seconds.", headers={"Retry-After": str(seconds)})
        if exc.status in (401, 403):
            # The operator's key is wrong or lacks access: alert on this, it fails every call.
            log.error("provider %s rejected this server's credentials (HTTP %d); check its "
                      "key setting", name, exc.status)
            return errors.ProviderAuth(
                f"The {name} provider rejected this server's credentials (upstream "
                f"{exc.status}); the operator must fix the provider key.")
        return errors.ProviderError(f"The {name} provider answered with an error "
                                    f"(upstream {exc.status}).")
    if isinstance(exc, UpstreamRefused):
        return errors.ProviderError(f"The {name} provider refused the connection.")
    if isinstance(exc, UpstreamDisconnect):
        return errors.ProviderError(f"The connection to the {name} provider broke.")
    if isinstance(exc, UpstreamMalformed):
        return errors.ProviderError(f"The {name} provider sent a response that is not "
                                    f"valid API output.")
    return errors.ProviderError(f"The {name} provider failed.")
