"""Short-lived caching of database lookups, shared by the requests that ask at once.

    tokens = Lookups(seconds=5.0)
    info = await tokens.get(digest, store.lookup, token)   # store.lookup runs in a thread

A value is kept for ``seconds``. While a lookup runs, every request that asks for the same
key waits for that one run instead of starting its own: with a thousand requests in flight
on one token, an entry that expired otherwise sent all of them to the database at once, and
the thread pool's queue made each request wait for the others' lookups (bench/).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from typing import Any, Callable, Hashable


class Lookups:
    def __init__(self, seconds: float, max_entries: int = 10_000):
        self.seconds = seconds
        self.max_entries = max_entries
        self._values: dict[Hashable, tuple[Any, float]] = {}
        # Lookups running now, per event loop: a task belongs to the loop that started it,
        # and the test client, a2wsgi and uvicorn each run their own.
        self._running: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                 dict[Hashable, asyncio.Task]] = \
            weakref.WeakKeyDictionary()
        self._generation = 0  # bumped by forget(): a lookup begun before stores nothing

    async def get(self, key: Hashable, lookup: Callable[..., Any], *args: Any) -> Any:
        kept = self._values.get(key)
        if kept is not None and kept[1] > time.monotonic():
            return kept[0]
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
        value = await asyncio.to_thread(lookup, *args)
        if generation == self._generation:
            if len(self._values) >= self.max_entries:
                self._values.clear()
            self._values[key] = (value, time.monotonic() + self.seconds)
        return value

    def forget(self, key: Hashable | None = None) -> None:
        """Drop one key, or every key; lookups already running keep nothing."""
        self._generation += 1
        if key is None:
            self._values.clear()
        else:
            self._values.pop(key, None)
