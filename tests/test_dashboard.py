"""The dashboard in a real browser (headless Chromium, tests/browser.py): it loads, asks for an
admin token, and draws its charts from usage recorded through the app's recorder; the numbers
on the bars are read back and compared with what was recorded. A screenshot goes to pytest's
tmp dir (printed with -s)."""

from __future__ import annotations

import re
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from browser import chromium_page, live_server
from flaskllm.app import create_app
from flaskllm.settings import Settings
from flaskllm.usage import UsageRecord

NOW = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
# (days ago, token, model, type, input, output, status, cached): a week of two sheets' usage.
PLAN = [
    (6, "finance-sheet", "gpt-4o-mini", "summary", 1200, 300, 200, False),
    (5, "finance-sheet", "gpt-4o-mini", "keywords", 800, 120, 200, False),
    (5, "sales-sheet", "claude-haiku-4-5", "sentiment", 400, 40, 200, False),
    (3, "finance-sheet", "gpt-4o-mini", "summary", 1200, 300, 200, True),
    (3, "sales-sheet", "claude-haiku-4-5", "sentiment", 450, 40, 502, False),
    (2, "sales-sheet", "gpt-4o-mini", "entities", 900, 200, 200, False),
    (1, "finance-sheet", "gpt-4o-mini", "keywords", 700, 90, 200, True),
    (0, "finance-sheet", "gpt-4o-mini", "summary", 1500, 350, 200, False),
    (0, "sales-sheet", "claude-haiku-4-5", "sentiment", 300, 30, 200, True),
    (0, "ops-sheet", "gpt-4o-mini", "summary", 2000, 500, 429, False),
]


@pytest.fixture
def recorded(tmp_path):
    """An app whose usage table holds PLAN, and an admin token and a plain one."""
    app = create_app(Settings.from_env(environ={}, env_file=None, environment="test",
                                       database_url=f"sqlite:///{tmp_path / 'dash.db'}",
                                       rate_limit_enabled=False,
                                       usage_spool_file=str(tmp_path / "spool.jsonl")))
    prices = app.state.prices
    records = []
    for ago, token, model, type_, inp, out, status, cached in PLAN:
        records.append(UsageRecord(
            request_id=uuid.uuid4().hex, token=token, operation="webhook.create", type=type_,
            provider="anthropic" if model.startswith("claude") else "openai", model=model,
            input_tokens=inp, output_tokens=out, cost_usd=prices.cost(model, inp, out),
            latency=0.4, upstream_latency=None if cached else 0.35, status=status,
            error_code=None if status < 400 else "PROVIDER_ERROR", cached=cached,
            created_at=NOW - timedelta(days=ago)))
    for rec in records:
        app.state.usage.record(rec)  # outside an event loop: stored at once
    admin = app.state.tokens.create("dash-admin", admin=True)
    plain = app.state.tokens.create("dash-user")
    return app, records, admin, plain


def _values(page, selector: str) -> dict[str, float]:
    return {key: float(value) for key, value in page.eval_on_selector_all(
        selector, "els => els.map(e => [e.dataset.key, e.dataset.value])")}


def test_dashboard_draws_recorded_usage(recorded, tmp_path):
    app, records, admin, _ = recorded
    by_day, cost_by_day, by_token = Counter(), defaultdict(Decimal), Counter()
    for rec in records:
        day = rec.created_at.strftime("%Y-%m-%d")
        by_day[day] += 1
        cost_by_day[day] += rec.cost_usd or 0
        by_token[rec.token] += 1
    total_cost = sum(cost_by_day.values())

    with live_server(app) as base, chromium_page(tmp_path, height=900) as page:
        from playwright.sync_api import expect

        requests, problems = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.goto(f"{base}/dashboard")
        expect(page.locator("#token")).to_be_visible()
        expect(page.locator("#report")).to_be_hidden()

        page.fill("#token", admin)
        page.click("#show")
        expect(page.locator("body")).to_have_attribute("data-state", "ready")
        expect(page.locator("#total-requests")).to_have_text(str(len(records)))

        tiles = {name: page.get_attribute(f"#total-{name}", "data-value")
                 for name in ("requests", "cost", "hit-rate", "errors")}
        assert int(tiles["requests"]) == len(records)
        assert Decimal(tiles["cost"]) == total_cost
        assert float(tiles["hit-rate"]) == pytest.approx(3 / len(records))
        assert int(tiles["errors"]) == 2

        # Seven days of bars, the recorded ones with their counts, the others at 0.
        requests_by_day = _values(page, "#chart-requests rect.bar")
        assert len(requests_by_day) == 7
        assert {d: v for d, v in requests_by_day.items() if v} == {d: float(n)
                                                                 for d, n in by_day.items()}
        cost = _values(page, "#chart-cost rect.bar")
        for day, spent in cost_by_day.items():
            assert cost[day] == pytest.approx(float(spent), abs=1e-9)
        assert _values(page, "#chart-errors rect.bar")[NOW.strftime("%Y-%m-%d")] == 1
        cache = _values(page, "#chart-cache circle.point")
        assert cache[NOW.strftime("%Y-%m-%d")] == pytest.approx(1 / 3)
        assert page.locator("#chart-cache polyline").count() == 1
        assert _values(page, "#chart-tokens rect.bar") == {k: float(v) for k, v in
                                                           by_token.items()}
        assert set(_values(page, "#chart-models rect.bar")) == {"gpt-4o-mini",
                                                                 "claude-haiku-4-5"}
        # Bars are drawn to scale: the busiest token's bar is the longest.
        widths = dict(page.eval_on_selector_all(
            "#chart-tokens rect.bar",
            "els => els.map(e => [e.dataset.key, e.width.baseVal.value])"))
        assert widths["finance-sheet"] > widths["sales-sheet"] > widths["ops-sheet"] > 0

        # The token lives in this tab's sessionStorage only, and is out of the form.
        assert page.evaluate("sessionStorage.getItem('flaskllm.adminToken')") == admin
        assert page.evaluate("localStorage.length") == 0
        assert page.input_value("#token") == ""
        assert all(url.startswith(base) for url in requests), requests
        assert problems == []  # no script errors, nothing the page's CSP refused

        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
        assert shot.stat().st_size > 10_000


def test_dashboard_refuses_a_token_without_the_admin_scope(recorded, tmp_path):
    app, _, admin, plain = recorded
    with live_server(app) as base, chromium_page(tmp_path, height=900) as page:
        from playwright.sync_api import expect

        page.goto(f"{base}/dashboard")
        page.fill("#token", plain)
        page.click("#show")
        expect(page.locator("#error")).to_contain_text(re.compile("admin scope"))
        expect(page.locator("#report")).to_be_hidden()
        assert page.evaluate("sessionStorage.getItem('flaskllm.adminToken')") is None

        # An admin token then works, and survives a reload of the tab.
        page.fill("#token", admin)
        page.click("#show")
        expect(page.locator("body")).to_have_attribute("data-state", "ready")
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-state", "ready")
        page.click("#forget")
        expect(page.locator("#report")).to_be_hidden()
        assert page.evaluate("sessionStorage.getItem('flaskllm.adminToken')") is None


def test_dashboard_page_is_static_and_locked_down(client):
    page = client.get("/dashboard")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert f'<script nonce="{nonce}">' in page.text and "http://" not in page.text.replace(
        "http://www.w3.org/2000/svg", "")
    assert client.get("/dashboard").headers["content-security-policy"] != policy  # per response


def test_dashboard_manages_tokens_and_shows_refusals(recorded, tmp_path):
    """Sign in by the link `flaskllm serve` prints (#token=…), see a refused request, then
    create a token (shown once, copied), edit its budgets and revoke it, all through the page
    and the admin API; the token works, then gets 401."""
    import httpx

    app, _, admin, _ = recorded
    webhook = {"prompt": "Tokens made in the dashboard work at once.", "type": "summary"}
    with live_server(app) as base, chromium_page(tmp_path, height=1400) as page:
        from playwright.sync_api import expect

        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        problems = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        assert httpx.post(f"{base}/api/v1/webhook", json=webhook,
                          headers={"X-API-Token": "fllm_wrong"}).status_code == 401

        page.goto(f"{base}/dashboard#token={admin}")
        expect(page.locator("body")).to_have_attribute("data-tokens", "ready")
        assert page.evaluate("location.hash") == ""  # out of the address bar
        assert page.evaluate("sessionStorage.getItem('flaskllm.adminToken')") == admin
        expect(page.locator("#total-refused")).to_have_attribute("data-value", re.compile("[1-9]"))
        expect(page.locator('#refused tr[data-code="UNAUTHORIZED"]')).to_have_attribute(
            "data-value", "1")
        names = page.eval_on_selector_all("#tokens tbody tr", "rows => rows.map(r => r.dataset.name)")
        assert names == ["dash-admin", "dash-user"]

        page.fill("#new-name", "excel-team")
        page.fill("#new-daily", "2.5")
        page.click("#create")
        expect(page.locator("#created")).to_be_visible()
        token = page.text_content("#created-token")
        assert token.startswith("fllm_")
        page.click("#copy")
        expect(page.locator("#copied")).to_be_visible()
        assert page.evaluate("navigator.clipboard.readText()") == token
        row = page.locator('#tokens tr[data-name="excel-team"]')
        expect(row.locator(".limit-daily")).to_have_text("$2.50")
        page.click("#created-done")
        assert page.text_content("#created-token") == ""
        used = httpx.post(f"{base}/api/v1/webhook", json=webhook, headers={"X-API-Token": token})
        assert used.status_code == 200, used.text

        row.locator("button.edit").click()
        row.locator("input.edit-monthly").fill("20")
        row.locator("input.edit-daily").fill("")
        row.locator("button.save").click()
        expect(row.locator(".limit-monthly")).to_have_text("$20.00")
        expect(row.locator(".limit-daily")).to_have_text("–")
        limits = httpx.get(f"{base}/api/v1/usage", headers={"X-API-Token": token}).json()[
            "budget"]["limits"]
        assert limits == {"daily_usd": None, "monthly_usd": 20.0, "daily_requests": None}

        row.locator("button.revoke").click()
        expect(row).to_have_attribute("data-revoked", "false")  # the first click only asks
        row.locator("button.revoke").click()
        expect(row).to_have_attribute("data-revoked", "true")
        refused = httpx.post(f"{base}/api/v1/webhook", json=webhook, headers={"X-API-Token": token})
        assert refused.status_code == 401
        audit = httpx.get(f"{base}/api/v1/admin/audit?token=excel-team",
                          headers={"X-API-Token": admin}).json()["entries"]
        assert [(e["action"], e["actor"]) for e in audit] == [
            ("revoke", "dash-admin"), ("update", "dash-admin"), ("create", "dash-admin")]
        assert token not in str(audit)
        assert problems == []
        page.screenshot(path=str(tmp_path / "dashboard-tokens.png"), full_page=True)
