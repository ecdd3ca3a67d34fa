"""Schemathesis over the provider-facing operations with the openai provider configured
against the fake OpenAI server: whatever it generates, every answer matches the spec (typed
data included) and nothing is a 5xx. The offline default is covered by test_schemathesis.py."""

from __future__ import annotations

import json
import tempfile

import pytest
import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings

from fakes import openai_server, provider_config
from flaskllm.app import create_app
from flaskllm.settings import Settings

# Schemathesis builds its tests at collection time, so the fake and the app are made at import.
FAKE = openai_server.start()
_DB_DIR = tempfile.mkdtemp(prefix="flaskllm-schemathesis-openai-")
APP = create_app(Settings.from_env(
    environ={}, env_file=None, environment="test", llm_provider="openai",
    database_url=f"sqlite:///{_DB_DIR}/schemathesis.db", rate_limit_enabled=False,
    cache_ttl=0, **{**provider_config("openai", FAKE.url),
                    "openai_model": "gpt-4.1-mini"}))  # the model the /v1 examples name
TOKEN = APP.state.tokens.create("schemathesis")
CASES = []  # the generated requests sent in this session

schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP).include(
    path_regex=r"^/(api/v1/(webhook|templates)|v1/chat/completions)$")


@pytest.fixture(scope="module", autouse=True)
def _stop_the_fake():
    yield
    FAKE.stop()


@schema.parametrize()
@hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_provider_api_conforms_to_its_spec(case):
    CASES.append(case)
    # The OpenAI-compatible /v1 operations take the token as a bearer token.
    header = {"Authorization": f"Bearer {TOKEN}"} if case.path.startswith("/v1/") \
        else {"X-API-Token": TOKEN}
    case.call_and_validate(headers=header)


def test_the_runs_above_reached_the_fake_provider():
    # Guards against a run that only produced 4xx (it would pass without testing providers).
    if not any(case.operation.method.upper() == "POST" for case in CASES):
        pytest.skip("the schemathesis run of POST /api/v1/webhook was not selected")
    assert FAKE.calls >= 10
    assert any((r.json or {}).get("response_format") for r in FAKE.requests)
    if any(case.path == "/v1/chat/completions" for case in CASES):
        # Chat completions reached it too: their messages are the request's, not a template's
        # (templates put the text between <text> tags).
        assert any("<text>" not in json.dumps((r.json or {}).get("messages"))
                   for r in FAKE.requests)
