"""Short-lived caching of database lookups, shared by the requests that ask at once, with
the last known answer kept for when the database is away.

    tokens = Lookups(seconds=5.0, stale_seconds=600, what="tokens")
    info = await tokens.get(digest, store.lookup, token)   # store.lookup runs in a thread

A value is kept for ``seconds``. While a lookup runs, every request that asks for the same
key waits for that one run instead of starting its own: with a thousand requests in flight
on one token, an entry that expired otherwise sent all of them to the database at once, and
the thread pool's queue made each request wait for the others' lookups (bench/).

When a lookup fails because the database is unreachable (``db.unreachable``), the last
answer read for that key keeps serving, if it was read at most ``stale_seconds`` ago
(STALE_TOKEN_TTL); a key without one raises ``Unreachable``. For OUTAGE_RETRY_SECONDS after
a failure nobody waits on the database: answers come from what is kept, at once. The outage
is logged once a minute, and its end once.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from typing import Any, Callable, Hashable

from flaskllm import db

log = logging.getLogger("flaskllm.lookups")

OUTAGE_RETRY_SECONDS = 2.0  # after a failed lookup, how long answers come from what is kept
LOG_EVERY = 60.0


class Unreachable(Exception):
    """The database does not answer and nothing recent enough is kept for this key."""


class Lookups:
    def __init__(self, seconds: float, max_entries: int = 10_000, *,
                 stale_seconds: float = 0.0, what: str = "lookups"):
        self.seconds = seconds
        self.max_entries = max_entries
        self.stale_seconds = stale_seconds
        self.what = what
        # key -> (value, fresh until, read at); monotonic times
        self._values: dict[Hashable, tuple[Any, float, float]] = {}
        # Lookups running now, per event loop: a task belongs to the loop that started it,
        # and the test client, a2wsgi and uvicorn each run their own.
        self._running: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                 dict[Hashable, asyncio.Task]] = \
            weakref.WeakKeyDictionary()
        self._generation = 0  # bumped by forget(): a lookup begun before stores nothing
        self._outage_until = 0.0
        self._down = False
        self._logged = float("-inf")

    @property
    def down(self) -> bool:
        """The last lookup found the database unreachable (for /api/v1/health)."""
        return self._down

    async def get(self, key: Hashable, lookup: Callable[..., Any], *args: Any) -> Any:
        kept = self._values.get(key)
        now = time.monotonic()
        if kept is not None and kept[1] > now:
            return kept[0]
        if self._outage_until > now:
            return self._stale(key, kept, now, None)
        loop = asyncio.get_running_loop()
        running = self._running.setdefault(loop, {})
        task = running.get(key)
        if task is None:
            task = running[key] = loop.create_task(self._load(key, lookup, args))
            task.add_done_callback(lambda _: running.pop(key, None))
        # A request that goes away (a client disconnect) must not cancel the others' lookup.
        return await asyncio.shield(task)

    async def _load(self, key: Hashable, lookup: Callable[..., Any], args: tuple) -> Any:
        generation = self._generation
        try:
            value = await asyncio.to_thread(lookup, *args)
        except Exception as exc:
            if not db.unreachable(exc):
                raise
            now = time.monotonic()
            self._outage_until = now + OUTAGE_RETRY_SECONDS
            self._down = True
            return self._stale(key, self._values.get(key), now, exc)
        if self._down:
            self._down = False
            self._logged = float("-inf")
            log.warning("%s: the database answers again", self.what)
        if generation == self._generation:
            if len(self._values) >= self.max_entries:
                self._values.clear()
            now = time.monotonic()
            self._values[key] = (value, now + self.seconds, now)
        return value

    def _stale(self, key: Hashable, kept: tuple | None, now: float,
               exc: BaseException | None) -> Any:
        if now - self._logged >= LOG_EVERY:
            self._logged = now
            reason = f" ({db.reason(exc)})" if exc is not None else ""
            log.warning("%s: the database is unreachable%s; answers read up to %ds ago are "
                        "used meanwhile (STALE_TOKEN_TTL)", self.what, reason,
                        self.stale_seconds)
        if kept is None or now - kept[2] > self.stale_seconds:
            raise Unreachable(f"{self.what}: the database is unreachable") from exc
        return kept[0]

    def forget(self, key: Hashable | None = None) -> None:
        """Drop one key, or every key; lookups already running keep nothing."""
        self._generation += 1
        if key is None:
            self._values.clear()
        else:
            self._values.pop(key, None)
