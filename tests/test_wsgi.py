"""wsgi.py under a real WSGI server (gunicorn's sync worker), answering over HTTP."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not come up within {timeout}s")


@pytest.fixture
def wsgi_env(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI", "ANTHROPIC", "LLM_", "API_TOKEN", "DATABASE_URL"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'wsgi.db'}", API_TOKEN="w" * 40,
               PYTHONPATH=str(ROOT), ENVIRONMENT="test")
    return env


def test_gunicorn_serves_wsgi_py(wsgi_env):
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    if gunicorn is None:
        pytest.fail("gunicorn is not installed (it is in the dev extra)")
    port = free_port()
    proc = subprocess.Popen(
        [gunicorn, "--workers", "2", "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
         "--chdir", str(ROOT), "wsgi:application"],
        env=wsgi_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v1/health")
        response = httpx.post(f"http://127.0.0.1:{port}/api/v1/webhook",
                              json={"prompt": "Served through WSGI. The sentiment is great!",
                                    "type": "sentiment"},
                              headers={"X-API-Token": "w" * 40}, timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["data"]["label"] == "positive"
        denied = httpx.post(f"http://127.0.0.1:{port}/api/v1/webhook", json={"prompt": "x"},
                            timeout=30)
        assert denied.status_code == 401
        assert denied.headers["content-type"] == "application/problem+json"
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert "w" * 40 not in output  # the token never reaches the logs
