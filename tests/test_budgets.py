"""Budgets and quotas: reserve before, settle after, atomically — 50 concurrent requests
against a budget that allows 10 admit exactly 10, on SQLite, PostgreSQL and Redis; resets,
the documented in-flight margin, stale holds, alerts at 80% and 100%, the CLI."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from fakes.alerts import FakeAlerts
from flaskllm import cli, db, errors
from flaskllm.prices import Prices
from flaskllm.tokens import TokenStore
from flaskllm.settings import Settings
from flaskllm.usage import Recorder, UsageRecord, budgets
from flaskllm.usage.budget_sql import LimitsTable, SqlStore

D = Decimal


class Clock:
    def __init__(self, when: datetime):
        self.now = when

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def no_logged_errors(caplog):
    """A settle that fails is only logged (the answer is already out): make it fail a test."""
    yield
    errors_logged = [r.getMessage() for r in caplog.get_records("call")
                     if r.name == "flaskllm.budgets" and r.levelname == "ERROR"]
    assert errors_logged == []


SERVER_URL_FIXTURES = {"postgresql": "postgres_url", "mysql": "mysql_url"}


@pytest.fixture(params=["sqlite", "postgresql", "mysql", "redis"])
def world(request, tmp_path):
    """(engine, settings) for each place the counts can live; limits are always in the db."""
    url = (request.getfixturevalue(SERVER_URL_FIXTURES[request.param])
           if request.param in SERVER_URL_FIXTURES else f"sqlite:///{tmp_path / 'budgets.db'}")
    overrides = {"database_url": url}
    if request.param == "redis":
        overrides.update(redis_url=request.getfixturevalue("redis_url"),
                         redis_key_prefix=f"test-{uuid.uuid4().hex[:8]}")
    settings = Settings.from_env(environ={}, env_file=None, **overrides)
    engine = db.create_engine(url)
    yield engine, settings
    if request.param == "redis":
        import redis

        client = redis.Redis.from_url(settings.redis_url)
        keys = list(client.scan_iter(settings.redis_key_prefix + ":*"))
        if keys:
            client.delete(*keys)
        client.close()
    engine.dispose()


def make(world, alerts=None, clock=None) -> budgets.Budgets:
    engine, settings = world
    built = budgets.build(settings, engine, Prices.load(settings), alerts)
    if clock is not None:
        built.clock = clock
    return built


def new_token(world, **limits) -> str:
    name = f"budget-{uuid.uuid4().hex[:8]}"
    TokenStore(world[0]).create(name)
    if limits:
        async def go():
            b = make(world)
            await b.set_limits(name, **limits)
            await b.aclose()
        asyncio.run(go())
    return name


async def admitted(b: budgets.Budgets, token: str, estimate: D, n: int) -> tuple[list, list]:
    async def one():
        try:
            return await b.reserve(token, estimate)
        except errors.BudgetExceeded as exc:
            return exc

    results = await asyncio.gather(*(one() for _ in range(n)))
    ok = [r for r in results if isinstance(r, budgets.Reservation)]
    return ok, [r for r in results if isinstance(r, errors.BudgetExceeded)]


def test_budget_race_admits_exactly_what_the_budget_allows(world):
    token = new_token(world, daily_usd=D("1.00"))

    async def go():
        b = make(world)
        ok, refused = await admitted(b, token, D("0.10"), 50)
        use = (await b.status(token))["day"]
        await b.aclose()
        return ok, refused, use

    ok, refused, use = asyncio.run(go())
    assert len(ok) == 10 and len(refused) == 40  # margin 0: no call has settled yet
    assert use["reserved_usd"] == 1.0 and use["requests"] == 10
    assert refused[0].status == 429 and refused[0].ext["code"] == "BUDGET_EXCEEDED"


def test_two_workers_share_one_budget(world):
    """Two Budgets with their own engines and clients, as two worker processes have."""
    engine, settings = world
    token = new_token(world, monthly_usd=D("2.00"))
    other = (db.create_engine(settings.database_url), settings)

    async def go():
        first, second = make(world), make(other)
        results = await asyncio.gather(admitted(first, token, D("0.10"), 25),
                                       admitted(second, token, D("0.10"), 25))
        await first.aclose()
        await second.aclose()
        return sum(len(ok) for ok, _ in results)

    assert asyncio.run(go()) == 20
    other[0].dispose()


def test_quota_race_admits_exactly_the_quota(world):
    token = new_token(world, daily_requests=10)

    async def go():
        b = make(world)
        ok, refused = await admitted(b, token, None, 50)  # unpriced: the quota still counts
        await b.aclose()
        return ok, refused

    ok, refused = asyncio.run(go())
    assert len(ok) == 10
    assert refused[0].ext["limit"] == "daily_requests"


def test_settling_frees_what_the_estimate_held_and_spends_never_pass_the_limit(world):
    token = new_token(world, daily_usd=D("1.00"))

    async def worker(b):
        done = 0
        for _ in range(10):
            try:
                res = await b.reserve(token, D("0.10"))
            except errors.BudgetExceeded:
                return done
            await asyncio.sleep(0.001)
            await b.settle(res, D("0.05"))  # the call cost half its estimate
            done += 1
        return done

    async def go():
        b = make(world)
        done = await asyncio.gather(*(worker(b) for _ in range(10)))
        status = await b.status(token)
        await b.aclose()
        return sum(done), status["day"]

    done, day = asyncio.run(go())
    assert 10 < done <= 19  # settled calls give back half their hold: more than 10 fit
    assert day["spent_usd"] == pytest.approx(done * 0.05) and day["spent_usd"] <= 1.0
    assert day["reserved_usd"] == 0


def test_the_in_flight_margin_is_what_calls_cost_beyond_their_estimate(world):
    """Documented margin: spending passes the limit only by Σ(actual − estimate) of the
    calls that were in flight together; then the budget refuses."""
    token = new_token(world, daily_usd=D("1.00"))

    async def go():
        b = make(world)
        ok, _ = await admitted(b, token, D("0.10"), 12)
        for res in ok:
            await b.settle(res, D("0.12"))  # each cost 0.02 more than estimated
        with pytest.raises(errors.BudgetExceeded):
            await b.reserve(token, D("0.01"))
        day = (await b.status(token))["day"]
        await b.aclose()
        return len(ok), day

    count, day = asyncio.run(go())
    assert count == 10 and day["spent_usd"] == pytest.approx(1.00 + 10 * 0.02)


def test_refusal_says_when_the_budget_resets_and_it_does(world):
    token = new_token(world, daily_usd=D("0.50"), monthly_usd=D("0.80"))
    clock = Clock(datetime(2025, 1, 31, 23, 59, 50, tzinfo=timezone.utc))

    async def go():
        b = make(world, clock=clock)
        res = await b.reserve(token, D("0.40"))
        await b.settle(res, D("0.40"))
        with pytest.raises(errors.BudgetExceeded) as day_refusal:
            await b.reserve(token, D("0.20"))
        clock.now = datetime(2025, 2, 1, 0, 0, 1, tzinfo=timezone.utc)  # a new day, month
        res = await b.reserve(token, D("0.40"))
        await b.settle(res, D("0.40"))
        clock.now = datetime(2025, 2, 2, 8, tzinfo=timezone.utc)  # a new day, same month
        with pytest.raises(errors.BudgetExceeded) as month_refusal:
            await b.reserve(token, D("0.45"))
        await b.aclose()
        return day_refusal.value, month_refusal.value

    day, month = asyncio.run(go())
    assert day.headers["Retry-After"] == "10"
    assert day.ext["resets_at"] == "2025-02-01T00:00:00Z" and day.ext["limit"] == "daily_usd"
    assert "daily budget of $0.500000" in day.detail
    assert month.ext["resets_at"] == "2025-03-01T00:00:00Z"
    assert month.ext["limit"] == "monthly_usd"
    assert month.headers["Retry-After"] == str(int((datetime(2025, 3, 1, tzinfo=timezone.utc)
                                                    - clock.now).total_seconds()))


def test_release_gives_back_the_hold_and_the_request(world):
    token = new_token(world, daily_usd=D("1"), daily_requests=1)

    async def go():
        b = make(world)
        res = await b.reserve(token, D("0.90"))
        await b.release(res)
        await b.release(res)  # twice is once
        res = await b.reserve(token, D("0.90"))
        await b.settle(res, D("0.30"))
        await b.settle(res, D("0.30"))  # twice is once
        status = await b.status(token)
        await b.aclose()
        return status["day"]

    assert asyncio.run(go()) | {"period": "-", "resets_at": "-"} == {
        "period": "-", "spent_usd": 0.3, "reserved_usd": 0.0, "requests": 1, "resets_at": "-"}


def test_stale_holds_of_a_dead_worker_are_released(world, monkeypatch):
    token = new_token(world, daily_usd=D("1"))

    async def go():
        b = make(world)
        res = await b.reserve(token, D("0.60"))  # ...and the worker dies
        await b.store.sweep(3600)  # not stale yet (the shared database may hold others)
        assert (await b.status(token))["day"]["reserved_usd"] == 0.6
        with pytest.raises(errors.BudgetExceeded):
            await b.reserve(token, D("0.60"))
        assert await b.store.sweep(-1) >= 1
        assert (await b.status(token))["day"]["reserved_usd"] == 0
        other = await b.reserve(token, D("0.60"))
        await b.settle(res, D("0.10"))  # a slow call settles after its hold was released
        status = await b.status(token)
        await b.settle(other, D("0.60"))
        await b.aclose()
        return status["day"]

    day = asyncio.run(go())
    assert day["reserved_usd"] == 0.6 and day["spent_usd"] == 0.1


def test_alerts_at_80_and_100_percent_once_per_period(world):
    token = new_token(world, daily_usd=D("1.00"), daily_requests=100)
    alerts = FakeAlerts()

    async def go():
        first, second = make(world, alerts), make(world, alerts)  # two workers
        for b, cost in ((first, "0.50"), (second, "0.31"), (first, "0.05"), (second, "0.14")):
            res = await b.reserve(token, D("0.01"))
            await b.settle(res, D(cost))
        await first.aclose()
        await second.aclose()

    asyncio.run(go())
    levels = [details["level"] for kind, key, message, details in alerts.fired]
    assert levels == [80, 100] and set(alerts.kinds()) == {"budget"}
    assert "$0.810000 of its daily budget" in alerts.fired[0][2]


def test_tokens_without_limits_touch_nothing(world):
    token = new_token(world)

    async def go():
        b = make(world)
        res = await b.reserve(token, D("100"))
        await b.settle(res, D("100"))
        status = await b.status(token)
        await b.aclose()
        return res, status

    res, status = asyncio.run(go())
    assert not res.counted and status["day"]["spent_usd"] == 0
    with world[0].connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.budget_usage)
                            .where(db.budget_usage.c.token == token)).scalar_one() == 0


def test_a_new_budget_counts_what_the_day_already_spent(world, tmp_path):
    token = new_token(world)
    recorder = Recorder(world[0], tmp_path / "spool.jsonl")
    for _ in range(3):
        recorder.record(UsageRecord("r", token, "process", "summary", "openai", "gpt-4o",
                                    cost_usd=D("0.25")))
    budgets_ = make(world)
    asyncio.run(budgets_.set_limits(token, daily_usd=D("1"), daily_requests=4))

    async def go():
        b = make(world)
        day = (await b.status(token))["day"]
        res = await b.reserve(token, D("0.20"))
        with pytest.raises(errors.BudgetExceeded):
            await b.reserve(token, D("0.01"))  # the quota: 3 recorded + 1 now
        await b.release(res)
        await b.aclose()
        return day

    day = asyncio.run(go())
    assert day["spent_usd"] == 0.75 and day["requests"] == 3


def test_limits_of_an_unknown_token_are_refused(world):
    with pytest.raises(ValueError, match="no token named"):
        asyncio.run(make(world).set_limits("nobody-" + uuid.uuid4().hex, daily_usd=D("1")))


def test_an_unreachable_store_fails_closed(tmp_path, caplog):
    engine = db.create_engine(f"sqlite:///{tmp_path / 'b.db'}")
    TokenStore(engine).create("t")
    LimitsTable(engine).write("t", {"daily_micros": 1_000_000})
    dead = sa.create_engine("sqlite:////nonexistent-dir/b.db")
    b = budgets.Budgets(LimitsTable(engine), SqlStore(dead), Prices({}))
    with pytest.raises(errors.ServiceUnavailable):
        asyncio.run(b.reserve("t", D("0.01")))
    assert "budgets cannot be checked" in caplog.text
    caplog.clear()


def test_an_unreachable_redis_fails_closed(tmp_path, caplog):
    from fakes.alerts import free_port

    settings = Settings.from_env(environ={}, env_file=None,
                                 database_url=f"sqlite:///{tmp_path / 'b.db'}",
                                 redis_url=f"redis://127.0.0.1:{free_port()}/0")
    engine = db.create_engine(settings.database_url)
    TokenStore(engine).create("t")
    LimitsTable(engine).write("t", {"daily_requests": 5})
    b = budgets.build(settings, engine, Prices({}))
    with pytest.raises(errors.ServiceUnavailable):
        asyncio.run(b.reserve("t", None))
    assert "budgets cannot be checked" in caplog.text
    caplog.clear()


def test_the_estimate_counts_the_prompt_and_all_of_max_output():
    b = budgets.Budgets(None, None, Prices.load(Settings.from_env(environ={}, env_file=None)))
    # (1000 chars / 2 + 300 template) × 0.15 + 1024 × 0.60 = 734.4 µ$
    assert b.estimate("gpt-4o-mini", 1000, 1024) == D("0.000734")
    assert b.estimate("unknown-model", 1000, 1024) is None


def test_the_tokens_command_sets_and_clears_limits(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli.main(["tokens", "create", "ann", "--budget-daily", "5", "--budget-monthly",
                     "50", "--quota-daily", "10000"]) == 0
    assert "Limits: daily $5.00, monthly $50.00, 10000 requests a day" in capsys.readouterr().out
    limits = LimitsTable(db.create_engine(url))
    assert limits.read("ann") == budgets.Limits(5_000_000, 50_000_000, 10000)
    assert cli.main(["tokens", "update", "ann", "--budget-daily", "none", "--quota-daily",
                     "0"]) == 0
    assert limits.read("ann") == budgets.Limits(None, 50_000_000, None)
    assert cli.main(["tokens", "update", "ann"]) == 0
    assert "nothing to change" in capsys.readouterr().out
    assert cli.main(["tokens", "update", "bob", "--budget-daily", "1"]) == 1
    with pytest.raises(SystemExit):
        cli.main(["tokens", "update", "ann", "--budget-daily", "lots"])


def test_a_burst_beyond_the_redis_pool_waits_instead_of_failing(redis_url, tmp_path):
    """redis-py's default pool refuses the 101st connection at once; budgets must not 503."""
    settings = Settings.from_env(environ={}, env_file=None, redis_url=redis_url,
                                 database_url=f"sqlite:///{tmp_path / 'b.db'}",
                                 redis_key_prefix=f"test-{uuid.uuid4().hex[:8]}")
    world = (db.create_engine(settings.database_url), settings)
    token = new_token(world, daily_requests=1000)

    async def go():
        b = make(world)
        ok, refused = await admitted(b, token, None, 250)
        await b.aclose()
        return len(ok), len(refused)

    assert asyncio.run(go()) == (250, 0)
