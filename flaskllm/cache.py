"""The result cache: an exact-match cache of provider answers, with single-flight.

    slot = await app.cache.claim(app.cache.key(job, provider, template_version=v))
    if slot.result is not None: ...                 # a hit, or an identical call's answer
    else: compute, then await slot.fill(result)     # or await slot.abandon(exc)

The pipeline (flaskllm/pipeline.py) is its one user: single, batch and stream requests alike.

The key is a SHA-256 over everything that changes the answer: every field of the Job except
the few in ``NOT_IN_KEY`` (so a field added to Job later is in the key unless someone decides
otherwise), the provider and the model that will answer, any ``extra`` the caller passes (the
template version), the normalized prompt and, with CACHE_SCOPE=token, the token's *name*.
The normalized prompt is NFC, with runs of whitespace collapsed and the ends stripped; for the
types whose answer points into the text by offset (``exact_text`` in flaskllm/llm/processing.py:
entities) the text is used exactly as sent, since a cached offset into a differently spaced text
would be wrong.

Storage is chosen by settings, the code above cannot tell which: a bounded in-memory LRU (per
worker process), or Redis with CACHE_URL or REDIS_URL. Values are JSON in both, the provider's
``Result`` fields plus the provider name and template version, so both behave the same.

Single-flight: identical requests in flight at the same time in one process share one upstream
call: the first one's slot computes (and streams, for a stream), the others wait on a future
for its answer. A failure is shared too; a first request that went away (a client that
disconnected) hands the key on, and the next waiter computes. Across processes, on Redis, the
first claims the key with a short ``SET NX PX`` lock and the others wait for its value
(polling), or compute themselves if the lock holder fails or the wait exceeds REQUEST_TIMEOUT.

A Redis outage degrades to no caching: logged once a minute, never a failed request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import time
import unicodedata
from collections import OrderedDict
from typing import Any, Awaitable, Callable

from flaskllm.llm import processing
from flaskllm.llm.base import Result
from flaskllm.redisutil import Outage, connect
from flaskllm.settings import Settings

log = logging.getLogger("flaskllm.cache")

KEY_VERSION = "v1"  # bump when the key or the value format changes: old entries are ignored
# Job fields that do not change the answer. Every other field is part of the key.
NOT_IN_KEY = frozenset({"text", "request_id", "token", "no_cache", "provider", "model",
                        "operation"})
POLL_SECONDS = 0.05  # how often a worker waiting for another worker's answer looks for it


def no_cache_requested(cache_control: str | None) -> bool:
    """Whether a request's Cache-Control header says ``no-cache`` (skip the lookup)."""
    if not cache_control:
        return False
    return any(part.strip().lower() == "no-cache" for part in cache_control.split(","))


def normalize(text: str) -> str:
    """NFC, whitespace runs collapsed to one space, ends stripped."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def encode(result: Result, provider: str, template_version: Any = None) -> bytes:
    fields = dataclasses.asdict(result)
    return json.dumps({"result": fields, "provider": provider,
                       "template_version": template_version},
                      separators=(",", ":"), default=str).encode("ascii")


_RESULT_FIELDS = frozenset(f.name for f in dataclasses.fields(Result))


def decode(raw: bytes) -> Result:
    fields = json.loads(raw)["result"]
    return Result(**{k: v for k, v in fields.items() if k in _RESULT_FIELDS})


# Stores ------------------------------------------------------------------------------------


class MemoryStore:
    """A bounded LRU with a TTL per entry, for one process."""

    name = "memory"

    def __init__(self, max_entries: int, clock: Callable[[], float] = time.monotonic):
        self.max_entries = max_entries
        self.clock = clock  # tests may pass a fake clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= self.clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry[1]

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        self._entries[key] = (self.clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    # One process: the in-process single-flight already makes identical requests wait.
    async def claim(self, key: str, seconds: float) -> bool:
        return True

    async def wait(self, key: str, seconds: float) -> bytes | None:
        return None

    async def release(self, key: str, value: bytes | None, ttl: int, claimed: bool) -> None:
        if value is not None:
            await self.set(key, value, ttl)

    async def aclose(self) -> None:
        self._entries.clear()


class RedisStore:
    """Redis, with the outage policy: any Redis error is logged (once a minute) and answered
    as a miss or a no-op, and Redis is skipped for a moment after each failure."""

    name = "redis"

    def __init__(self, url: str, prefix: str):
        self.url = url
        self.prefix = prefix
        self.outage = Outage("cache", url, "caching is off until it answers")
        self._client = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _redis(self):
        """The client for the running loop (a redis.asyncio client is bound to one loop)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._client = connect(self.url)
            self._loop = loop
        return self._client

    async def _run(self, operation: Callable[[Any], Awaitable[Any]], default: Any = None) -> Any:
        from redis.exceptions import ConnectionError, RedisError, TimeoutError

        if self.outage.down():
            return default
        try:
            async with self.outage.guard():
                value = await operation(self._redis())
        except (ConnectionError, TimeoutError, OSError) as exc:
            self.outage.failed(exc)
            return default
        except RedisError as exc:  # Redis answered, with an error: this command only
            log.warning("cache: Redis refused a command (%s: %s)", type(exc).__name__, exc)
            return default
        self.outage.recovered()
        return value

    async def get(self, key: str) -> bytes | None:
        return await self._run(lambda r: r.get(self.prefix + key))

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        await self._run(lambda r: r.set(self.prefix + key, value, ex=ttl))

    async def claim(self, key: str, seconds: float) -> bool:
        """Take the key's lock for ``seconds``; True also when Redis is down (compute)."""
        taken = await self._run(lambda r: r.set(self.prefix + "lock:" + key, b"1", nx=True,
                                                px=int(seconds * 1000)), default=True)
        return bool(taken)

    async def wait(self, key: str, seconds: float) -> bytes | None:
        """Another process holds the key's lock: wait for its value, up to ``seconds``.
        None when the lock goes away without a value (that process failed), or on timeout."""
        keys = (self.prefix + key, self.prefix + "lock:" + key)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value, lock = await self._run(lambda r: r.mget(keys), default=(None, None))
            if value is not None or lock is None:
                return value
            await asyncio.sleep(POLL_SECONDS)
        return None

    async def release(self, key: str, value: bytes | None, ttl: int, claimed: bool) -> None:
        """Store the value (if any) and drop our lock (if we hold it), in one round trip."""
        async def store(r):
            async with r.pipeline(transaction=True) as pipe:
                if value is not None:
                    pipe.set(self.prefix + key, value, ex=ttl)
                if claimed:
                    pipe.delete(self.prefix + "lock:" + key)
                await pipe.execute()

        if value is None and not claimed:
            return

        await self._run(store)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()
        self._loop = None


# The cache ---------------------------------------------------------------------------------


class _HandedOn(Exception):
    """The request computing a key went away without an answer: the next waiter computes."""


class Slot:
    """One request's place in the cache for one key: ``result`` when the answer was there
    (stored, or shared by an identical request in flight), else the duty to ``fill`` it (or
    ``abandon`` it)."""

    def __init__(self, cache: "Cache", key: str, result: Result | None = None, *,
                 store: bool = False, claimed: bool = False,
                 flight: asyncio.Future | None = None):
        self.cache = cache
        self.key = key
        self.result = result
        self._store = store
        self._claimed = claimed
        self._flight = flight

    async def fill(self, result: Result) -> None:
        """Store ``result`` for CACHE_TTL and hand it to the identical requests waiting."""
        if self._flight is not None and not self._flight.done():
            self._flight.set_result(result)
        try:
            if self._store:
                value = encode(result, result.provider or "", None)
                await self.cache.store.release(self.key, value, self.cache.ttl, self._claimed)
        finally:
            self.cache._landed(self.key, self._flight)

    async def abandon(self, exc: BaseException) -> None:
        """No answer: the waiters get the same failure, or compute themselves when this
        request went away (cancelled, or its stream closed)."""
        if self._flight is not None and not self._flight.done():
            gone = not isinstance(exc, Exception)  # CancelledError, GeneratorExit
            self._flight.set_exception(_HandedOn() if gone else exc)
        try:
            if self._claimed:
                await self.cache.store.release(self.key, None, self.cache.ttl, True)
        finally:
            self.cache._landed(self.key, self._flight)


class Cache:
    """The cache in front of the provider call; see the module's docstring."""

    def __init__(self, settings: Settings, store: MemoryStore | RedisStore):
        self.store = store
        self.ttl = settings.cache_ttl
        self.enabled = settings.cache_ttl > 0
        self.per_token = settings.cache_scope == "token"
        self.lock_seconds = settings.request_timeout + 1.0
        self._flights: dict[str, asyncio.Future] = {}
        self._key_fields: tuple[str, ...] | None = None

    def key(self, job: Any, provider: Any, **extra: Any) -> str:
        """The cache key of ``job`` answered by ``provider``; ``extra`` holds anything else
        that changes the answer (``template_version=...``)."""
        if self._key_fields is None:
            self._key_fields = tuple(f.name for f in dataclasses.fields(job)
                                     if f.name not in NOT_IN_KEY)
        text = job.text if processing.get(job.type).exact_text else normalize(job.text)
        parts = {name: getattr(job, name) for name in self._key_fields}
        parts.update(extra)
        parts["provider"] = provider.name
        parts["model"] = job.model or provider.default_model
        parts["scope"] = job.token if self.per_token else "*"
        parts["text"] = _digest(text)
        blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=_plain)
        return KEY_VERSION + ":" + _digest(blob)

    async def peek(self, key: str) -> Result | None:
        """The stored answer for ``key``, or None: no claim, no wait, nothing computed (what
        an estimate asks: is this item already answered?)."""
        return _decoded(await self.store.get(key)) if self.enabled else None

    async def claim(self, key: str, *, refresh: bool = False) -> Slot:
        """This request's slot for ``key``: a hit (``slot.result``), or the duty to compute,
        then ``fill`` or ``abandon`` it. ``refresh`` (Cache-Control: no-cache) skips the
        lookup and the sharing, and stores the fresh answer."""
        if not self.enabled:
            return Slot(self, key)
        if refresh:
            return Slot(self, key, store=True)
        while True:
            flight = self._flights.get(key)
            if flight is None:
                # A hit is answered here, with no future: the common case stays cheap.
                result = _decoded(await self.store.get(key))
                if result is not None:
                    return Slot(self, key, result)
                flight = self._flights.get(key)  # one may have started while we looked
                if flight is None:
                    return await self._lead(key)
            try:
                # Shielded: a waiter that goes away cancels its own wait, not the future.
                return Slot(self, key, await asyncio.shield(flight))
            except _HandedOn:
                continue  # the first request went away: look again (and maybe compute)

    async def _lead(self, key: str) -> Slot:
        """Become the request that computes ``key`` (here; across processes, on Redis, the
        one holding the key's lock, or else a waiter for the holder's answer)."""
        flight = asyncio.get_running_loop().create_future()
        flight.add_done_callback(_retrieved)
        self._flights[key] = flight
        try:
            claimed = await self.store.claim(key, self.lock_seconds)
            if not claimed:  # another process is computing this key: wait for its answer
                result = _decoded(await self.store.wait(key, self.lock_seconds))
                if result is not None:
                    flight.set_result(result)
                    self._landed(key, flight)
                    return Slot(self, key, result)
        except BaseException:
            flight.set_exception(_HandedOn())
            self._landed(key, flight)
            raise
        return Slot(self, key, store=True, claimed=claimed, flight=flight)

    def _landed(self, key: str, flight: asyncio.Future | None) -> None:
        if flight is not None and self._flights.get(key) is flight:
            del self._flights[key]

    async def aclose(self) -> None:
        await self.store.aclose()


def _retrieved(flight: asyncio.Future) -> None:
    if not flight.cancelled():
        flight.exception()  # retrieved: a failure nobody waits for any more is not logged


def _decoded(raw: bytes | None) -> Result | None:
    if raw is None:
        return None
    try:
        return decode(raw)
    except (ValueError, TypeError, KeyError) as exc:  # written by another version: a miss
        log.warning("ignoring an unreadable cache entry: %r", exc)
        return None


def _plain(value: Any) -> Any:
    """JSON for what json cannot encode itself (a Mapping that is not a dict, a tuple...)."""
    if hasattr(value, "items"):
        return dict(value.items())
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def build(settings: Settings) -> Cache:
    url = settings.cache_url or settings.redis_url
    if url and not url.startswith("memory://"):
        store = RedisStore(url, settings.redis_key_prefix + ":cache:")
    else:
        store = MemoryStore(settings.cache_max_entries)
    return Cache(settings, store)
