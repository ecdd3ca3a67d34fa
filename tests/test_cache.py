"""The result cache: hit, miss, no-cache, TTL, single-flight, scope, key, outage; each HTTP test
runs on the in-memory store and on the real Redis (under a random key prefix of its own).

The upstream is ``CountingProvider``: a provider registered for the test (through the
registry's PROVIDERS table) that counts its calls (on the class: the app's instance goes away
when its client closes) and takes ``delay`` seconds to answer."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid

import httpx
import pytest

from flaskllm import cache as cache_module
from flaskllm import llm
from flaskllm.app import create_app
from flaskllm.llm.base import Result, Task
from flaskllm.llm.offline import OfflineProvider

PROMPT = "The quarterly budget review is on Friday. Finance wants every team to cut spending."
WEBHOOK = "/api/v1/webhook"


class CountingProvider(OfflineProvider):
    """The offline provider's answers (valid typed data), numbered: ``answer #n``."""

    name = "counting"
    delay = 0.0
    calls = 0

    async def stream(self, task: Task):
        type(self).calls += 1
        number = self.calls
        await asyncio.sleep(self.delay)
        *_deltas, result = [piece async for piece in super().stream(task)]
        yield f"answer #{number}"
        yield dataclasses.replace(result, text=f"answer #{number}", model="counting-1")


@pytest.fixture(autouse=True)
def _counting_provider(monkeypatch):
    monkeypatch.setitem(llm.PROVIDERS, CountingProvider.name, CountingProvider)
    monkeypatch.setattr(CountingProvider, "calls", 0)


@pytest.fixture
def prefix() -> str:
    return f"flaskllm-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def flush_prefix(prefix):
    """Deletes this test's keys (and only those) from the real Redis afterwards."""
    urls = []
    yield urls.append
    import redis

    for url in urls:
        client = redis.Redis.from_url(url)
        keys = list(client.scan_iter(match=prefix + "*"))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture(params=["memory", "redis"])
def backend(request, settings, prefix, flush_prefix):
    """Settings for the counting provider, with no rate limit, on each cache store."""
    base = settings.replace(llm_provider="counting", rate_limit_enabled=False,
                            redis_key_prefix=prefix)
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        flush_prefix(url)
        return base.replace(redis_url=url)
    return base


def upstream(app) -> type[CountingProvider]:
    return CountingProvider


def post(client, auth, prompt=PROMPT, headers=None, **body):
    return client.post(WEBHOOK, json={"prompt": prompt, **body},
                       headers={**auth, **(headers or {})})


def test_miss_then_hit(backend):
    app = create_app(backend)
    token = app.state.tokens.create("tester")
    with app.test_client() as client:
        first = post(client, {"X-API-Token": token})
        second = post(client, {"X-API-Token": token})
    assert app.state.cache.store.name == ("redis" if backend.redis_url else "memory")
    assert first.status_code == second.status_code == 200, second.text
    assert first.headers["x-cache"] == "MISS" and first.json()["cached"] is False
    assert second.headers["x-cache"] == "HIT" and second.json()["cached"] is True
    one, two = first.json(), second.json()
    assert two["summary"] == one["summary"] == "answer #1"
    assert two["usage"] == one["usage"]  # the tokens of the original call
    assert two["request_id"] != one["request_id"]
    assert two["request_id"] == second.headers["x-request-id"]
    assert upstream(app).calls == 1


def test_answer_changing_fields_miss(backend):
    app = create_app(backend)
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    with app.test_client() as client:
        for body in ({}, {"type": "keywords"}, {"language": "fr"}, {"source": "email"},
                     {"type": "keywords"}):
            post(client, auth, **body)
    assert upstream(app).calls == 4  # the repeated keywords request was a hit


def test_prompt_is_normalized_except_for_offsets(backend):
    app = create_app(backend)
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    spaced = "  The quarterly budget review   is on Friday.\nFinance wants every team " \
             "to cut spending.  "
    with app.test_client() as client:
        assert post(client, auth).headers["x-cache"] == "MISS"
        assert post(client, auth, prompt=spaced).headers["x-cache"] == "HIT"
        # entities point into the text by offset: only the exact text is a hit
        assert post(client, auth, type="entities").headers["x-cache"] == "MISS"
        assert post(client, auth, prompt=spaced, type="entities").headers["x-cache"] == "MISS"
        assert post(client, auth, prompt=spaced, type="entities").headers["x-cache"] == "HIT"


def test_no_cache_skips_the_lookup_and_stores_the_fresh_answer(backend):
    app = create_app(backend)
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    with app.test_client() as client:
        post(client, auth)
        fresh = post(client, auth, headers={"Cache-Control": "max-age=0, no-cache"})
        after = post(client, auth)
    assert fresh.headers["x-cache"] == "MISS" and fresh.json()["cached"] is False
    assert fresh.json()["summary"] == "answer #2"
    assert after.headers["x-cache"] == "HIT" and after.json()["summary"] == "answer #2"
    assert upstream(app).calls == 2


def test_ttl_expiry(backend):
    app = create_app(backend.replace(cache_ttl=1))
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    with app.test_client() as client:
        assert post(client, auth).headers["x-cache"] == "MISS"
        assert post(client, auth).headers["x-cache"] == "HIT"
        time.sleep(1.2)
        expired = post(client, auth)
    assert expired.headers["x-cache"] == "MISS" and expired.json()["summary"] == "answer #2"


def test_ttl_zero_turns_the_cache_off(settings):
    app = create_app(settings.replace(llm_provider="counting", cache_ttl=0))
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    with app.test_client() as client:
        assert [post(client, auth).headers["x-cache"] for _ in range(2)] == ["MISS", "MISS"]
    assert upstream(app).calls == 2


def test_scope_is_per_token_by_default(backend):
    app = create_app(backend)
    alice = {"X-API-Token": app.state.tokens.create("alice")}
    bob = {"X-API-Token": app.state.tokens.create("bob")}
    with app.test_client() as client:
        assert post(client, alice).headers["x-cache"] == "MISS"
        assert post(client, bob).headers["x-cache"] == "MISS"
        assert post(client, bob).headers["x-cache"] == "HIT"
    assert upstream(app).calls == 2


def test_global_scope_shares_across_tokens(backend):
    app = create_app(backend.replace(cache_scope="global"))
    alice = {"X-API-Token": app.state.tokens.create("alice")}
    bob = {"X-API-Token": app.state.tokens.create("bob")}
    with app.test_client() as client:
        assert post(client, alice).headers["x-cache"] == "MISS"
        assert post(client, bob).headers["x-cache"] == "HIT"
    assert upstream(app).calls == 1


def test_single_flight_50_identical_concurrent_requests_make_one_call(backend, monkeypatch):
    monkeypatch.setattr(CountingProvider, "delay", 0.3)
    app = create_app(backend)
    auth = {"X-API-Token": app.state.tokens.create("tester")}

    async def fire():
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                return await asyncio.gather(*(http.post(WEBHOOK, json={"prompt": PROMPT},
                                                        headers=auth) for _ in range(50)))
        finally:
            await app.state.aclose()  # no lifespan here: close the Redis client in its loop

    responses = asyncio.run(fire())
    assert [r.status_code for r in responses] == [200] * 50
    assert upstream(app).calls == 1
    assert {r.json()["summary"] for r in responses} == {"answer #1"}
    assert sorted(r.headers["x-cache"] for r in responses) == ["HIT"] * 49 + ["MISS"]
    assert len({r.json()["request_id"] for r in responses}) == 50


async def through(cache, key, compute, **claim):
    """What the pipeline does around a computation (flaskllm/pipeline.py): claim the key's
    slot; a hit is the answer, else compute and fill the slot (or abandon it)."""
    slot = await cache.claim(key, **claim)
    if slot.result is not None:
        return slot.result, True
    try:
        result = await compute()
    except BaseException as exc:
        await slot.abandon(exc)
        raise
    await slot.fill(result)
    return result, False


def test_a_failed_call_is_shared_and_not_stored(settings):
    cache = cache_module.build(settings)
    calls = []

    async def failing():
        calls.append(1)
        await asyncio.sleep(0.05)
        raise RuntimeError("upstream broke")

    async def main():
        outcomes = await asyncio.gather(*(through(cache, "k", failing) for _ in range(5)),
                                        return_exceptions=True)
        assert all(isinstance(o, RuntimeError) for o in outcomes)
        assert await cache.store.get("k") is None
        assert not cache._flights

    asyncio.run(main())
    assert len(calls) == 1


def test_single_flight_across_processes_on_redis(settings, redis_url, prefix, flush_prefix):
    """Two Cache objects stand for two worker processes: the Redis lock makes one compute."""
    flush_prefix(redis_url)
    shared = settings.replace(redis_url=redis_url, redis_key_prefix=prefix)
    workers = [cache_module.build(shared), cache_module.build(shared)]
    calls = []

    async def compute():
        calls.append(1)
        await asyncio.sleep(0.3)
        return Result(text="shared", data=None, model="m", input_tokens=1, output_tokens=1)

    async def main():
        try:
            return await asyncio.gather(*(through(w, "same-key", compute)
                                          for w in workers))
        finally:
            for worker in workers:
                await worker.aclose()

    outcomes = asyncio.run(main())
    assert len(calls) == 1
    assert sorted(cached for _, cached in outcomes) == [False, True]
    assert {result.text for result, _ in outcomes} == {"shared"}


def test_redis_keys_are_hashes_under_the_prefix(settings, redis_url, prefix, flush_prefix):
    import redis

    flush_prefix(redis_url)
    app = create_app(settings.replace(llm_provider="counting", redis_url=redis_url,
                                      redis_key_prefix=prefix, rate_limit_enabled=False))
    token = app.state.tokens.create("tester")
    with app.test_client() as client:
        post(client, {"X-API-Token": token})
    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in client.scan_iter(match=prefix + "*")]
    client.close()
    assert len(keys) == 1
    assert keys[0].startswith(prefix + ":cache:v1:") and len(keys[0].rsplit(":", 1)[1]) == 64
    assert token not in keys[0] and "tester" not in keys[0]


def test_redis_outage_degrades_to_no_cache(settings, caplog):
    dead = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    app = create_app(settings.replace(llm_provider="counting", cache_url=dead))
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    with caplog.at_level(logging.WARNING, logger="flaskllm.redis"):
        with app.test_client() as client:
            responses = [post(client, auth) for _ in range(3)]
    assert [r.status_code for r in responses] == [200] * 3
    assert [r.headers["x-cache"] for r in responses] == ["MISS"] * 3
    assert upstream(app).calls == 3
    outage_logs = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(outage_logs) == 1 and "caching is off" in outage_logs[0].getMessage()


def test_a_filled_slot_is_the_next_hit(backend):
    cache = cache_module.build(backend)
    result = Result(text="streamed", data={"text": "streamed"}, model="m", input_tokens=1,
                    output_tokens=2, provider="counting")

    async def main():
        slot = await cache.claim("k")
        assert slot.result is None
        await slot.fill(result)
        hit, cached = await through(cache, "k", None)  # never called: a hit
        assert (hit, cached) == (result, True)
        assert (await cache.claim("k", refresh=True)).result is None  # no-cache: no lookup
        await cache.aclose()

    asyncio.run(main())


def test_a_first_request_that_goes_away_hands_the_key_on(settings):
    """The first of two identical requests is cancelled (its client left) mid-call: the one
    waiting is not failed, it computes the answer itself."""
    cache = cache_module.build(settings)
    calls = []

    async def compute():
        calls.append(1)
        await asyncio.sleep(0.2)
        return Result(text=f"answer #{len(calls)}", data=None, model="m")

    async def main():
        first = asyncio.ensure_future(through(cache, "k", compute))
        await asyncio.sleep(0.05)
        second = asyncio.ensure_future(through(cache, "k", compute))
        await asyncio.sleep(0.05)
        first.cancel()
        result, cached = await second
        assert first.cancelled() and not cached and result.text == "answer #2"
        assert not cache._flights

    asyncio.run(main())
    assert len(calls) == 2


def test_key_covers_what_changes_the_answer_and_nothing_else(settings):
    from flaskllm.pipeline import Job

    per_token = cache_module.build(settings)
    shared = cache_module.build(settings.replace(cache_scope="global"))
    provider = OfflineProvider(settings)
    job = Job(type="summary", text="Some text.", request_id="a", token="alice")
    key = per_token.key(job, provider, template_version="1")
    same = [dataclasses.replace(job, request_id="b"), dataclasses.replace(job, no_cache=True),
            dataclasses.replace(job, text="  Some \n text. "),
            dataclasses.replace(job, model=provider.default_model)]
    assert all(per_token.key(j, provider, template_version="1") == key for j in same)
    other = [dataclasses.replace(job, type="keywords"), dataclasses.replace(job, language="fr"),
             dataclasses.replace(job, source="email"), dataclasses.replace(job, model="m2"),
             dataclasses.replace(job, options={"temperature": 0}),
             dataclasses.replace(job, token="bob")]
    keys = {per_token.key(j, provider, template_version="1") for j in other}
    keys.add(per_token.key(job, provider, template_version="2"))
    assert len(keys) == len(other) + 1 and key not in keys
    bob = dataclasses.replace(job, token="bob")
    assert shared.key(job, provider) == shared.key(bob, provider)


def test_memory_store_is_a_bounded_lru():
    now = [0.0]
    store = cache_module.MemoryStore(max_entries=2, clock=lambda: now[0])

    async def main():
        await store.set("a", b"1", ttl=10)
        await store.set("b", b"2", ttl=10)
        assert await store.get("a") == b"1"  # a is now the most recently used
        await store.set("c", b"3", ttl=10)
        assert await store.get("b") is None
        assert await store.get("a") == b"1" and await store.get("c") == b"3"
        now[0] = 10.0
        assert await store.get("a") is None

    asyncio.run(main())


@pytest.mark.parametrize("header, expected", [
    (None, False), ("", False), ("no-cache", True), ("No-Cache", True),
    ("max-age=0, no-cache", True), ("no-store", False), ("no-cache-please", False),
])
def test_no_cache_header(header, expected):
    assert cache_module.no_cache_requested(header) is expected
