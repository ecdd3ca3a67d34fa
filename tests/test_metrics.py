"""GET /metrics: who may read it, that it parses with prometheus-client's own parser, that its
counters agree with the usage table, and that several workers add up (METRICS_DIR)."""

from __future__ import annotations

import json
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from flaskllm import cli, metrics as metrics_module
from flaskllm.app import create_app
from flaskllm.settings import Settings
from flaskllm.usage import UsageRecord, report
from servers import clean_env, serve_processes

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def make_app(tmp_path, **overrides):
    values = dict(environment="test", database_url=f"sqlite:///{tmp_path / 'metrics.db'}",
                  rate_limit_enabled=False, usage_spool_file=str(tmp_path / "spool.jsonl"))
    values.update(overrides)
    return create_app(Settings.from_env(environ={}, env_file=None, **values))


def samples(text: str) -> dict[str, list]:
    """Every sample of the exposition by sample name (``flaskllm_requests_total``...)."""
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def total(found: dict, name: str, **labels: str) -> float:
    return sum(s.value for s in found.get(name, [])
               if all(s.labels.get(k) == v for k, v in labels.items()))


def scrape(client, token: str | None) -> dict[str, list]:
    response = client.get("/metrics", headers={"X-API-Token": token} if token else {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == CONTENT_TYPE
    return samples(response.text)


def test_metrics_need_an_admin_token_unless_public(tmp_path):
    app = make_app(tmp_path)
    admin = app.state.tokens.create("ops", admin=True)
    plain = app.state.tokens.create("sheet")
    with app.test_client() as client:
        # Prometheus sends a token as `Authorization: Bearer`; that works as X-API-Token does.
        for headers, status in [({}, 401), ({"X-API-Token": "fllm_wrong"}, 401),
                                ({"Authorization": "Bearer fllm_wrong"}, 401),
                                ({"X-API-Token": plain}, 403),
                                ({"Authorization": f"Bearer {plain}"}, 403),
                                ({"X-API-Token": admin}, 200),
                                ({"Authorization": f"Bearer {admin}"}, 200)]:
            response = client.get("/metrics", headers=headers)
            assert response.status_code == status, (headers, response.text)
            if status != 200:
                assert response.headers["content-type"] == "application/problem+json"
    public = make_app(tmp_path, metrics_public=True)
    with public.test_client() as client:
        assert "flaskllm_requests_in_flight" in scrape(client, None)


def record_and_observe(app, rec: UsageRecord) -> None:
    """What the pipeline does for each processed item."""
    app.state.usage.record(rec)
    app.state.metrics.observe_record(rec)


def test_counters_agree_with_the_usage_table(tmp_path):
    app = make_app(tmp_path)
    admin = app.state.tokens.create("ops", admin=True)
    prices = app.state.prices
    plan = [("webhook.create", "summary", "openai", "gpt-4o-mini", 1200, 300, 200, False),
            ("webhook.create", "summary", "openai", "gpt-4o-mini", 1200, 300, 200, True),
            ("webhook.batch", "keywords", "openai", "gpt-4.1-mini", 800, 90, 200, False),
            ("webhook.batch", "keywords", "openai", "gpt-4.1-mini", 0, 0, 502, False),
            ("webhook.stream", "summary", "anthropic", "claude-haiku-4-5", 2000, 400, 200, False),
            ("webhook.create", "sentiment", "offline", "offline-1", 30, 4, 200, False),
            ("webhook.create", "summary", "local", "my-own-model", 100, 50, 200, False)]
    for op, type_, provider, model, inp, out, status, cached in plan:
        record_and_observe(app, UsageRecord(
            request_id=uuid.uuid4().hex, token="sheet", operation=op, type=type_,
            provider=provider, model=model, input_tokens=inp, output_tokens=out,
            cost_usd=prices.cost(model, inp, out) if provider != "offline" else Decimal(0),
            latency=0.2, upstream_latency=None if cached else 0.15, status=status,
            cached=cached))
    table = report.build(app.state.engine, datetime.now(timezone.utc) - timedelta(hours=1))
    with app.test_client() as client:
        found = scrape(client, admin)
    t = table.totals
    assert total(found, "flaskllm_requests_total") == t.requests == len(plan)
    assert total(found, "flaskllm_requests_total", status="502") == t.errors == 1
    assert total(found, "flaskllm_requests_total", operation="webhook.batch",
                 type="keywords", provider="openai") == 2
    assert total(found, "flaskllm_tokens_total", direction="input") == t.input_tokens
    assert total(found, "flaskllm_tokens_total", direction="output") == t.output_tokens
    assert total(found, "flaskllm_cost_usd_total") == pytest.approx(float(t.cost_usd),
                                                                    abs=1e-9)
    for line in table.by_model:
        assert total(found, "flaskllm_cost_usd_total", model=line.key) == pytest.approx(
            float(line.cost_usd or 0), abs=1e-9)
    assert total(found, "flaskllm_unpriced_total") == t.unpriced == 1
    assert total(found, "flaskllm_cache_hits_total") == t.cached == 1
    assert total(found, "flaskllm_cache_misses_total") == t.requests - t.cached
    assert total(found, "flaskllm_request_latency_seconds_count") == t.requests
    assert total(found, "flaskllm_upstream_latency_seconds_count") == t.requests - t.cached


def test_http_answers_refusals_and_requests_in_flight(tmp_path):
    app = make_app(tmp_path, rate_limit_enabled=True, rate_limit="2/minute")
    admin = app.state.tokens.create("ops", admin=True)
    sheet = app.state.tokens.create("sheet")
    body = {"prompt": "I love this keyboard.", "type": "sentiment"}
    with app.test_client() as client:
        for _ in range(3):
            assert client.get("/api/v1/health").status_code == 200
        statuses = [client.post("/api/v1/webhook", json=body, headers={"X-API-Token": sheet})
                    .status_code for _ in range(4)]
        assert statuses == [200, 200, 429, 429]
        app.state.metrics.refused("BUDGET_EXCEEDED")  # as the pipeline does for a batch item
        app.state.metrics.refused("PROVIDER_ERROR")  # not a refusal: not counted
        found = scrape(client, admin)
    assert total(found, "flaskllm_http_requests_total", operation="health.get") == 3
    assert total(found, "flaskllm_http_requests_total", operation="webhook.create",
                 status="429") == 2
    assert total(found, "flaskllm_http_request_duration_seconds_count",
                 operation="webhook.create") == 4
    assert total(found, "flaskllm_rate_limited_total") == 2
    assert total(found, "flaskllm_budget_refused_total") == 1
    assert total(found, "flaskllm_requests_in_flight") == 1  # this scrape itself


def test_a_scripted_run_agrees_everywhere(tmp_path, monkeypatch, capsys):
    """N requests on the offline provider; then /metrics, GET /api/v1/usage and `flaskllm
    usage --format json` report the same requests and tokens."""
    app = make_app(tmp_path)
    admin = app.state.tokens.create("ops", admin=True)
    sheet = app.state.tokens.create("sheet")
    prompts = [f"Report {n}: the quarterly budget review is on Friday; finance wants every "
               f"team to cut cloud spending by {n} percent." for n in range(5)]
    with app.test_client() as client:
        answers = []
        for prompt in prompts + prompts[:2]:  # the last two are cache hits
            response = client.post("/api/v1/webhook", json={"prompt": prompt, "type": "keywords"},
                                   headers={"X-API-Token": sheet})
            assert response.status_code == 200
            answers.append(response.json())
        # The recorder writes in the app's event loop (the test client's): flush it there.
        client.portal.call(app.state.usage.flush)
        own = client.get("/api/v1/usage", headers={"X-API-Token": sheet}).json()
        found = scrape(client, admin)
    input_tokens = sum(a["usage"]["input_tokens"] for a in answers)
    output_tokens = sum(a["usage"]["output_tokens"] for a in answers)
    assert own["totals"]["requests"] == total(found, "flaskllm_requests_total") == len(answers)
    assert own["totals"]["cached"] == total(found, "flaskllm_cache_hits_total") == 2
    assert own["totals"]["input_tokens"] == total(
        found, "flaskllm_tokens_total", direction="input") == input_tokens
    assert own["totals"]["output_tokens"] == total(
        found, "flaskllm_tokens_total", direction="output") == output_tokens
    assert own["totals"]["cost_usd"] == total(found, "flaskllm_cost_usd_total") == 0
    monkeypatch.setenv("DATABASE_URL", app.state.settings.database_url)
    assert cli.main(["usage", "--since", "1h", "--token", "sheet", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["totals"] == own["totals"]


def test_several_workers_add_up(tmp_path):
    """`flaskllm serve --workers 2` with METRICS_DIR: whichever worker answers /metrics counts
    the requests every worker answered."""
    folder = tmp_path / "metrics"
    token = secrets.token_urlsafe(32)
    env = clean_env(ENVIRONMENT="production", API_TOKEN=token, LOG_LEVEL="warning",
                    DATABASE_URL=f"sqlite:///{tmp_path / 'workers.db'}", METRICS_DIR=str(folder),
                    RATE_LIMIT_ENABLED="false")
    procs: list = []
    with serve_processes(env, 1, tmp_path, args=("--workers", "2"), procs=procs) as (url,):
        # Separate connections, at the same time, so that both workers take some.
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: httpx.get(url + "/api/v1/health").status_code,
                                  range(40)))
        assert codes == [200] * 40
        for _ in range(3):  # any worker may answer the scrape: each sees every count
            response = httpx.get(url + "/metrics", headers={"X-API-Token": token})
            assert response.status_code == 200, response.text
            found = samples(response.text)
            assert total(found, "flaskllm_http_requests_total", operation="health.get") == 41
            assert total(found, "flaskllm_requests_in_flight") == 1
        writers = {path.stem.rsplit("_", 1)[1] for path in folder.glob("counter_*.db")}
        assert str(procs[0].pid) not in writers  # the supervisor's start-up check counts nothing


def test_dead_workers_leave_no_requests_in_flight(tmp_path):
    (tmp_path / "gauge_livesum_999999999.db").write_bytes(b"")
    (tmp_path / "gauge_livesum_1.db").write_bytes(b"")  # pid 1 runs: kept
    (tmp_path / "counter_999999999.db").write_bytes(b"")  # counters of the dead still count
    assert metrics_module.sweep_dead_workers(str(tmp_path)) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_999999999.db",
                                                          "gauge_livesum_1.db"]
