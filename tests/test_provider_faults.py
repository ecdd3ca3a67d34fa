"""Faults upstream, each with its status, code and timing: retries within the deadline,
Retry-After, the 504 on time, broken connections and bodies, bad output and its repair,
credentials, fallback. REQUEST_TIMEOUT is short here so the deadline cases stay fast."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

import pytest

from fakes import (ANTHROPIC_KEY, HTML_ERROR_PAGE, OPENAI_KEY, Step, anthropic_fake,  # noqa: F401
                   closed_port, fake_for, openai_fake, provider_config, provider_settings)
from fakes import anthropic_server, openai_server
from flaskllm.app import create_app
from flaskllm.errors import PROBLEM_JSON
from flaskllm.llm import policy

WEBHOOK = "/api/v1/webhook"
DEADLINE = 1.5  # REQUEST_TIMEOUT for these tests, in seconds
ON_TIME = 1.0  # a 504 comes within this long after the deadline
TEXT = "Please send the signed contract to Jane Smith at jane.smith@acme.com by Friday."


@pytest.fixture(params=["openai", "anthropic"])
def kind(request) -> str:
    return request.param


def error_body(kind: str, status: int) -> dict:
    module = anthropic_server if kind == "anthropic" else openai_server
    return module.error_body(f"upstream says {status}")


def start(settings, kind: str, fake, cache_ttl: int = 0, **overrides):
    app = create_app(provider_settings(settings, kind, fake, request_timeout=DEADLINE,
                                       **overrides).replace(cache_ttl=cache_ttl))
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    client = app.test_client()
    client.__enter__()
    return SimpleNamespace(app=app, client=client, auth=auth, fake=fake, kind=kind)


@pytest.fixture
def api(settings, kind, fake_for):
    api = start(settings, kind, fake_for(kind))
    yield api
    api.client.__exit__(None, None, None)


def call(api, **body):
    started = time.monotonic()
    response = api.client.post(WEBHOOK, json={"prompt": TEXT, **body}, headers=api.auth)
    return response, time.monotonic() - started


def assert_problem(api, response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["code"] == code and body["status"] == status
    # Nothing of the upstream's URL, the server's key or a stack trace reaches the client.
    for secret in (api.fake.url, "127.0.0.1", OPENAI_KEY, ANTHROPIC_KEY, "Traceback",
                   "upstream says"):
        assert secret not in response.text
    return body


# Rate limits ------------------------------------------------------------------------------


def test_429_with_retry_after_then_success(api):
    api.fake.push(Step(status=429, headers={"Retry-After": "1"},
                       body=error_body(api.kind, 429)))
    response, elapsed = call(api)
    assert response.status_code == 200, response.text
    assert api.fake.calls == 2
    assert 1.0 <= elapsed < DEADLINE  # waited what the upstream asked, within the deadline


def test_429_that_outlasts_the_deadline_is_429_with_retry_after_at_once(api):
    api.fake.always(Step(status=429, headers={"Retry-After": "20"},
                         body=error_body(api.kind, 429)))
    response, elapsed = call(api)
    assert_problem(api, response, 429, "PROVIDER_RATE_LIMITED")
    assert response.headers["Retry-After"] == "20"
    # No wait that could not end in time: one call, answered well before the deadline (a wait
    # for it would take 1.5 s). Not a speed test: a full CI run once took 0.85 s for the call.
    assert api.fake.calls == 1 and elapsed < DEADLINE * 2 / 3


def test_429_until_the_deadline_stops_retrying_before_it(api):
    api.fake.always(Step(status=429, headers={"Retry-After": "1"},
                         body=error_body(api.kind, 429)))
    response, elapsed = call(api)
    assert_problem(api, response, 429, "PROVIDER_RATE_LIMITED")
    assert response.headers["Retry-After"] == "1"
    assert api.fake.calls == 2 and elapsed < DEADLINE  # a second wait would pass it


def test_429_without_retry_after_tells_the_client_3_seconds(api):
    api.fake.always(Step(status=429, body=error_body(api.kind, 429)))
    response, _ = call(api)
    assert_problem(api, response, 429, "PROVIDER_RATE_LIMITED")
    assert response.headers["Retry-After"] == str(policy.DEFAULT_RETRY_AFTER)


# 5xx --------------------------------------------------------------------------------------


def test_500_twice_then_success(api):
    api.fake.push(*[Step(status=500, body=error_body(api.kind, 500))] * 2)
    response, elapsed = call(api)
    assert response.status_code == 200, response.text
    assert api.fake.calls == 3
    assert elapsed < policy.BACKOFF_INITIAL * 3 + 0.5  # two short back-offs


@pytest.mark.parametrize("status", [500, 503, 529])  # 529: Anthropic's "overloaded"
def test_5xx_always_is_502_after_the_attempts(api, status):
    api.fake.always(Step(status=status, body=error_body(api.kind, status)))
    response, elapsed = call(api)
    body = assert_problem(api, response, 502, "PROVIDER_ERROR")
    assert f"upstream {status}" in body["detail"]
    assert api.fake.calls == policy.MAX_ATTEMPTS and elapsed < DEADLINE


def test_other_4xx_is_502_without_retrying(api):
    api.fake.always(Step(status=404, body=error_body(api.kind, 404)))
    response, _ = call(api)
    assert_problem(api, response, 502, "PROVIDER_ERROR")
    assert api.fake.calls == 1


# The deadline -----------------------------------------------------------------------------


def test_a_server_that_never_answers_is_504_on_time(api):
    api.fake.always(Step(hang=True))
    response, elapsed = call(api)
    body = assert_problem(api, response, 504, "PROVIDER_TIMEOUT")
    assert f"{DEADLINE:g} seconds" in body["detail"]
    assert DEADLINE - 0.05 <= elapsed < DEADLINE + ON_TIME
    assert api.fake.calls == 1


def test_retries_never_run_past_the_deadline(api):
    # Each answer is slow and fails: the deadline, not the attempt count, ends it.
    api.fake.always(Step(status=500, delay=0.6, body=error_body(api.kind, 500)))
    response, elapsed = call(api)
    assert response.status_code in (502, 504)
    assert elapsed < DEADLINE + ON_TIME


# Broken connections and bodies ------------------------------------------------------------


def test_connection_reset_mid_body_is_retried(api):
    api.fake.push(Step(reset=True))
    response, _ = call(api)
    assert response.status_code == 200, response.text
    assert api.fake.calls == 2


def test_connection_reset_every_time_is_502(api):
    api.fake.always(Step(reset=True))
    response, _ = call(api)
    assert_problem(api, response, 502, "PROVIDER_ERROR")
    assert api.fake.calls == policy.MAX_ATTEMPTS


def test_connection_refused_is_502_at_once(settings, kind):
    dead = SimpleNamespace(url=f"http://127.0.0.1:{closed_port()}")
    api = start(settings, kind, dead)
    try:
        response, elapsed = call(api)
    finally:
        api.client.__exit__(None, None, None)
    assert_problem(api, response, 502, "PROVIDER_ERROR")
    assert elapsed < 0.5


@pytest.mark.parametrize("body", [b'{"id": "chatcmpl-', b"", b"{}", b"[1, 2]"],
                         ids=["truncated", "empty", "empty-object", "not-an-object"])
def test_malformed_or_empty_json_is_502_at_once(api, body):
    api.fake.always(Step(body=body, content_type="application/json"))
    response, elapsed = call(api)
    assert_problem(api, response, 502, "PROVIDER_ERROR")
    assert api.fake.calls == 1 and elapsed < 0.5


@pytest.mark.parametrize("body", [{"choices": "none"}, {"choices": [5]}, {"choices": [],
                                  "model": ["not", "a", "name"]}, {"content": 7}],
                         ids=["choices-not-a-list", "choice-not-an-object", "no-choice",
                              "content-not-a-list"])
def test_a_json_body_of_the_wrong_shape_is_502_not_500(api, body):
    """JSON of the wrong shape (the adapters read the parsed JSON, not the SDKs' models):
    a 502 that names the provider, never a 500."""
    api.fake.always(Step(body=body))
    response, _ = call(api)
    assert response.status_code == 502, response.text
    assert response.json()["code"] in ("PROVIDER_ERROR", "PROVIDER_EMPTY_ANSWER")


def test_an_html_error_page_is_502(api):
    api.fake.always(Step(body=HTML_ERROR_PAGE))  # 200, text/html: a proxy's page
    response, _ = call(api)
    assert_problem(api, response, 502, "PROVIDER_ERROR")
    assert api.fake.calls == 1


def test_an_html_502_page_is_retried_then_502(api):
    api.fake.always(Step(status=502, body=HTML_ERROR_PAGE))
    response, _ = call(api)
    assert_problem(api, response, 502, "PROVIDER_ERROR")
    assert api.fake.calls == policy.MAX_ATTEMPTS


# Credentials ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_upstream_auth_failure_is_502_provider_auth_logged_as_error(api, status, caplog):
    api.fake.always(Step(status=status, body=error_body(api.kind, status)))
    with caplog.at_level(logging.ERROR, logger="flaskllm"):
        response, _ = call(api)
    body = assert_problem(api, response, 502, "PROVIDER_AUTH")
    assert "operator" in body["detail"]
    assert api.fake.calls == 1  # a wrong key stays wrong: no retry
    alerts = [r for r in caplog.records if r.levelno == logging.ERROR
              and "credentials" in r.getMessage()]
    assert alerts and all(OPENAI_KEY not in r.getMessage() and ANTHROPIC_KEY not in
                          r.getMessage() for r in alerts)


# Typed output -----------------------------------------------------------------------------


def test_output_that_breaks_the_schema_is_repaired(api):
    api.fake.push(Step(answer=[{"text": "contract", "score": 7}]))  # score above 1
    response, _ = call(api, type="keywords")
    assert response.status_code == 200, response.text
    assert api.fake.calls == 2
    repair = api.fake.last.json["messages"]
    assert [m["role"] for m in repair[-3:]] == ["user", "assistant", "user"]
    assert '"score": 7' in repair[-2]["content"] and "not valid" in repair[-1]["content"]
    first, second = (r.answered["usage"] for r in api.fake.requests)
    key = "completion_tokens" if api.kind == "openai" else "output_tokens"
    assert response.json()["usage"]["output_tokens"] == first[key] + second[key]


def test_output_that_breaks_the_schema_twice_is_502_bad_output(api):
    api.fake.push(Step(answer={"label": "ecstatic", "score": 2}),
                  Step(answer={"label": "ecstatic", "score": 2}))
    response, _ = call(api, type="sentiment")
    body = assert_problem(api, response, 502, "PROVIDER_BAD_OUTPUT")
    assert "ecstatic" in body["detail"]
    assert api.fake.calls == 2


def test_entity_offsets_are_checked_against_the_prompt(api):
    api.fake.push(Step(answer=[{"text": "Jane Smith", "type": "PERSON", "start": 0, "end": 10}]))
    response, _ = call(api, type="entities")
    assert response.status_code == 200, response.text
    assert response.json()["data"] == [{"text": "Jane Smith", "type": "PERSON",
                                        "start": 35, "end": 45}]
    assert api.fake.calls == 1  # put right, no repair needed


def test_an_entity_not_in_the_prompt_gets_a_repair(api):
    api.fake.push(Step(answer=[{"text": "Bob Jones", "type": "PERSON", "start": 0, "end": 9}]))
    response, _ = call(api, type="entities")
    assert response.status_code == 200, response.text
    assert api.fake.calls == 2
    assert "Bob Jones" not in response.text


# Fallback ---------------------------------------------------------------------------------


@pytest.fixture
def pair(settings, openai_fake, anthropic_fake):
    """openai first, anthropic as its fallback."""
    api = start(settings, "openai", openai_fake, fallback_providers=("anthropic",),
                **provider_config("anthropic", anthropic_fake.url))
    api.second = anthropic_fake
    yield api
    api.client.__exit__(None, None, None)


def test_fallback_to_the_second_provider_after_5xx(pair):
    pair.fake.always(Step(status=500, body=error_body("openai", 500)))
    response, _ = call(pair, type="sentiment")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["provider"] == "anthropic" and body["model"] == "claude-test-0001"
    # The primary retries within its share (half the deadline) then falls back: whether
    # its last back-off still fits in that share depends on the jitter.
    assert 2 <= pair.fake.calls <= policy.MAX_ATTEMPTS and pair.second.calls == 1


def test_fallback_after_a_timeout_leaves_the_second_time_to_answer(pair):
    pair.fake.always(Step(hang=True))
    response, elapsed = call(pair)
    assert response.status_code == 200, response.text
    assert response.json()["provider"] == "anthropic"
    assert DEADLINE / 2 - 0.05 <= elapsed < DEADLINE  # the primary had half the time


def test_fallback_after_connection_refused(settings, anthropic_fake):
    dead = SimpleNamespace(url=f"http://127.0.0.1:{closed_port()}")
    api = start(settings, "openai", dead, fallback_providers=("anthropic",),
                **provider_config("anthropic", anthropic_fake.url))
    try:
        response, elapsed = call(api)
    finally:
        api.client.__exit__(None, None, None)
    assert response.status_code == 200 and response.json()["provider"] == "anthropic"
    assert elapsed < 0.5


def test_no_fallback_after_an_auth_failure_or_a_429(pair):
    pair.fake.push(Step(status=401, body=error_body("openai", 401)))
    response, _ = call(pair)
    assert_problem(pair, response, 502, "PROVIDER_AUTH")
    pair.fake.push(Step(status=429, headers={"Retry-After": "30"},
                        body=error_body("openai", 429)))
    response, _ = call(pair)
    assert_problem(pair, response, 429, "PROVIDER_RATE_LIMITED")
    assert pair.second.calls == 0


def test_every_provider_hanging_is_504_on_time(pair):
    pair.fake.always(Step(hang=True))
    pair.second.always(Step(hang=True))
    response, elapsed = call(pair)
    assert_problem(pair, response, 504, "PROVIDER_TIMEOUT")
    assert DEADLINE - 0.05 <= elapsed < DEADLINE + ON_TIME
    assert (pair.fake.calls, pair.second.calls) == (1, 1)
