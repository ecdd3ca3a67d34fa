"""POST /api/v1/estimate: cached items at cost 0, priced ranges, null for an unpriced model,
and nothing spent: no upstream call, no usage row, no budget hold, one rate-limit hit."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
import types
from decimal import Decimal

import pytest

from fakes import openai_fake, provider_settings  # noqa: F401 (fixture)
from flaskllm import estimate
from flaskllm.app import create_app


def texts(n: int, start: int = 0) -> list[str]:
    return [f"Row {i}: the customer wrote that the delivery took {i} days and the box was fine."
            for i in range(start, start + n)]


def settled(app, expected: int) -> None:
    """Wait until the usage recorder has written ``expected`` rows (it writes off the path)."""
    deadline = time.monotonic() + 10
    while app.state.usage.count() < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.state.usage.count() == expected


@pytest.fixture
def openai_app(settings, openai_fake):
    # With the cache on (provider_settings turns it off so that every request reaches the fake).
    return create_app(provider_settings(settings, "openai", openai_fake,
                                        openai_model="gpt-4o-mini").replace(cache_ttl=3600))


def test_100_items_30_cached_cost_0_and_nothing_is_spent(openai_app, openai_fake):
    token = openai_app.state.tokens.create("sheet")
    headers = {"X-API-Token": token}
    with openai_app.test_client() as client:
        ran = client.post("/api/v1/webhook/batch", json={"type": "summary", "texts": texts(30)},
                          headers=headers)
        assert ran.json()["succeeded"] == 30
        settled(openai_app, 30)
        calls = openai_fake.calls

        body = {"type": "summary", "texts": texts(30) + texts(70, start=30)}
        response = client.post("/api/v1/estimate", json=body, headers=headers)
        assert response.status_code == 200, response.text
        answer = response.json()
        time.sleep(0.3)  # a usage record would be written by now

    assert openai_fake.calls == calls, "an estimate calls no provider"
    assert openai_app.state.usage.count() == 30, "an estimate writes no usage row"
    results = answer["results"]
    assert [r["index"] for r in results] == list(range(100))
    assert [r["cached"] for r in results] == [True] * 30 + [False] * 70
    assert all(r["cost_usd"] == {"low": 0, "high": 0} for r in results[:30])
    totals = answer["totals"]
    assert (totals["items"], totals["valid"], totals["cached"], totals["to_run"]) == \
        (100, 100, 30, 70)

    prices = openai_app.state.prices
    expected_low = expected_high = Decimal(0)
    for item in results[30:]:
        assert (item["provider"], item["model"], item["tokenizer"]) == \
            ("openai", "gpt-4o-mini", "estimate")
        assert item["template_version"] == openai_app.state.templates.get("summary").version
        low, high = item["output_tokens"]["low"], item["output_tokens"]["high"]
        assert (low, high) == (40, 250)
        cost_low = prices.cost("gpt-4o-mini", item["input_tokens"], low)
        cost_high = prices.cost("gpt-4o-mini", item["input_tokens"], high)
        assert item["cost_usd"] == {"low": float(cost_low), "high": float(cost_high)}
        assert 0 < cost_low < cost_high
        expected_low += cost_low
        expected_high += cost_high
    assert totals["cost_usd"] == {"low": float(expected_low), "high": float(expected_high)}
    assert totals["input_tokens"] == sum(r["input_tokens"] for r in results[30:])
    assert answer["within_budget"] is None and answer["within_quota"] is None


def test_running_what_was_estimated_costs_within_the_range(openai_app, openai_fake):
    """The estimate's cached count is what the batch then reports."""
    token = openai_app.state.tokens.create("sheet")
    headers = {"X-API-Token": token}
    with openai_app.test_client() as client:
        client.post("/api/v1/webhook/batch", json={"texts": texts(2)}, headers=headers)
        body = {"texts": texts(4)}
        estimated = client.post("/api/v1/estimate", json=body, headers=headers).json()
        ran = client.post("/api/v1/webhook/batch", json=body, headers=headers).json()
    assert [r["cached"] for r in estimated["results"]] == \
        [r["result"]["cached"] for r in ran["results"]]


def test_unpriced_model_gives_null_costs_not_zero(settings, openai_fake):
    app = create_app(provider_settings(settings, "openai", openai_fake, openai_model="gpt-test"))
    token = app.state.tokens.create("unpriced")
    asyncio.run(app.state.budgets.set_limits("unpriced", daily_usd=Decimal("1.00")))
    with app.test_client() as client:
        answer = client.post("/api/v1/estimate", json={"texts": texts(3), "type": "keywords"},
                             headers={"X-API-Token": token}).json()
    assert all(r["cost_usd"] == {"low": None, "high": None} for r in answer["results"])
    assert answer["totals"]["cost_usd"] == {"low": None, "high": None}
    assert answer["totals"]["unpriced"] == 3
    assert answer["within_budget"] is None, "an unknown cost neither fits nor exceeds"
    assert openai_fake.calls == 0


def test_budget_and_quota_are_reported_and_nothing_is_held(openai_app):
    token = openai_app.state.tokens.create("tight")
    budgets = openai_app.state.budgets
    asyncio.run(budgets.set_limits("tight", daily_usd=Decimal("0.001"), daily_requests=50))
    with openai_app.test_client() as client:
        answer = client.post("/api/v1/estimate", json={"texts": texts(60)},
                             headers={"X-API-Token": token}).json()
    assert answer["totals"]["cost_usd"]["high"] > 0.001
    assert answer["within_budget"] is False
    assert answer["within_quota"] is False, "60 items, 50 requests left today"
    day = answer["budget"]["day"]
    assert (day["remaining_usd"], day["remaining_requests"]) == (0.001, 50)
    status = asyncio.run(budgets.status("tight"))
    assert (status["day"]["reserved_usd"], status["day"]["requests"]) == (0, 0)


def test_one_rate_limit_hit_whatever_the_items(settings):
    app = create_app(settings.replace(rate_limit="2/minute"))
    headers = {"X-API-Token": app.state.tokens.create("limited")}
    with app.test_client() as client:
        body = {"texts": texts(100)}
        assert client.post("/api/v1/estimate", json=body, headers=headers).status_code == 200
        assert client.post("/api/v1/webhook/batch", json=body,
                           headers=headers).status_code == 429
        assert client.post("/api/v1/estimate", json=body, headers=headers).status_code == 200
        assert client.post("/api/v1/estimate", json=body, headers=headers).status_code == 429


def test_items_fail_as_in_a_batch_and_duplicates_count_as_cached(client, auth):
    items = [{"prompt": "Bonjour", "type": "translation", "language": "en"},
             {"text": "no prompt here"},
             {"prompt": "x" * 4001},
             {"prompt": "The budget review is on Friday.", "type": "keywords"},
             {"prompt": "The budget review is on Friday.", "type": "keywords"},
             {"prompt": "Hi", "template": "no-such-template"}]
    answer = client.post("/api/v1/estimate", json={"items": items}, headers=auth).json()
    results = answer["results"]
    assert [r["status"] for r in results] == [422, 400, 413, 200, 200, 422]
    assert [results[i]["error"]["code"] for i in (0, 2, 5)] == \
        ["TYPE_NOT_SUPPORTED", "PROMPT_TOO_LONG", "TEMPLATE_NOT_FOUND"]
    assert (results[3]["cached"], results[4]["cached"], results[4]["duplicate_of"]) == \
        (False, True, 3)
    assert results[3]["cost_usd"] == {"low": 0, "high": 0}, "the offline provider is free"
    assert (answer["totals"]["failed"], answer["totals"]["to_run"]) == (4, 1)


def test_no_cache_header_estimates_nothing_cached(client, auth):
    body = {"texts": ["The budget review is on Friday."]}
    client.post("/api/v1/webhook/batch", json=body, headers=auth)
    assert client.post("/api/v1/estimate", json=body, headers=auth).json()["totals"]["cached"] == 1
    fresh = client.post("/api/v1/estimate", json=body,
                        headers={**auth, "Cache-Control": "no-cache"}).json()
    assert fresh["totals"]["cached"] == 0


def test_bad_body_and_missing_token_are_problems(client, auth):
    assert client.post("/api/v1/estimate", json={"texts": ["a"]}).status_code == 401
    bad = client.post("/api/v1/estimate", json={"texts": []}, headers=auth)
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")


class _Encoding:
    def encode(self, text, disallowed_special=()):
        return text.split()


@pytest.fixture
def stub_tiktoken(monkeypatch):
    """tiktoken's API as FlaskLLM uses it (encoding_name_for_model, get_encoding, encode),
    with one encoding that loads and one that fails as an offline download does."""
    module = types.ModuleType("tiktoken")
    names = {"gpt-4o-mini": "o200k_base", "gpt-4": "cl100k_base"}

    def encoding_name_for_model(model):
        if model not in names:
            raise KeyError(f"Could not automatically map {model} to a tokeniser.")
        return names[model]

    def get_encoding(name):
        if name == "cl100k_base":
            raise ConnectionError("openaipublic.blob.core.windows.net: no network")
        return _Encoding()

    module.encoding_name_for_model = encoding_name_for_model
    module.get_encoding = get_encoding
    monkeypatch.setitem(sys.modules, "tiktoken", module)
    estimate._encoding.cache_clear()
    estimate._load.cache_clear()
    yield
    estimate._encoding.cache_clear()
    estimate._load.cache_clear()


def test_tokenizer_when_installed_else_the_documented_estimate(stub_tiktoken, caplog):
    text = "one two three four five six"
    assert estimate.input_tokens("gpt-4o-mini", text) == estimate.Count(6, "tiktoken")
    assert estimate.input_tokens("claude-sonnet-4", text) == \
        estimate.Count(-(-len(text) // 4), "estimate")
    with caplog.at_level(logging.WARNING, logger="flaskllm.estimate"):
        assert estimate.input_tokens("gpt-4", text).tokenizer == "estimate"
        assert estimate.input_tokens("gpt-4", text).tokenizer == "estimate"
    assert sum("cannot load the cl100k_base" in r.message for r in caplog.records) == 1


def test_output_guess_grows_with_the_text_for_translation_and_is_capped():
    assert estimate.output_tokens("sentiment", 10_000) == (10, 40)
    assert estimate.output_tokens("translation", 100) == (110, 240)
    assert estimate.output_tokens("translation", 5000)[1] == 1024
