"""Every item metered through the HTTP API: priced cost in the response and the usage table,
null (not 0) for an unpriced model, budgets and quotas refused with BUDGET_EXCEEDED."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal

import httpx
import pytest

from fakes import Step, openai_fake, provider_settings  # noqa: F401 (fixture)
from flaskllm import pipeline
from flaskllm.app import create_app
from flaskllm.llm import typed

PROMPTS = ["The quarterly budget review is on Friday.",
           "Finance wants every team to cut cloud spending by ten percent.",
           "Hiring plans for the third quarter are due next week."]


def wait_for_records(app, expected: int, **where) -> None:
    deadline = time.monotonic() + 10
    while app.state.usage.count(**where) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.state.usage.count(**where) == expected


def test_priced_model_costs_exactly_what_the_price_table_says(settings, openai_fake):
    app = create_app(provider_settings(settings, "openai", openai_fake,
                                       openai_model="gpt-4o-mini"))
    token = app.state.tokens.create("priced")
    expected = Decimal(0)
    with app.test_client() as client:
        for prompt in PROMPTS:
            body = client.post("/api/v1/webhook", json={"prompt": prompt, "type": "summary"},
                               headers={"X-API-Token": token}).json()
            usage = body["usage"]
            answered = openai_fake.last.answered["usage"]
            assert (usage["input_tokens"], usage["output_tokens"]) == \
                (answered["prompt_tokens"], answered["completion_tokens"])
            cost = (Decimal(usage["input_tokens"]) * Decimal("0.15")
                    + Decimal(usage["output_tokens"]) * Decimal("0.60")) / Decimal(1_000_000)
            assert Decimal(str(usage["cost_usd"])) == cost.quantize(Decimal("0.000001"))
            expected += cost.quantize(Decimal("0.000001"))
    wait_for_records(app, 3, token="priced", status=200)
    from datetime import datetime, timedelta, timezone

    from flaskllm.usage import report
    since = datetime.now(timezone.utc) - timedelta(days=1)
    totals = report.build(app.state.engine, since, token="priced").as_dict()["totals"]
    assert Decimal(str(totals["cost_usd"])) == expected
    assert totals["requests"] == 3


def test_unpriced_model_is_null_not_zero_and_alerts(settings, openai_fake):
    app = create_app(provider_settings(settings, "openai", openai_fake,
                                       openai_model="gpt-test"))
    token = app.state.tokens.create("unpriced")
    with app.test_client() as client:
        body = client.post("/api/v1/webhook", json={"prompt": PROMPTS[0]},
                           headers={"X-API-Token": token}).json()
    assert body["usage"]["cost_usd"] is None
    assert body["usage"]["input_tokens"] > 0
    assert any(kind == "unpriced_model" for kind, _key in app.state.alerts.active())


def test_offline_costs_zero_and_is_recorded(app, client, auth):
    body = client.post("/api/v1/webhook", json={"prompt": PROMPTS[1], "type": "keywords"},
                       headers=auth).json()
    assert body["usage"]["cost_usd"] == 0
    wait_for_records(app, 1, token="tester", type="keywords", provider="offline")


def test_problems_are_recorded_too(app, client, auth):
    response = client.post("/api/v1/webhook", json={"prompt": "Hola", "type": "translation"},
                           headers=auth)
    assert response.status_code == 422
    # Refused before any metering: provider choice comes first, so nothing is recorded.
    assert app.state.usage.count(token="tester") == 0


def test_daily_quota_refuses_with_budget_exceeded(app, client):
    token = app.state.tokens.create("quota")
    asyncio.run(app.state.budgets.set_limits("quota", daily_requests=3))
    statuses = [client.post("/api/v1/webhook", json={"prompt": p},
                            headers={"X-API-Token": token}).status_code
                for p in PROMPTS + PROMPTS]
    assert statuses[:3] == [200, 200, 200]
    assert set(statuses[3:]) == {429}
    refused = client.post("/api/v1/webhook", json={"prompt": PROMPTS[0]},
                          headers={"X-API-Token": token})
    problem = refused.json()
    assert problem["code"] == "BUDGET_EXCEEDED" and "resets_at" in problem
    assert int(refused.headers["retry-after"]) > 0


def test_concurrent_requests_cannot_overshoot_a_budget(settings, openai_fake):
    """50 requests at once against a USD budget that holds 10 estimates: while all 50 are in
    flight (the upstream takes 0.3 s), exactly 10 are admitted, and what they spent is within
    the budget."""
    openai_fake.always(Step(delay=0.3))
    app = create_app(provider_settings(settings, "openai", openai_fake,
                                       openai_model="gpt-4o-mini"))
    token = app.state.tokens.create("budgeted")
    # What the pipeline holds: the whole rendered prompt, not only the user's text.
    job = pipeline.Job(type="summary", text=PROMPTS[0], request_id="-")
    chars = pipeline.prompt_chars(app.state, job, app.state.templates.get("summary"))
    estimate = app.state.budgets.estimate("gpt-4o-mini", chars, 1024)
    asyncio.run(app.state.budgets.set_limits("budgeted", daily_usd=estimate * 10))

    async def burst():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(
                client.post("/api/v1/webhook", json={"prompt": PROMPTS[0]},
                            headers={"X-API-Token": token, "Cache-Control": "no-cache"})
                for _ in range(50)))

    responses = asyncio.run(burst())
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(ok) + len(refused) == 50
    assert len(ok) == 10  # held against estimates: never more than the budget allows
    assert all(r.json()["code"] == "BUDGET_EXCEEDED" for r in refused)
    spent = sum(Decimal(str(r.json()["usage"]["cost_usd"])) for r in ok)
    assert spent <= estimate * 10


@pytest.mark.parametrize("type_", ["summary", "keywords", "sentiment", "entities",
                                   "translation", "custom"])
def test_the_budget_estimate_covers_the_whole_rendered_prompt(app, type_):
    """Held before the cache (no render on a hit): the template's own text, what the request
    puts in and the schema sent along are at least what the rendered prompt holds."""
    state = app.state
    text = "Please send the signed contract to Jane Smith by Friday. " * 20
    for extra in ({}, {"language": "fr", "source": "email",
                       "instruction": "Answer in one short sentence, formally. " * 5}):
        job = pipeline.Job(type=type_, text=text, request_id="-", **extra)
        template = state.templates.get(type_)
        rendered = pipeline.task_for(state, job)
        schema = state.data_schema(type_)
        sent = len(rendered.prompt.system) + len(rendered.prompt.user) + (
            0 if schema is None else len(json.dumps(typed.envelope(schema))))
        chars = pipeline.prompt_chars(state, job, template)
        assert sent <= chars <= sent + 400  # a bound, and not a wild one
        assert chars > len(text) + 150  # the template's instructions count too
