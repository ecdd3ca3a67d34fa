"""The Swagger console in a real browser: Debian's Chromium, headless, driven by Playwright
(no browser download: Playwright launches /usr/bin/chromium). It must load, accept a token
through Authorize, and run POST /api/v1/webhook with "Try it out" to a 200 with the result.

Skips without Chromium or Playwright unless FLASKLLM_REQUIRE_SERVICES=1 (CI), where it fails:
.ci/run installs Chromium. The screenshot goes to pytest's tmp dir (printed with -s)."""

from __future__ import annotations

import re

import pytest

from browser import chromium_page, live_server
from flaskllm.app import create_app
from flaskllm.settings import Settings


@pytest.fixture
def console_app(tmp_path):
    """The app and a token for it."""
    app = create_app(Settings.from_env(environ={}, env_file=None, environment="test",
                                       database_url=f"sqlite:///{tmp_path / 'console.db'}",
                                       rate_limit_enabled=False))
    return app, app.state.tokens.create("console")


def test_swagger_console_authorize_and_try_it_out(console_app, tmp_path):
    app, token = console_app
    with live_server(app) as base, chromium_page(tmp_path) as page:
        from playwright.sync_api import expect

        page.goto(f"{base}/api/v1/ui/")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("FlaskLLM")

        page.locator(".auth-wrapper button.authorize").click()
        dialog = page.locator(".modal-ux")
        # One form per security scheme (BearerAuth is for GET /metrics): ApiKeyAuth's.
        form = dialog.locator(".auth-container").filter(has_text="ApiKeyAuth")
        form.locator("input").first.fill(token)
        form.get_by_role("button", name="Authorize", exact=True).click()
        # Swagger UI swaps Authorize for Logout once it holds the token.
        expect(form.get_by_role("button", name="Logout")).to_be_visible()
        dialog.get_by_role("button", name="Close").first.click()

        # Swagger UI's id for it is operations-webhook-webhook\.create (a literal backslash).
        operation = page.locator('[id^="operations-webhook-webhook"][id$="create"]')
        operation.locator(".opblock-summary").click()
        operation.get_by_role("button", name="Try it out").click()
        # The editor holds the spec's first example, not a schema sample (see app.py).
        expect(operation.locator("textarea.body-param__text")).to_have_value(
            re.compile(r'"type": "keywords"'))
        operation.locator("button.execute").click()

        response = operation.locator(".live-responses-table .response").first
        expect(response.locator(".response-col_status")).to_contain_text("200")
        body = response.locator(".response-col_description")
        expect(body).to_contain_text('"type": "keywords"')
        expect(body).to_contain_text('"provider": "offline"')
        expect(operation.locator(".request-url")).to_contain_text("/api/v1/webhook")
        shot = tmp_path / "swagger-console.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
