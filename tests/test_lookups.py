"""flaskllm.lookups: one database lookup per key at a time, kept for a few seconds."""

from __future__ import annotations

import asyncio
import threading
import time

from flaskllm.lookups import Lookups


class Database:
    """A slow lookup that counts its calls and how many ran at once."""

    def __init__(self, seconds: float = 0.05):
        self.seconds = seconds
        self.calls = 0
        self.value = "v1"
        self._lock = threading.Lock()

    def read(self, key: str) -> str:
        with self._lock:
            self.calls += 1
            value = self.value  # what the database held when the lookup began
        time.sleep(self.seconds)
        return f"{key}:{value}"


def test_requests_asking_at_once_share_one_lookup():
    db, lookups = Database(), Lookups(seconds=60)

    async def main():
        return await asyncio.gather(*(lookups.get("t", db.read, "t") for _ in range(500)))

    assert asyncio.run(main()) == ["t:v1"] * 500
    assert db.calls == 1
    assert asyncio.run(main()) == ["t:v1"] * 500  # kept: no second lookup
    assert db.calls == 1


def test_values_expire_and_keys_are_separate():
    db, lookups = Database(seconds=0), Lookups(seconds=0.05)

    async def main():
        first = await asyncio.gather(lookups.get("a", db.read, "a"), lookups.get("b", db.read, "b"))
        db.value = "v2"
        await asyncio.sleep(0.1)
        return first, await lookups.get("a", db.read, "a")

    assert asyncio.run(main()) == (["a:v1", "b:v1"], "a:v2")
    assert db.calls == 3


def test_forget_during_a_lookup_keeps_nothing_stale():
    db, lookups = Database(seconds=0.1), Lookups(seconds=60)

    async def main():
        running = asyncio.create_task(lookups.get("t", db.read, "t"))
        await asyncio.sleep(0.02)
        lookups.forget()  # a revocation while the old answer is on its way
        db.value = "revoked"
        stale = await running
        return stale, await lookups.get("t", db.read, "t")

    assert asyncio.run(main()) == ("t:v1", "t:revoked")
    assert db.calls == 2


def test_a_cancelled_request_does_not_cancel_the_others_lookup():
    db, lookups = Database(seconds=0.1), Lookups(seconds=60)

    async def main():
        first = asyncio.create_task(lookups.get("t", db.read, "t"))
        second = asyncio.create_task(lookups.get("t", db.read, "t"))
        await asyncio.sleep(0.02)
        first.cancel()  # its client went away
        return await second

    assert asyncio.run(main()) == "t:v1"
    assert db.calls == 1
