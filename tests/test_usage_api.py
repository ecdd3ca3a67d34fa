"""GET /api/v1/usage (the caller's own usage and budget) and GET /api/v1/admin/usage (every
token's, admin only), over usage records stored through the app's recorder. Responses are
checked against the spec by connexion (ENVIRONMENT=test validates responses)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from flaskllm import cli
from flaskllm.app import create_app
from flaskllm.operations.usage import date_range
from flaskllm.settings import Settings
from flaskllm.usage import UsageRecord

TODAY = datetime.now(timezone.utc).date()
NOON = datetime.combine(TODAY, datetime.min.time(), tzinfo=timezone.utc) + timedelta(hours=12)


def day(ago: int) -> str:
    return (TODAY - timedelta(days=ago)).isoformat()


@pytest.fixture(params=["database", "redis"])
def app(request, tmp_path):
    """Budget counts in the database, or in Redis: the report reads the same either way."""
    extra = {}
    if request.param == "redis":
        extra = {"redis_url": request.getfixturevalue("redis_url"),
                 "redis_key_prefix": f"test-usage-api-{uuid.uuid4().hex[:8]}"}
    app = create_app(Settings.from_env(environ={}, env_file=None, environment="test",
                                       database_url=f"sqlite:///{tmp_path / 'usage.db'}",
                                       rate_limit_enabled=False, api_token="e" * 40,
                                       usage_spool_file=str(tmp_path / "spool.jsonl"), **extra))
    yield app
    asyncio.run(app.state.budgets.aclose())


def store(app, token: str, ago: int, model: str = "gpt-4o-mini", inp: int = 1000,
          out: int = 200, **fields) -> UsageRecord:
    values = dict(request_id=uuid.uuid4().hex, token=token, operation="webhook.create",
                  type="summary", provider="openai", model=model, input_tokens=inp,
                  output_tokens=out, latency=0.3, created_at=NOON - timedelta(days=ago))
    values.update(fields)
    if "cost_usd" not in values:
        values["cost_usd"] = app.state.prices.cost(model, inp, out)
    rec = UsageRecord(**values)
    app.state.usage.record(rec)  # outside an event loop: stored at once
    return rec


@pytest.fixture
def world(app):
    """Two tokens' usage over ten days, an admin token and the environment's API_TOKEN."""
    alice = app.state.tokens.create("alice")
    bob = app.state.tokens.create("bob")
    admin = app.state.tokens.create("boss", admin=True)
    recs = [store(app, "alice", 0), store(app, "alice", 0, type="keywords", cached=True),
            store(app, "alice", 2, model="claude-haiku-4-5", provider="anthropic"),
            store(app, "alice", 9),  # outside the default week
            store(app, "alice", 1, status=502, error_code="PROVIDER_ERROR", inp=0, out=0),
            store(app, "bob", 0, inp=5000, out=1000), store(app, "bob", 3, model="my-own-model",
                                                           cost_usd=None)]
    return {"alice": alice, "bob": bob, "admin": admin, "env": "e" * 40, "records": recs}


def usd(recs) -> float:
    return float(sum((r.cost_usd or Decimal(0)) for r in recs))


def get(client, path, secret, **params):
    return client.get(path, headers={"X-API-Token": secret}, params=params)


def test_own_usage_is_the_callers_only(client, world):
    body = get(client, "/api/v1/usage", world["alice"]).json()
    week = [r for r in world["records"] if r.token == "alice" and r.created_at.date() >= TODAY -
            timedelta(days=6)]
    assert body["token"] == "alice" and "by_token" not in body
    assert (body["from"], body["to"]) == (day(6), day(0))
    totals = body["totals"]
    assert totals["requests"] == len(week) == 4
    assert (totals["errors"], totals["cached"]) == (1, 1)
    assert totals["input_tokens"] == sum(r.input_tokens for r in week)
    assert totals["cost_usd"] == pytest.approx(usd(week), abs=1e-12)
    assert [line["key"] for line in body["by_day"]] == [day(2), day(1), day(0)]
    assert {line["key"]: line["requests"] for line in body["by_type"]} == {"summary": 3,
                                                                           "keywords": 1}
    assert {line["key"] for line in body["by_model"]} == {"gpt-4o-mini", "claude-haiku-4-5"}


def test_admin_usage_is_every_tokens_and_only_for_admins(client, world):
    for who in ("alice", "bob"):
        refused = get(client, "/api/v1/admin/usage", world[who])
        assert refused.status_code == 403
        assert refused.json()["code"] == "FORBIDDEN"
        assert refused.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/admin/usage").status_code == 401
    for who in ("admin", "env"):
        body = get(client, "/api/v1/admin/usage", world[who]).json()
        assert body["token"] is None
        assert {line["key"]: line["requests"] for line in body["by_token"]} == {"alice": 4,
                                                                                "bob": 2}
        assert body["totals"]["requests"] == 6
        assert body["totals"]["unpriced"] == 1  # bob's own model has no price
    one = get(client, "/api/v1/admin/usage", world["admin"], token="bob").json()
    assert one["token"] == "bob" and [line["key"] for line in one["by_token"]] == ["bob"]
    own = get(client, "/api/v1/usage", world["bob"]).json()
    assert one["totals"] == own["totals"]


def test_date_ranges_are_whole_utc_days_both_included(client, world):
    alice = world["alice"]
    body = get(client, "/api/v1/usage", alice, **{"from": day(9), "to": day(9)}).json()
    assert body["totals"]["requests"] == 1
    assert (body["since"], body["until"]) == (f"{day(9)}T00:00:00+00:00",
                                              f"{day(8)}T00:00:00+00:00")
    assert get(client, "/api/v1/usage", alice, **{"from": day(30)}).json()["totals"][
        "requests"] == 5
    assert get(client, "/api/v1/usage", alice, to=day(1)).json()["from"] == day(7)
    for params, status, fragment in [({"from": "2025-02-30"}, 400, "is not a date"),
                                     ({"to": "31/01/2025"}, 400, "does not match"),
                                     ({"to": "1999-12-31"}, 400, "does not match"),
                                     ({"since": "7d"}, 400, "since"),
                                     ({"from": day(0), "to": day(1)}, 422, "is after")]:
        response = get(client, "/api/v1/usage", alice, **params)
        assert response.status_code == status, params
        assert fragment in response.json()["detail"], (params, response.json())
    assert response.json()["code"] == "INVALID_RANGE"


def test_date_range_defaults():
    assert date_range({}, today=date(2025, 3, 3)) == (date(2025, 2, 25), date(2025, 3, 3))
    assert date_range({"to": "2025-01-03"}) == (date(2024, 12, 28), date(2025, 1, 3))


def test_remaining_budget(app, client, world):
    budgets = app.state.budgets
    today = [r for r in world["records"] if r.token == "alice" and r.created_at.date() == TODAY]
    spent = sum(r.cost_usd for r in today)

    no_limits = get(client, "/api/v1/usage", world["alice"]).json()["budget"]
    assert no_limits["limits"] == {"daily_usd": None, "monthly_usd": None,
                                   "daily_requests": None}
    assert no_limits["day"]["remaining_usd"] is None
    assert no_limits["day"]["remaining_requests"] is None
    assert no_limits["day"]["spent_usd"] == pytest.approx(float(spent), abs=1e-12)
    assert no_limits["day"]["requests"] == len(today)
    assert no_limits["day"]["resets_at"] == f"{day(-1)}T00:00:00Z"

    async def limit_and_hold():
        await budgets.set_limits("alice", daily_usd=Decimal("0.05"), monthly_usd=Decimal("2"),
                                 daily_requests=10)
        return await budgets.reserve("alice", Decimal("0.01"))

    held = asyncio.run(limit_and_hold())
    budget = get(client, "/api/v1/usage", world["alice"]).json()["budget"]
    assert budget["limits"] == {"daily_usd": 0.05, "monthly_usd": 2.0, "daily_requests": 10}
    assert budget["day"]["reserved_usd"] == 0.01
    assert budget["day"]["remaining_usd"] == float(Decimal("0.04") - spent)
    assert budget["day"]["requests"] == len(today) + 1  # the request in flight counts
    assert budget["day"]["remaining_requests"] == 10 - len(today) - 1
    assert budget["month"]["remaining_requests"] is None
    assert budget["month"]["remaining_usd"] == pytest.approx(
        2 - budget["month"]["spent_usd"] - 0.01, abs=1e-9)
    asyncio.run(budgets.release(held))
    # bob has no limits: alice's are hers alone.
    assert get(client, "/api/v1/usage", world["bob"]).json()["budget"]["limits"][
        "daily_usd"] is None


def test_the_api_and_the_usage_command_agree(app, client, world, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", app.state.settings.database_url)
    assert cli.main(["usage", "--since", day(6), "--until", day(0), "--token", "alice",
                     "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    body = get(client, "/api/v1/usage", world["alice"]).json()
    for group in ("totals", "by_day", "by_type", "by_model"):
        assert printed[group] == body[group], group
