"""Deadline, retries, fallback and error mapping for provider calls: the one place for them.

Adapters (``openai_api``, ``anthropic_api``) translate their SDK's exceptions, by type and
status code, into this small internal tree; this module decides what is retried, what falls
back to the next provider and which problem the client finally sees::

    UpstreamError                          never leaves flaskllm.llm as itself
     ├── UpstreamStatus(status, retry_after)  an HTTP error status from the provider
     ├── UpstreamRefused                   nothing listens at the base URL
     ├── UpstreamDisconnect                the connection broke (reset, closed mid-body)
     ├── UpstreamTimeout                   the attempt ran out of time (the deadline)
     ├── UpstreamMalformed                 a 2xx whose body is not the API's stream
     └── UpstreamEmpty                     a well-formed answer with no text and no data

    what happened                       retried   falls back   the client gets
    429                                 yes       no           429 PROVIDER_RATE_LIMITED
                                                               (with Retry-After)
    408, 409, 5xx (529 overloaded too)  yes       yes (5xx)    502 PROVIDER_ERROR
    401, 403                            no        no           502 PROVIDER_AUTH (logged as error)
    other 4xx (bad model, …)            no        no           502 PROVIDER_ERROR
    connection reset / broken           yes       yes          502 PROVIDER_ERROR
    connection refused                  no        yes          502 PROVIDER_ERROR, at once
    malformed / HTML body               no        yes          502 PROVIDER_ERROR
    no text and no data (max tokens…)   no        yes          502 PROVIDER_EMPTY_ANSWER
    deadline passed                     no        yes          504 PROVIDER_TIMEOUT

An error event inside a 200 stream (OpenAI's ``data: {"error": ...}``, Anthropic's ``event:
error``) counts as the HTTP status its error type stands for (``STREAM_ERROR_STATUSES``): an
``overloaded_error`` is a 529, retried and falling back like one.

All of it happens before the first delta: ``stream()`` retries and falls back only while
nothing has been written; after that a failure is final (the client has part of an answer).

REQUEST_TIMEOUT is one deadline for the whole request up to its first delta, and for a drained
(not streamed) answer up to its end: every attempt, back-off sleep, fallback
and repair fits inside it. Each attempt gets the time that remains (passed to the SDK, whose
own retries are off, and enforced here with ``asyncio.timeout`` since httpx's timeouts are per
read, not per request). With fallbacks configured, a provider gets an equal share of what
remains among the providers still to try, so a hanging primary leaves time for the next one.
A streamed answer, once it flows, may take longer: then ``gap`` bounds each wait between deltas.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import email.utils
import json
import logging
import math
import random
import time
from types import ModuleType
from typing import Any, AsyncIterator, Iterator, Mapping, Sequence

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
# concurrency at 100 in-flight LLM calls per provider. The SDKs' aiohttp transport hands
# aiohttp only the connection limit and the keep-alive expiry (httpx_aiohttp's get_client, in
# openai 3.57 and anthropic 2.16): an idle connection is kept until it expires, however many
# there are, so after a burst of 1,000 calls 1,000 stay open for this long. (httpx's
# max_keepalive_connections, which this set to 100 before, is not passed on.)
POOL_MAX_CONNECTIONS = 1000
POOL_KEEPALIVE_SECONDS = 5.0  # httpx's default expiry, now said here


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


class UpstreamEmpty(UpstreamError):
    """The answer is well formed but holds nothing (the model hit max tokens, stopped, …)."""


# An error event inside a 200 stream names only its error type: the status each API documents
# for that type. Anthropic: https://docs.anthropic.com/en/api/errors (its SDK raises an
# APIStatusError with the stream's 200 status). OpenAI's chat stream sends
# `data: {"error": {"type": "server_error", ...}}` (its SDK raises a bare APIError); its error
# types and codes: https://platform.openai.com/docs/guides/error-codes. Unknown types: a 500.
STREAM_ERROR_STATUSES = {
    "invalid_request_error": 400, "authentication_error": 401, "invalid_api_key": 401,
    "billing_error": 402, "permission_error": 403, "not_found_error": 404,
    "request_too_large": 413, "rate_limit_error": 429, "rate_limit_exceeded": 429,
    "insufficient_quota": 429, "api_error": 500, "server_error": 500, "timeout_error": 504,
    "overloaded_error": 529,
}
STREAM_ERROR_DEFAULT = 500


def stream_error_status(body: Any) -> int:
    """The status an error event's body stands for (``{"type": "error", "error": {...}}`` or
    the inner error object itself)."""
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        body = body["error"]
    if not isinstance(body, Mapping):
        return STREAM_ERROR_DEFAULT
    for field in ("type", "code"):
        status = STREAM_ERROR_STATUSES.get(str(body.get(field)))
        if status is not None:
            return status
    return STREAM_ERROR_DEFAULT


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


@contextlib.contextmanager
def sdk_errors(sdk: ModuleType, transport: ModuleType) -> Iterator[None]:
    """An SDK's exceptions → ``Upstream*``, by exception type and status code. The openai and
    anthropic SDKs share one exception tree (both are generated by Stainless) and one HTTP
    library (``transport``), whose errors the anthropic SDK lets out of a stream unwrapped."""
    try:
        yield
    except sdk.APIStatusError as exc:
        status = exc.status_code
        if status < 400:  # an error event inside a 200 stream (Anthropic's `event: error`)
            status = stream_error_status(exc.body)
        raise UpstreamStatus(status, retry_after(exc.response.headers)) from exc
    except (sdk.APITimeoutError, transport.TimeoutException) as exc:
        if refused(exc):  # the aiohttp transport reports a refused connect as a timeout
            raise UpstreamRefused("connection refused") from exc
        raise UpstreamTimeout("the SDK timed out") from exc
    except (sdk.APIConnectionError, transport.TransportError) as exc:
        kind = UpstreamRefused if refused(exc) else UpstreamDisconnect
        raise kind("connection failed") from exc
    except (sdk.APIResponseValidationError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        # The SDKs let a 2xx body that is not JSON escape as a bare JSONDecodeError.
        raise UpstreamMalformed("the body is not the API's JSON") from exc
    except sdk.APIError as exc:  # after its subclasses: an error event inside a stream (OpenAI)
        raise UpstreamStatus(stream_error_status(exc.body)) from exc


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


def retry_wait(exc: UpstreamError, number: int, deadline: Deadline) -> float | None:
    """Seconds to wait before retrying after failed attempt ``number``, or None: do not retry
    (final error, attempts spent, an upstream asking too long, or the wait would pass the
    deadline, when answering now is better)."""
    if not exc.retryable or number >= MAX_ATTEMPTS:
        return None
    wait = backoff(number)
    asked = getattr(exc, "retry_after", None)
    if asked is not None:
        if asked > RETRY_AFTER_MAX:
            return None
        wait = max(wait, asked)
    if wait + MIN_ATTEMPT_SECONDS >= deadline.remaining():
        return None
    return wait


async def attempt(provider: Provider, task: Task, share: Deadline, deadline: Deadline,
                  gap: float | None) -> AsyncIterator[str | Result]:
    """One call's deltas and its Result. The first delta is due within ``share``; the next
    ones within ``gap`` each (a stream) or by ``deadline`` (a drained answer). A timeout is
    ``UpstreamTimeout``; an answer with nothing in it is ``UpstreamEmpty``."""
    budget = share.remaining()
    if budget < MIN_ATTEMPT_SECONDS:
        raise UpstreamTimeout("no time left for an attempt")
    # The SDK's own timeout only when the whole answer is due by the deadline: a stream that
    # keeps flowing may take longer (each gap is bounded here).
    # A drained answer (gap None) is asked for whole: one JSON body instead of an event per
    # token, which cost 6.5 ms of CPU a request through the SDK (bench, 2026-12-02).
    pieces = provider.stream(dataclasses.replace(task, timeout=budget if gap is None else None,
                                                 stream=gap is not None))
    limit, wrote = budget, False
    async with contextlib.aclosing(pieces):
        while True:
            try:
                async with asyncio.timeout(limit):
                    piece = await anext(pieces)
            except StopAsyncIteration:
                raise UpstreamMalformed("the stream ended without a result") from None
            except TimeoutError as exc:
                raise UpstreamTimeout("the attempt ran out of time") from exc
            if isinstance(piece, Result):
                if not wrote and not piece.text.strip() and piece.data is None:
                    raise UpstreamEmpty("no text and no data")
                yield piece
                return
            if piece:
                wrote = True
                yield piece
                limit = gap if gap is not None else deadline.remaining()


async def stream(chain: Sequence[tuple[Provider, Task]], deadline: Deadline, *,
                 gap: float | None = None) -> AsyncIterator[tuple[Provider, Task, str | Result]]:
    """The answer of the first (provider, task) of ``chain`` that gives one: its deltas, then
    its Result, each with the provider and task that wrote it. Until the first delta a failed
    attempt is retried (``retry_wait``), then the next provider is tried after a 5xx, timeout
    or connection error; after it, or when nothing is left to try, the failure is raised as
    the client's problem (``to_problem``)."""
    for index, (provider, task) in enumerate(chain):
        left = len(chain) - index
        share = deadline.share(left)
        number = 0
        while True:
            number += 1
            started = False
            try:
                async with contextlib.aclosing(attempt(provider, task, share, deadline,
                                                       gap)) as pieces:
                    async for piece in pieces:
                        started = started or isinstance(piece, str)
                        yield provider, task, piece
                return
            except UpstreamError as exc:
                problem = to_problem(exc, provider, deadline)
                if started:
                    raise problem from exc
                wait = retry_wait(exc, number, share)
                if wait is not None:
                    log.info("provider %s failed (%s); retry %d in %.2fs", provider.name,
                             type(exc).__name__, number, wait)
                    await asyncio.sleep(wait)
                    continue
                if left == 1 or not exc.fallback or deadline.remaining() < MIN_ATTEMPT_SECONDS:
                    raise problem from exc
                log.warning("provider %s failed (%s, %s); falling back to %s", provider.name,
                            type(exc).__name__, problem.code, chain[index + 1][0].name)
                break


async def complete(chain: Sequence[tuple[Provider, Task]],
                   deadline: Deadline) -> tuple[Provider, Task, Result]:
    """``stream`` drained: the provider that answered, its task and its Result."""
    async with contextlib.aclosing(stream(chain, deadline)) as pieces:
        async for provider, task, piece in pieces:
            if isinstance(piece, Result):
                return provider, task, piece
    raise AssertionError("unreachable")  # stream ends with a Result or raises


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
    if isinstance(exc, UpstreamEmpty):
        return errors.ProviderEmptyAnswer(f"The {name} provider's answer was empty (no text "
                                          f"and no data); it may have run out of tokens.")
    return errors.ProviderError(f"The {name} provider failed.")
