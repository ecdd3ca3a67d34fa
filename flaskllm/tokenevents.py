"""Token changes heard by every process that shares a Redis: a revoked token stops working in
each worker within a second instead of when its cached verification expires.

    events = TokenEvents(settings, on_change=store.forget)
    events.listen()                  in a serving event loop (TokenStore.verify calls it)
    await events.announce("alice")   after revoking, purging or changing a token

Every process subscribes to one channel (``REDIS_KEY_PREFIX:token-changes``) and drops its
cached token verifications on each message. Without REDIS_URL nothing is sent: the other
processes forget within ``security.CACHE_SECONDS``. A process that loses its subscription
(Redis down) also falls back to that, and forgets everything when it subscribes again, since
it may have missed a message meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Callable

from flaskllm import redisutil
from flaskllm.settings import Settings

log = logging.getLogger("flaskllm.tokens")

POLL_SECONDS = 1.0  # how long one wait for a message lasts (a wait never blocks the loop)
RECONNECT_SECONDS = 1.0  # after a lost subscription, before the next attempt


class TokenEvents:
    def __init__(self, settings: Settings, on_change: Callable[[], None]):
        self.url = settings.redis_url
        self.channel = f"{settings.redis_key_prefix}:token-changes"
        self.on_change = on_change
        self.outage = redisutil.Outage(
            "token changes", self.url, "other processes apply revocations within the token "
            "cache's 5 seconds until it answers")
        # One listener per event loop (a task belongs to the loop that started it).
        self._listeners: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task] = \
            weakref.WeakKeyDictionary()

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def listen(self) -> None:
        """Start this event loop's listener unless it runs (cheap: the hot path calls it)."""
        if not self.url:
            return
        loop = asyncio.get_running_loop()
        task = self._listeners.get(loop)
        if task is None or task.done():
            self._listeners[loop] = loop.create_task(self._listen(), name="token-changes")

    async def announce(self, name: str) -> bool:
        """Tell the other processes that ``name`` changed; False if Redis could not be told
        (the change stands; they apply it when their cache expires)."""
        if not self.url:
            return False
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(self.url, **redisutil.client_options())
        try:
            await client.publish(self.channel, name)
            return True
        except Exception as exc:  # the change is stored; only the fast path is lost
            log.warning("token %r changed, but Redis at %s was not told (%s); other processes "
                        "apply it within 5 seconds", name, self.outage.url, type(exc).__name__)
            return False
        finally:
            await client.aclose()

    async def _listen(self) -> None:
        import redis.asyncio

        while True:
            # No socket timeout here: a subscription waits for messages as long as it lives
            # (each wait is bounded by POLL_SECONDS instead).
            client = redis.asyncio.Redis.from_url(
                self.url, socket_connect_timeout=redisutil.SOCKET_TIMEOUT,
                health_check_interval=30)
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.outage.recovered()
                self.on_change()  # anything announced before this subscription began
                while True:
                    message = await pubsub.get_message(timeout=POLL_SECONDS)
                    if message is not None:
                        self.on_change()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # logged once a minute; retried below
                self.outage.failed(exc)
            finally:
                await pubsub.aclose()
                await client.aclose()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def aclose(self) -> None:
        current = asyncio.get_running_loop()
        for loop, task in list(self._listeners.items()):
            if loop is current:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
            elif not loop.is_closed():
                loop.call_soon_threadsafe(task.cancel)
        self._listeners.clear()
