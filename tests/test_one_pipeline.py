"""Single, batch and stream requests are the same pipeline (flaskllm/pipeline.py), so each
upstream fault gives the same outcome on all three: the same status (a stream's ``error``
event carries it), the same number of upstream calls, on time, and a usage record, with the
tokens null where the provider did not say. The faults are the ones that once differed
between the endpoints (issue 11): a 429 asking for longer than the deadline, empty answers,
error events inside the stream, a stream that fails half-way, missing usage, a hung
upstream, and a bug in an adapter."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from types import SimpleNamespace

import pytest

from fakes import (Step, anthropic_fake, fake_for, openai_fake,  # noqa: F401 (fixtures)
                   provider_config)
from flaskllm.llm import policy
from test_provider_faults import DEADLINE, api, kind, start  # noqa: F401 (fixtures)

SLACK = 0.2  # an answer comes within the deadline and this
TEXT = "Please send the signed contract to Jane Smith at jane.smith@acme.com by Friday."
ENDPOINTS = ("webhook", "batch", "stream")


@pytest.fixture(params=ENDPOINTS)
def endpoint(request) -> str:
    return request.param


def ask(api, endpoint: str, **body) -> SimpleNamespace:
    """One prompt through ``endpoint``, reduced to what every endpoint has: the status (of
    the response, the batch item or the stream's last event), the code, the body (a result
    or a problem) and the time it took; for a stream also its deltas."""
    body = {"prompt": TEXT, **body}
    path = {"webhook": "/api/v1/webhook", "batch": "/api/v1/webhook/batch",
            "stream": "/api/v1/webhook/stream"}[endpoint]
    sent = {"items": [body]} if endpoint == "batch" else body
    started = time.monotonic()
    response = api.client.post(path, json=sent, headers=api.auth)
    elapsed = time.monotonic() - started
    status, payload, deltas = response.status_code, response.json() if \
        response.headers["content-type"].endswith("json") else None, []
    if endpoint == "batch" and status == 200:
        item = payload["results"][0]
        status, payload = item["status"], item.get("result") or item.get("error")
    elif endpoint == "stream" and status == 200:
        events = [(block.split("\n")[0][7:], json.loads(block.split("\n")[1][6:]))
                  for block in response.text.strip().split("\n\n")]
        names = [name for name, _ in events]
        assert names.count("done") + names.count("error") == 1 and names[-1] in ("done",
                                                                                  "error")
        deltas = [data["text"] for name, data in events if name == "delta"]
        payload = events[-1][1]
        status = 200 if names[-1] == "done" else payload["status"]
    code = payload.get("code") if status != 200 else None
    return SimpleNamespace(status=status, code=code, body=payload, elapsed=elapsed,
                           deltas=deltas, response=response)


def records(api, expected: int = 1, **where) -> int:
    """Wait (briefly) for ``expected`` usage records matching ``where``; their count."""
    deadline = time.monotonic() + 10
    while api.app.state.usage.count(**where) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    return api.app.state.usage.count(**where)


# A 429 that asks for longer than the deadline --------------------------------------------


def test_429_with_a_retry_after_past_the_deadline_is_429_at_once(api, endpoint):
    api.fake.always(Step(status=429, headers={"Retry-After": "3"},
                         body={"error": {"message": "slow down", "type": "rate_limit_error"}}))
    out = ask(api, endpoint)
    assert (out.status, out.code) == (429, "PROVIDER_RATE_LIMITED")
    assert api.fake.calls == 1 and out.elapsed < DEADLINE + SLACK
    assert "retry in 3 seconds" in out.body["detail"]
    assert records(api, status=429, error_code="PROVIDER_RATE_LIMITED") == 1


# Empty answers: never a success, never cached ---------------------------------------------


@pytest.mark.parametrize("stop", ["length", "max_tokens"])
def test_an_empty_answer_is_502_and_never_cached(settings, kind, fake_for, endpoint, stop):
    api = start(settings, kind, fake_for(kind), cache_ttl=3600)
    try:
        api.fake.push(Step(answer="", stop=stop))
        out = ask(api, endpoint)
        assert (out.status, out.code) == (502, "PROVIDER_EMPTY_ANSWER")
        assert api.fake.calls == 1 and out.deltas == []
        # The same body again reaches the upstream (nothing was stored) and gets its answer.
        again = ask(api, "webhook")
        assert again.status == 200 and again.body["summary"] and not again.body["cached"]
        assert api.fake.calls == 2
    finally:
        api.client.__exit__(None, None, None)


def test_an_empty_typed_answer_is_502_without_a_repair(settings, fake_for, endpoint):
    api = start(settings, "anthropic", fake_for("anthropic"))
    try:
        api.fake.push(Step(answer="", stop="refusal"))  # Anthropic: a refusal with no content
        out = ask(api, endpoint, type="summary")
        assert (out.status, out.code) == (502, "PROVIDER_EMPTY_ANSWER")
        assert api.fake.calls == 1
    finally:
        api.client.__exit__(None, None, None)


def test_an_openai_refusal_is_the_answer(settings, openai_fake, endpoint):
    api = start(settings, "openai", openai_fake)
    try:
        api.fake.push(Step(refusal="I can't help with that request."))
        out = ask(api, endpoint)
        assert out.status == 200
        assert out.body["summary"] == "I can't help with that request."
        if endpoint == "stream":
            assert "".join(out.deltas) == out.body["summary"]
    finally:
        api.client.__exit__(None, None, None)


# Error events inside the stream, before the first delta: retried like their status --------


ERROR_EVENTS = {"openai": "server_error", "anthropic": "overloaded_error"}


def test_an_error_event_before_the_first_delta_is_retried(api, endpoint):
    api.fake.push(Step(stream_error=ERROR_EVENTS[api.kind]))
    out = ask(api, endpoint)
    assert out.status == 200, out.body
    assert api.fake.calls == 2 and out.elapsed < DEADLINE + SLACK


def test_error_events_every_time_are_502_after_the_attempts(api, endpoint):
    api.fake.always(Step(stream_error=ERROR_EVENTS[api.kind]))
    out = ask(api, endpoint)
    assert (out.status, out.code) == (502, "PROVIDER_ERROR")
    status = 529 if api.kind == "anthropic" else 500  # overloaded_error is a 529
    assert f"upstream {status}" in out.body["detail"] and "upstream says" not in \
        json.dumps(out.body)
    assert api.fake.calls == policy.MAX_ATTEMPTS and out.elapsed < DEADLINE + SLACK
    assert records(api, status=502, input_tokens=None, output_tokens=None) == 1


def test_an_overloaded_primary_falls_back(settings, openai_fake, anthropic_fake, endpoint):
    api = start(settings, "anthropic", anthropic_fake, fallback_providers=("openai",),
                **provider_config("openai", openai_fake.url))
    try:
        api.fake.always(Step(stream_error="overloaded_error"))
        out = ask(api, endpoint)
        assert out.status == 200 and out.body["provider"] == "openai"
        assert openai_fake.calls == 1 and out.elapsed < DEADLINE + SLACK
    finally:
        api.client.__exit__(None, None, None)


# A failure after the first delta: final on a stream; before any answer, retried ----------


@pytest.mark.parametrize("fault", ["error_event", "reset"])
def test_a_stream_that_fails_half_way_is_not_retried(api, endpoint, fault):
    """A streaming client has the first words when the upstream fails: the failure is final.
    Single and batch requests ask the API without streaming (one JSON body), where the same
    fault is an error status or a body cut off before anything was answered: retried, like
    any failure before the first delta, and answered."""
    step = Step(stream_error=ERROR_EVENTS[api.kind], deltas=2) if fault == "error_event" \
        else Step(reset=True, deltas=2)
    api.fake.push(step)
    out = ask(api, endpoint)
    if endpoint != "stream":
        assert out.status == 200 and api.fake.calls == 2 and out.elapsed < DEADLINE + SLACK
        assert records(api, status=200) == 1
        return
    assert (out.status, out.code) == (502, "PROVIDER_ERROR")
    assert api.fake.calls == 1 and out.elapsed < DEADLINE + SLACK
    assert out.deltas == ["Summary:", " Please"]  # the first words, then the problem
    assert records(api, status=502, input_tokens=None) == 1


# Missing usage: unknown, not 0 ------------------------------------------------------------


def test_missing_usage_is_null_and_a_priced_model_costs_null(settings, openai_fake,
                                                             endpoint):
    # llama.cpp's server sends no usage chunk; here on a priced model name.
    api = start(settings, "openai", openai_fake, openai_model="gpt-4o-mini")
    try:
        api.fake.push(Step(usage=False))
        out = ask(api, endpoint)
        assert out.status == 200
        assert out.body["usage"] == {"input_tokens": None, "output_tokens": None,
                                     "cost_usd": None}
        assert records(api, status=200, input_tokens=None, output_tokens=None,
                       cost_micros=None) == 1
    finally:
        api.client.__exit__(None, None, None)


# A hung upstream -------------------------------------------------------------------------


def test_a_hung_upstream_is_504_on_time(api, endpoint):
    api.fake.always(Step(hang=True))
    out = ask(api, endpoint)
    assert (out.status, out.code) == (504, "PROVIDER_TIMEOUT")
    assert DEADLINE - 0.05 <= out.elapsed < DEADLINE + SLACK
    assert api.fake.calls == 1
    assert records(api, status=504, input_tokens=None) == 1


# A bug in an adapter: the hold is released and the usage recorded ------------------------


def test_a_bug_in_an_adapter_releases_the_budget_and_is_recorded(settings, openai_fake,
                                                                 endpoint, monkeypatch):
    api = start(settings, "openai", openai_fake, openai_model="gpt-4o-mini")
    try:
        asyncio.run(api.app.state.budgets.set_limits("tester", daily_usd=Decimal("5")))
        provider = api.app.state.providers.get()

        async def broken(task):
            raise RuntimeError("a bug in the adapter")
            yield  # an async generator, as stream() is

        monkeypatch.setattr(provider, "stream", broken)
        out = ask(api, endpoint)
        assert (out.status, out.code) == (500, "INTERNAL_ERROR")
        assert "a bug" not in json.dumps(out.body)
        assert records(api, status=500, error_code="INTERNAL_ERROR") == 1
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            held = asyncio.run(api.app.state.budgets.status("tester"))["day"]["reserved_usd"]
            if held == 0:
                break
            time.sleep(0.05)
        assert held == 0
    finally:
        api.client.__exit__(None, None, None)


# Identical streams in flight share one upstream call; a hit streams the stored answer ------


def test_streams_share_the_cache_and_one_upstream_call(settings, openai_fake):
    openai_fake.always(Step(delay=0.3))
    api = start(settings, "openai", openai_fake, cache_ttl=3600)
    import httpx

    async def three():
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(*(http.post(
                "/api/v1/webhook/stream", json={"prompt": TEXT}, headers=api.auth)
                for _ in range(3)))

    try:
        responses = asyncio.run(three())
        assert openai_fake.calls == 1
        dones = [json.loads(r.text.strip().split("\n")[-1][6:]) for r in responses]
        assert sorted(d["cached"] for d in dones) == [False, True, True]
        assert len({d["summary"] for d in dones}) == 1
        hit = ask(api, "stream")
        assert hit.body["cached"] is True and hit.deltas == [hit.body["summary"]]
        assert openai_fake.calls == 1
    finally:
        api.client.__exit__(None, None, None)
