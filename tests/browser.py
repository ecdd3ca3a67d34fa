"""Headless Chromium for tests: Debian's chromium driven by Playwright (no browser download:
Playwright launches /usr/bin/chromium), and the app under uvicorn in a thread for it to load.

    with live_server(app) as base, chromium_page(tmp_path) as page:
        page.goto(base + "/dashboard")

Without Chromium or the playwright package these skip, unless FLASKLLM_REQUIRE_SERVICES=1
(CI), where they fail: .ci/run installs Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require(what: str, present: bool) -> None:
    if present:
        return
    if os.environ.get("FLASKLLM_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is missing and FLASKLLM_REQUIRE_SERVICES=1")
    pytest.skip(f"{what} is missing (apt-get install chromium; pip install playwright)")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    require("Chromium (Debian's chromium package)", found is not None)
    return found


@contextlib.contextmanager
def live_server(app: Any) -> Iterator[str]:
    """``app`` under uvicorn in a thread, on a free port; yields its base URL."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           access_log=False, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def chromium_page(tmp_path: Path, width: int = 1280, height: int = 2000) -> Iterator[Any]:
    """A Playwright page in headless Chromium with a throwaway profile."""
    executable = chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("The playwright Python package", False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=executable, headless=True,
            args=CHROMIUM_FLAGS, viewport={"width": width, "height": height})
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()
