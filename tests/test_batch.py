"""POST /api/v1/webhook/batch: order, partial failure, dedup, the concurrency bound and
idempotent replay."""

from __future__ import annotations

import asyncio

import pytest

from flaskllm.app import create_app


class Counting:
    """Wraps a provider's stream(): counts calls and the peak of calls in flight."""

    def __init__(self, provider, delay: float = 0.02):
        self.inner = provider.stream
        self.delay = delay
        self.calls = 0
        self.in_flight = 0
        self.peak = 0
        provider.stream = self

    async def __call__(self, task):
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            async for piece in self.inner(task):
                yield piece
        finally:
            self.in_flight -= 1


@pytest.fixture
def batch_app(settings):
    return create_app(settings.replace(upstream_concurrency=4, rate_limit="1000/minute"))


@pytest.fixture
def counting(batch_app):
    return Counting(batch_app.state.providers.get())


@pytest.fixture
def batch_client(batch_app):
    with batch_app.test_client() as client:
        yield client


@pytest.fixture
def batch_auth(batch_app):
    return {"X-API-Token": batch_app.state.tokens.create("batcher")}


REVIEWS = ["I love this keyboard. The keys feel wonderful.",
           "The delivery was late and the box was badly damaged.",
           "Terrible support, I want a refund.",
           "Great value and a fantastic battery."]


def test_texts_keep_order_with_partial_failure(batch_client, batch_auth, counting):
    texts = [REVIEWS[0], "", REVIEWS[1], "x" * 4001, REVIEWS[3]]
    response = batch_client.post("/api/v1/webhook/batch",
                                 json={"type": "sentiment", "texts": texts}, headers=batch_auth)
    assert response.status_code == 200, response.text
    body = response.json()
    results = body["results"]
    assert [r["index"] for r in results] == list(range(5))
    assert [r["status"] for r in results] == [200, 400, 200, 413, 200]
    assert [results[i]["result"]["data"]["label"] for i in (0, 2, 4)] == \
        ["positive", "negative", "positive"]
    assert results[1]["error"]["code"] == "BAD_REQUEST" and "texts[1]" in results[1]["error"]["detail"]
    assert results[3]["error"]["code"] == "PROMPT_TOO_LONG"
    assert (body["succeeded"], body["failed"]) == (3, 2)
    assert counting.calls == 3


def test_items_fail_alone(batch_client, batch_auth, counting):
    items = [{"prompt": "Write to ann@example.com by May 2, 2025.", "type": "entities"},
             {"prompt": "Bonjour", "type": "translation", "language": "en"},
             {"text": "no prompt here"},
             {"prompt": REVIEWS[2], "type": "sentiment", "colour": "red"}]
    response = batch_client.post("/api/v1/webhook/batch", json={"items": items},
                                 headers=batch_auth)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [200, 422, 400, 400]
    entities = results[0]["result"]["data"]
    assert {"text": "ann@example.com", "type": "EMAIL"}.items() <= entities[0].items()
    assert results[1]["error"]["code"] == "TYPE_NOT_SUPPORTED"
    assert "items[2]" in results[2]["error"]["detail"] and "prompt" in results[2]["error"]["detail"]
    assert "colour" in results[3]["error"]["detail"]


def test_identical_items_are_computed_once(batch_client, batch_auth, counting):
    texts = [REVIEWS[0], REVIEWS[1]] * 10
    response = batch_client.post("/api/v1/webhook/batch",
                                 json={"type": "sentiment", "texts": texts},
                                 headers={**batch_auth, "Cache-Control": "no-cache"})
    results = response.json()["results"]
    assert counting.calls == 2
    assert all(r["status"] == 200 for r in results)
    assert results[0]["result"]["data"] == results[2]["result"]["data"]
    assert len({r["result"]["request_id"] for r in results}) == 20


def test_concurrency_is_bounded(batch_client, batch_auth, counting):
    texts = [f"Review number {i}: the product is good." for i in range(20)]
    response = batch_client.post("/api/v1/webhook/batch",
                                 json={"type": "summary", "texts": texts}, headers=batch_auth)
    assert response.status_code == 200
    assert counting.calls == 20
    assert counting.peak == 4  # UPSTREAM_CONCURRENCY, reached and never passed


def test_idempotent_replay_makes_no_new_calls(batch_client, batch_auth, counting):
    body = {"type": "keywords", "texts": ["The quarterly budget review is on Friday.",
                                          "Cloud spending must fall by ten percent."]}
    headers = {**batch_auth, "Idempotency-Key": "run-2026-11-25", "Cache-Control": "no-cache"}
    first = batch_client.post("/api/v1/webhook/batch", json=body, headers=headers)
    calls = counting.calls
    again = batch_client.post("/api/v1/webhook/batch", json=body, headers=headers)
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert counting.calls == calls == 2
    other = batch_client.post("/api/v1/webhook/batch", json={**body, "type": "summary"},
                              headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_too_many_items_is_400(settings):
    app = create_app(settings.replace(batch_max_items=3))
    token = app.state.tokens.create("small")
    with app.test_client() as client:
        response = client.post("/api/v1/webhook/batch", json={"texts": ["a", "b", "c", "d"]},
                               headers={"X-API-Token": token})
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"


def test_batch_counts_each_item_against_the_rate_limit(settings):
    app = create_app(settings.replace(rate_limit="5/minute"))
    token = app.state.tokens.create("limited")
    with app.test_client() as client:
        ok = client.post("/api/v1/webhook/batch", json={"texts": ["one", "two", "three"]},
                         headers={"X-API-Token": token})
        assert ok.status_code == 200
        refused = client.post("/api/v1/webhook/batch", json={"texts": ["four", "five", "six"]},
                              headers={"X-API-Token": token})
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) >= 1
