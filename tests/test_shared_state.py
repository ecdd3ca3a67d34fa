"""Two `flaskllm serve` processes on the real Redis and PostgreSQL share their state: tokens
(PostgreSQL), rate limits, the cache and single-flight (Redis), budgets and usage. What one
worker counts or stores, the other sees — the set-up docs/scaling.md describes."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import secrets
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa

from fakes import OPENAI_KEY, Step, openai_fake  # noqa: F401 (openai_fake: fixture)
from flaskllm import db
from flaskllm.tokens import TOKEN_PREFIX
from servers import clean_env, cli, serve_processes
from test_ratelimit import HEADERS, assert_problem, prefix, redis_settings  # noqa: F401

WEBHOOK = "/api/v1/webhook"
pytestmark = pytest.mark.services


@pytest.fixture
def shared_db(postgres_url):
    """A new PostgreSQL database for this test (tokens, budgets and usage of its own)."""
    name = f"flaskllm_shared_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(db.normalize_url(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield postgres_url.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def shared_env(redis_settings, shared_db, openai_fake, tmp_path):
    return clean_env(
        ENVIRONMENT="production", API_TOKEN=secrets.token_urlsafe(32), LOG_LEVEL="warning",
        DATABASE_URL=shared_db, REDIS_URL=redis_settings.redis_url,
        REDIS_KEY_PREFIX=redis_settings.redis_key_prefix, RATE_LIMIT="20",
        LLM_PROVIDER="openai", OPENAI_API_KEY=OPENAI_KEY,
        OPENAI_BASE_URL=openai_fake.url + "/v1", OPENAI_MODEL="gpt-test",
        USAGE_SPOOL_FILE=str(tmp_path / "spool.jsonl"))


@pytest.fixture
def two_workers(shared_env, tmp_path):
    with serve_processes(shared_env, 2, tmp_path) as urls:
        yield urls


def _token(env, name: str, *flags: str) -> str:
    """A new token from the CLI (its output also has a line for the limits)."""
    printed = cli(env, "tokens", "create", name, *flags)
    return next(line for line in printed.splitlines() if line.startswith(TOKEN_PREFIX))


def _post_all(requests: list[tuple[str, str, dict]]) -> list[httpx.Response]:
    """(url, token, body) requests, all at once."""
    async def fire():
        async with httpx.AsyncClient(timeout=30) as http:
            return await asyncio.gather(*(
                http.post(url + WEBHOOK, json=body, headers={"X-API-Token": token})
                for url, token, body in requests))

    return asyncio.run(fire())


def test_two_workers_share_tokens_limits_and_cache(two_workers, shared_env, openai_fake):
    urls = two_workers

    # Tokens live in PostgreSQL: one created by the CLI works on both workers.
    limited = _token(shared_env, "limited")
    # Rate limits in Redis: 40 requests over both workers, RATE_LIMIT=20, one count.
    body = {"prompt": "One count for both workers.", "type": "summary"}
    responses = _post_all([(urls[i % 2], limited, body) for i in range(40)])
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 20 and statuses.count(429) == 20, statuses
    for response in responses:
        assert all(h in response.headers for h in HEADERS)
        if response.status_code == 429:
            assert_problem(response, 429, "RATE_LIMITED")
    # ...and the 20 identical accepted requests cost one upstream call (cache, single-flight).
    assert openai_fake.calls == 1

    # The cache in Redis: what worker 0 computed, worker 1 answers from the cache.
    cached = _token(shared_env, "cached")
    prompt = {"prompt": "Computed once, answered twice.", "type": "summary"}
    first, second = (_post_all([(url, cached, prompt)])[0] for url in urls)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.headers["x-cache"], second.headers["x-cache"]) == ("MISS", "HIT")
    assert second.json()["cached"] is True
    assert second.json()["summary"] == first.json()["summary"]
    assert openai_fake.calls == 2

    # Single-flight across processes: ten identical requests in flight on both workers at
    # once, while the upstream takes half a second, make one upstream call.
    openai_fake.push(Step(delay=0.5))
    prompt = {"prompt": "Asked ten times at once.", "type": "summary"}
    together = _post_all([(urls[i % 2], cached, prompt) for i in range(10)])
    assert [r.status_code for r in together] == [200] * 10
    assert len({r.json()["summary"] for r in together}) == 1
    assert openai_fake.calls == 3

    # Revoking (in PostgreSQL) reaches both workers within the token cache's 5 seconds.
    cli(shared_env, "tokens", "revoke", "cached")
    deadline = time.monotonic() + 10
    while True:
        statuses = [r.status_code for r in _post_all([(url, cached, prompt) for url in urls])]
        if statuses == [401, 401]:
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.5)


def test_two_workers_share_budgets_and_usage(two_workers, shared_env):
    urls = two_workers
    name = "quota"
    token = _token(shared_env, name, "--quota-daily", "5")
    body = {"prompt": "Counted against one quota.", "type": "summary"}
    responses = _post_all([(urls[i % 2], token, dict(body, prompt=f"{body['prompt']} {i}"))
                           for i in range(12)])
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 5 and statuses.count(429) == 7, statuses
    for response in responses:
        if response.status_code == 429:
            assert_problem(response, 429, "BUDGET_EXCEEDED")
    # Usage is written off the request path: wait until both workers' records are in.
    deadline = time.monotonic() + 15
    while True:
        report = json.loads(cli(shared_env, "usage", "--token", name, "--format", "json"))
        if report["totals"]["requests"] >= 5 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert report["totals"]["requests"] == 5  # refusals are not usage
    for url in urls:  # each worker reports what both recorded
        seen = httpx.get(url + "/api/v1/usage", headers={"X-API-Token": token}, timeout=30)
        assert seen.status_code == 200, seen.text
        assert seen.json()["totals"]["requests"] == 5


def _create_tables(url: str, barrier) -> None:
    barrier.wait()
    db.create_engine(url).dispose()


def test_workers_starting_together_create_the_tables_once(shared_db):
    """Forked workers make their engines at the same moment on a new database: the race to
    create the tables must not fail any of them (it did, with "already exists")."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    procs = [context.Process(target=_create_tables, args=(shared_db, barrier))
             for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0] * 4
