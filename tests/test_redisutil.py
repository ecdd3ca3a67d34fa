"""flaskllm.redisutil's circuit breaker: one per Redis URL, shared by every component; after
a failure everyone skips for OPEN_SECONDS, then exactly one caller probes."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from flaskllm import redisutil
from stores import own_redis


def test_a_failure_in_one_component_opens_the_circuit_for_all(monkeypatch):
    url = f"redis://127.0.0.1:1/{uuid.uuid4().hex}"  # a URL of this test's own
    cache = redisutil.Outage("cache", url, "caching is off")
    limiter = redisutil.Outage("rate limiter", url, "requests are refused")
    assert not cache.down() and not limiter.down()
    cache.failed(ConnectionError("refused"))
    assert cache.down() and limiter.down()  # the limiter skips too, without trying
    assert 1 <= limiter.retry_after() <= redisutil.OPEN_SECONDS + 1
    # Once OPEN_SECONDS have passed, one caller probes; the others keep skipping.
    circuit = redisutil.circuit(url)
    circuit.open_until -= redisutil.OPEN_SECONDS + 0.1
    assert not limiter.down()  # the probe
    assert circuit.probing and cache.down() and limiter.down()
    limiter.recovered()
    assert not circuit.is_open and not cache.down() and not limiter.down()


@pytest.mark.services
def test_a_probe_of_a_hung_redis_waits_one_read_timeout():
    with own_redis() as redis:
        outage = redisutil.Outage("test", redis.url, "nothing")

        async def main():
            client = redisutil.connect(redis.url)
            await client.ping()
            redis.pause()
            loop = asyncio.get_running_loop()
            timings = []
            for _ in range(2):
                started = loop.time()
                if not outage.down():
                    try:
                        async with outage.guard():
                            await client.ping()
                    except Exception as exc:  # the outage this test makes
                        outage.failed(exc)
                timings.append(loop.time() - started)
                redisutil.circuit(redis.url).open_until -= redisutil.OPEN_SECONDS + 0.1
            redis.resume()
            await client.aclose()
            return timings

        timings = asyncio.run(main())
    # The first read times out; the probe (a fresh connection, which redis-py may try twice)
    # is bounded as a whole.
    assert all(t < redisutil.SOCKET_TIMEOUT + 0.2 for t in timings), timings
