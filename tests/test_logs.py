"""Logs: one access line per request with what the request's steps recorded, JSON lines in
production and readable lines in development, never a token or (without LOG_PROMPTS) a
prompt; the end of each request also feeds the error-rate alert."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from decimal import Decimal

import pytest
import sqlalchemy as sa

from flaskllm import logs
from flaskllm.context import RequestContext
from flaskllm.app import create_app
from flaskllm.settings import Settings
from servers import clean_env

SECRET_PROMPT = "my salary is 123456 and my password is hunter2"


class Observed:
    """Stands in for the Alerter: remembers what the monitors were fed."""

    def __init__(self):
        self.calls: list[tuple] = []

    def observe(self, status, code=None, provider=None):
        self.calls.append((status, code, provider))

    async def aclose(self):
        pass


def access_lines(caplog) -> list[dict]:
    formatter = logs.JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records
            if r.name == "flaskllm.access"]


def test_one_access_line_per_request_with_its_fields(client, token, caplog):
    caplog.set_level(logging.DEBUG, logger="flaskllm.access")
    body = {"prompt": SECRET_PROMPT, "type": "sentiment"}
    client.post("/api/v1/webhook", json=body, headers={"X-API-Token": token,
                                                       "X-Request-ID": "req-123"})
    client.get("/api/v1/usage", headers={"X-API-Token": "fllm_not-a-real-token"})
    client.get("/api/v1/health")
    ok, refused, health = access_lines(caplog)
    assert ok["request_id"] == "req-123" and ok["status"] == 200
    assert (ok["method"], ok["path"], ok["operation"]) == ("POST", "/api/v1/webhook",
                                                          "webhook.create")
    assert ok["token"] == "tester" and ok["latency_ms"] >= 0
    assert (refused["status"], refused["code"], refused["operation"]) == (
        401, "UNAUTHORIZED", "usage.search")
    assert "token" not in refused
    assert health["level"] == "debug"  # health checks and scrapes stay out of INFO
    text = caplog.text + json.dumps([ok, refused, health])
    assert token not in text and "fllm_not-a-real-token" not in text
    assert SECRET_PROMPT not in text and "hunter2" not in text


@pytest.mark.parametrize("log_prompts", [False, True])
def test_the_prompt_is_logged_only_with_log_prompts(tmp_path, caplog, log_prompts):
    app = create_app(Settings.from_env(environ={}, env_file=None, environment="test",
                                       database_url=f"sqlite:///{tmp_path / 'l.db'}",
                                       log_prompts=log_prompts))
    caplog.set_level(logging.INFO, logger="flaskllm.access")
    scope = {"method": "POST", "path": "/api/v1/webhook",
             "extensions": {"connexion_routing": {
                 "operation_id": "flaskllm.operations.webhook.create"}}}
    ctx = RequestContext(request_id="rid-1")
    ctx.authenticated("sheet")
    ctx.used(type="summary", provider="offline", model="offline-1", cached=False,
             input_tokens=12, output_tokens=3, cost_usd=Decimal("0"), upstream_seconds=None,
             status=200, prompt=SECRET_PROMPT)
    logs.request_finished(app.state, scope, ctx, 200, 0.0123)
    (line,) = access_lines(caplog)
    assert line["operation"] == "webhook.create" and line["latency_ms"] == 12.3
    assert (line["provider"], line["model"], line["cache"]) == ("offline", "offline-1", "MISS")
    assert (line["input_tokens"], line["output_tokens"], line["cost_usd"]) == (12, 3, 0.0)
    assert (line.get("prompt") == SECRET_PROMPT) is log_prompts


def test_answers_feed_the_error_rate_monitor(tmp_path):
    app = create_app(Settings.from_env(environ={}, env_file=None, environment="test",
                                       database_url=f"sqlite:///{tmp_path / 'a.db'}"))
    app.state.engine = sa.create_engine(f"sqlite:///{tmp_path}/missing/dir/db.sqlite")
    observed = app.state.__dict__["alerts"] = Observed()
    scope = {"method": "POST", "path": "/api/v1/webhook"}
    logs.request_finished(app.state, scope, RequestContext(
        "r1", provider="openai", code="PROVIDER_ERROR"), 502, 0.1)
    logs.request_finished(app.state, scope, RequestContext(
        "r2", provider="offline", outcome=504, code="PROVIDER_TIMEOUT"), 200, 0.1)
    logs.request_finished(app.state, scope, RequestContext("r3", items=3), 200, 0.1)  # per item
    logs.request_finished(app.state, scope, RequestContext("r4", code="UNAUTHORIZED"), 401, 0.1)
    with app.test_client() as client:
        # The database is away: degraded, still 200, so no error for the alert either.
        assert client.get("/api/v1/health").status_code == 200
    logs.request_finished(app.state, scope, RequestContext("r5"), 500, 0.1)  # our own failure counts
    assert observed.calls == [(502, "PROVIDER_ERROR", "openai"),
                              (504, "PROVIDER_TIMEOUT", "offline"), (500, None, None)]


@pytest.mark.parametrize("fmt", ["json", "plain"])
def test_log_format_json_in_production_plain_in_development(tmp_path, fmt):
    """In a fresh process (no host logging set up), as `flaskllm serve` runs it."""
    script = (
        "from flaskllm.app import create_app\n"
        "app = create_app()\n"
        "token = app.state.tokens.create('sheet')\n"
        "with app.test_client() as c:\n"
        "    c.post('/api/v1/webhook', json={'prompt': 'Fine.', 'type': 'sentiment'},\n"
        "           headers={'X-API-Token': token})\n"
        "print(token)\n")
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'f.db'}",
                    **({"ENVIRONMENT": "production", "API_TOKEN": "p" * 40} if fmt == "json"
                       else {"ENVIRONMENT": "development"}))
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    lines = [line for line in done.stderr.splitlines() if "/api/v1/webhook" in line]
    assert len(lines) == 1, done.stderr
    if fmt == "json":
        line = json.loads(lines[0])
        assert line["logger"] == "flaskllm.access" and line["status"] == 200
        assert line["token"] == "sheet" and line["request_id"] != "-"
    else:
        assert " INFO flaskllm.access [" in lines[0]
        assert "POST /api/v1/webhook 200" in lines[0] and "token=sheet" in lines[0]
    assert token not in done.stderr and "p" * 40 not in done.stderr
