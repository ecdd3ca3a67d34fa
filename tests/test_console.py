"""The Swagger console in a real browser: Debian's Chromium, headless, driven by Playwright
(no browser download: Playwright launches /usr/bin/chromium). It must load, accept a token
through Authorize, and run POST /api/v1/webhook with "Try it out" to a 200 with the result.

Skips without Chromium or Playwright unless FLASKLLM_REQUIRE_SERVICES=1 (CI), where it fails:
.ci/run installs Chromium. The screenshot goes to pytest's tmp dir (printed with -s)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time

import pytest

from flaskllm.app import create_app
from flaskllm.settings import Settings

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _require(what: str, present: bool) -> None:
    if present:
        return
    if os.environ.get("FLASKLLM_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is missing and FLASKLLM_REQUIRE_SERVICES=1")
    pytest.skip(f"{what} is missing (apt-get install chromium; pip install playwright)")


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    _require("Chromium (Debian's chromium package)", found is not None)
    return found


@pytest.fixture
def live_server(tmp_path):
    """The app under uvicorn in a thread, on a free port; yields (base URL, token)."""
    import uvicorn

    app = create_app(Settings.from_env(environ={}, env_file=None, environment="test",
                                       database_url=f"sqlite:///{tmp_path / 'console.db'}",
                                       rate_limit_enabled=False))
    token = app.state.tokens.create("console")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", token
    server.should_exit = True
    thread.join(timeout=10)


def test_swagger_console_authorize_and_try_it_out(live_server, tmp_path):
    chromium = _chromium()
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        _require("The playwright Python package", False)
    base, token = live_server

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=chromium, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": 1280, "height": 2000})
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{base}/api/v1/ui/")
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("FlaskLLM")

            page.locator(".auth-wrapper button.authorize").click()
            dialog = page.locator(".modal-ux")
            dialog.locator("input").first.fill(token)
            dialog.get_by_role("button", name="Authorize", exact=True).click()
            # Swagger UI swaps Authorize for Logout once it holds the token.
            expect(dialog.get_by_role("button", name="Logout")).to_be_visible()
            dialog.get_by_role("button", name="Close").click()

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
        finally:
            browser.close()
