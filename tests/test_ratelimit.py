"""Rate limits: parsing, per-token limits with their headers, batch cost, failed-auth throttling,
the Redis outage policy, and two real `flaskllm serve` processes sharing one count in Redis."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid

import httpx
import pytest

from flaskllm import context, errors, ratelimit
from flaskllm.app import create_app
from flaskllm.settings import Settings, SettingsError
from servers import clean_env, serve_processes

WEBHOOK = "/api/v1/webhook"
BODY = {"prompt": "The budget review is on Friday.", "type": "keywords"}
HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["code"] == code
    return body


@pytest.fixture
def prefix() -> str:
    return f"flaskllm-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def redis_settings(settings, redis_url, prefix):
    """Settings on the real Redis under this test's own key prefix, deleted afterwards."""
    import redis

    yield settings.replace(redis_url=redis_url, redis_key_prefix=prefix, cache_ttl=0)
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


# Parsing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value, expected", [
    ("60", [(60, 60)]),
    (" 5 ", [(5, 60)]),
    ("100/minute;2000/day", [(100, 60), (2000, 86400)]),
    ("2000/day; 100 per minute", [(100, 60), (2000, 86400)]),
    ("10/second", [(10, 1)]),
])
def test_parse_limits(value, expected):
    items = ratelimit.parse_limits(value, "RATE_LIMIT")
    assert [(item.amount, item.get_expiry()) for item in items] == expected


@pytest.mark.parametrize("name, value", [
    ("RATE_LIMIT", "lots"), ("RATE_LIMIT", "0"), ("RATE_LIMIT", "100/fortnight"),
    ("RATE_LIMIT", ""), ("AUTH_FAIL_LIMIT", "-1/minute"),
])
def test_a_bad_limit_stops_start_up_naming_the_setting(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(environ={name: value}, env_file=None)


def test_redis_url_must_be_a_redis_url():
    with pytest.raises(SettingsError, match="REDIS_URL"):
        Settings.from_env(environ={"REDIS_URL": "localhost:6379"}, env_file=None)


# Per token, in memory -----------------------------------------------------------------------


def test_limit_then_429_with_headers(settings):
    app = create_app(settings.replace(rate_limit="3"))
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    with app.test_client() as client:
        responses = [client.post(WEBHOOK, json=BODY, headers=auth) for _ in range(4)]
    assert [r.status_code for r in responses[:3]] == [200, 200, 200]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert all(r.headers["x-ratelimit-limit"] == "3" for r in responses)
    assert all(0 < int(r.headers["x-ratelimit-reset"]) <= 60 for r in responses)
    body = assert_problem(responses[3], 429, "RATE_LIMITED")
    assert "3 per 1 minute" in body["detail"]
    assert 1 <= int(responses[3].headers["retry-after"]) <= 60


def test_tokens_have_their_own_counts(settings):
    app = create_app(settings.replace(rate_limit="1"))
    alice = {"X-API-Token": app.state.tokens.create("alice")}
    bob = {"X-API-Token": app.state.tokens.create("bob")}
    with app.test_client() as client:
        assert client.post(WEBHOOK, json=BODY, headers=alice).status_code == 200
        assert client.post(WEBHOOK, json=BODY, headers=alice).status_code == 429
        assert client.post(WEBHOOK, json=BODY, headers=bob).status_code == 200


def test_headers_describe_the_limit_closest_to_refusing(settings):
    app = create_app(settings.replace(rate_limit="100/minute;3/day"))
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    with app.test_client() as client:
        responses = [client.post(WEBHOOK, json=BODY, headers=auth) for _ in range(4)]
    first = responses[0].headers
    assert (first["x-ratelimit-limit"], first["x-ratelimit-remaining"]) == ("3", "2")
    assert int(first["x-ratelimit-reset"]) > 3600
    assert_problem(responses[3], 429, "RATE_LIMITED")
    assert "3 per 1 day" in responses[3].json()["detail"]


def test_disabled_means_no_limit_and_no_headers(settings):
    app = create_app(settings.replace(rate_limit="1", rate_limit_enabled=False,
                                      auth_fail_limit="1/minute"))
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    with app.test_client() as client:
        responses = [client.post(WEBHOOK, json=BODY, headers=auth) for _ in range(3)]
        wrong = [client.post(WEBHOOK, json=BODY, headers={"X-API-Token": "nope"})
                 for _ in range(3)]
    assert [r.status_code for r in responses] == [200] * 3
    assert not any(h in responses[0].headers for h in HEADERS)
    assert [r.status_code for r in wrong] == [401] * 3


def test_a_batch_counts_each_item(settings):
    """The batch endpoint calls ``limiter.hit(name, cost=len(items))`` once."""
    limiter = ratelimit.build(settings.replace(rate_limit="5"))

    async def main():
        headers = context.begin("test").response_headers
        await limiter.hit("tester", cost=3)
        assert headers["X-RateLimit-Remaining"] == "2"
        with pytest.raises(errors.RateLimited) as refused:
            await limiter.hit("tester", cost=3)  # refused, and nothing is consumed
        assert int(refused.value.headers["Retry-After"]) >= 1
        await limiter.hit("tester", cost=2)
        assert headers["X-RateLimit-Remaining"] == "0"
        with pytest.raises(errors.RateLimited, match="more than the limit"):
            await limiter.hit("someone-else", cost=6)

    asyncio.run(main())


# Failed authentication ----------------------------------------------------------------------


def test_wrong_tokens_are_throttled_per_address(settings):
    app = create_app(settings.replace(auth_fail_limit="3/minute"))
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    wrong = {"X-API-Token": "fllm_guess"}
    with app.test_client() as client:
        statuses = [client.post(WEBHOOK, json=BODY, headers=wrong).status_code
                    for _ in range(3)]
        refused = client.post(WEBHOOK, json=BODY, headers=wrong)
        # Over the limit, the address waits even with a right token: a guess is not checked.
        right_but_blocked = client.get("/api/v1/examples", headers=auth)
    assert statuses == [401] * 3
    for response in (refused, right_but_blocked):
        assert "AUTH_FAIL_LIMIT" in assert_problem(response, 429, "RATE_LIMITED")["detail"]
        assert 1 <= int(response.headers["retry-after"]) <= 60


def test_right_tokens_do_not_count_as_failures(settings):
    app = create_app(settings.replace(auth_fail_limit="2/minute"))
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    with app.test_client() as client:
        statuses = [client.get("/api/v1/examples", headers=auth).status_code for _ in range(5)]
    assert statuses == [200] * 5


def test_client_address_ignores_x_forwarded_for():
    class Request:
        scope = {"client": ("203.0.113.7", 5555),
                 "headers": [(b"x-forwarded-for", b"198.51.100.1")]}

    assert ratelimit.client_address(Request()) == "203.0.113.7"
    assert ratelimit.client_address(None) == "unknown"


# Redis ------------------------------------------------------------------------------------


def test_limit_on_redis(redis_settings):
    app = create_app(redis_settings.replace(rate_limit="2"))
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    with app.test_client() as client:
        responses = [client.post(WEBHOOK, json=BODY, headers=auth) for _ in range(3)]
    assert app.state.limiter.backend == "redis"
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in responses] == ["1", "0", "0"]
    assert "retry-after" in responses[2].headers


def test_redis_outage_fails_closed_with_503(settings, caplog):
    app = create_app(settings.replace(redis_url=DEAD_REDIS))
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    with app.test_client() as client:
        responses = [client.post(WEBHOOK, json=BODY, headers=auth) for _ in range(3)]
        wrong = client.post(WEBHOOK, json=BODY, headers={"X-API-Token": "nope"})
    for response in responses:
        assert_problem(response, 503, "SERVICE_UNAVAILABLE")
        assert int(response.headers["retry-after"]) >= 1
    assert_problem(wrong, 401, "UNAUTHORIZED")  # refused anyway: the plain 401 stands
    outage_logs = [r for r in caplog.records if "rate limiter" in r.getMessage()]
    assert len(outage_logs) == 1  # once, not once a request


def test_redis_outage_fail_open_lets_requests_through(settings):
    app = create_app(settings.replace(redis_url=DEAD_REDIS, rate_limit_fail_open=True,
                                      rate_limit="1"))
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    with app.test_client() as client:
        started = time.perf_counter()
        responses = [client.post(WEBHOOK, json=BODY, headers=auth) for _ in range(3)]
        elapsed = time.perf_counter() - started
    assert [r.status_code for r in responses] == [200] * 3
    assert [r.headers["x-cache"] for r in responses] == ["MISS"] * 3  # the cache is down too
    assert not any(h in responses[0].headers for h in HEADERS)
    assert elapsed < 3  # the outage is noticed fast and then skipped


# Two worker processes sharing Redis --------------------------------------------------------


@pytest.fixture
def two_servers(redis_settings, tmp_path):
    """Two `flaskllm serve` processes on their own ports, sharing the test's Redis prefix."""
    token = secrets.token_urlsafe(32)
    env = clean_env(ENVIRONMENT="production", API_TOKEN=token, RATE_LIMIT="100",
                    REDIS_URL=redis_settings.redis_url,
                    REDIS_KEY_PREFIX=redis_settings.redis_key_prefix, CACHE_TTL="0",
                    LOG_LEVEL="warning")
    with serve_processes(env, 2, tmp_path, env_of=lambda n: {
            "DATABASE_URL": f"sqlite:///{tmp_path / f'db{n}.sqlite'}"}) as urls:
        yield urls, token


@pytest.mark.services
def test_two_workers_share_one_count_in_redis(two_servers):
    urls, token = two_servers

    async def fire():
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=30) as http:
            return await asyncio.gather(*(
                http.post(urls[i % 2] + WEBHOOK, json=BODY, headers={"X-API-Token": token})
                for i in range(200)))

    responses = asyncio.run(fire())
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 100 and statuses.count(429) == 100, statuses
    for response in responses:
        assert all(h in response.headers for h in HEADERS), response.headers
        assert response.headers["x-ratelimit-limit"] == "100"
        if response.status_code == 429:
            assert response.headers["content-type"] == "application/problem+json"
            assert int(response.headers["retry-after"]) >= 1
    # Each process took 100 requests: with a count per process (memory storage) both would
    # have accepted all of theirs, 200 in all. How the 100 split between them varies.
    per_server = [(statuses[i::2].count(200), statuses[i::2].count(429)) for i in (0, 1)]
    print("accepted, refused per server:", per_server)
