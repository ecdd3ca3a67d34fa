"""wsgi.py under gunicorn (issue 14): one token per request as under uvicorn, and slow
clients do not block the others with the gthread worker (the deployment docs/scaling.md
recommends; the sync worker gives each stalled connection a whole worker)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest

from test_slow_clients import loads_uvloop
from test_wsgi import ROOT, free_port, wait_for, wsgi_env  # noqa: F401 (a fixture)

TOKEN = "w" * 40


@pytest.fixture
def gthread(wsgi_env):  # noqa: F811
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    if gunicorn is None:
        pytest.fail("gunicorn is not installed (it is in the dev extra)")
    port = free_port()
    proc = subprocess.Popen(
        [gunicorn, "--workers", "1", "--worker-class", "gthread", "--threads", "4",
         "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "wsgi:application"],
        env=wsgi_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v1/health")
        yield port
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode(errors="replace")
        assert "Traceback" not in output, output[-3000:]


def raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_two_token_headers_are_ambiguous_under_gunicorn(gthread):
    body = b'{"prompt": "One token, please."}'
    for second in (TOKEN, "wrong"):
        answer = raw(gthread, (
            f"POST /api/v1/webhook HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"X-API-Token: {TOKEN}\r\nX-API-Token: {second}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body)
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
        assert b'"code":"AMBIGUOUS_CREDENTIALS"' in answer


def stall(port: int, count: int) -> list[socket.socket]:
    stalled = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"POST /api/v1/webhook HTTP/1.1\r\nHost: x\r\nX-API-")
        stalled.append(sock)
    return stalled


def test_stalled_heads_hold_gthread_threads(gthread):
    """What docs/scaling.md says: gunicorn's own workers wait for a head without a
    deadline, so a few stalled connections hold every thread; /health waits."""
    stalled = stall(gthread, 8)  # twice the worker's threads
    try:
        time.sleep(0.5)
        with pytest.raises(httpx.TimeoutException):
            httpx.get(f"http://127.0.0.1:{gthread}/api/v1/health", timeout=3)
    finally:
        for sock in stalled:
            sock.close()


def test_the_uvicorn_worker_closes_stalled_heads(wsgi_env):  # noqa: F811
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    port = free_port()
    env = {**wsgi_env, "REQUEST_READ_TIMEOUT": "2"}
    proc = subprocess.Popen(
        [gunicorn, "--workers", "1", "--worker-class", "flaskllm.worker.UvicornWorker",
         "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT), "flaskllm.cli:serving_app()"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v1/health")
        stalled = stall(port, 50)
        started = time.monotonic()
        for _ in range(5):
            began = time.perf_counter()
            assert httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5).status_code \
                == 200
            assert time.perf_counter() - began < 1.0  # loose: a shared machine; not blocked
        for sock in stalled:
            sock.settimeout(5)
            assert sock.recv(1024) == b""  # closed by the server
        assert time.monotonic() - started < 2 + 1
        for sock in stalled:
            sock.close()
        # The same event loop as `flaskllm serve`: asyncio's (flaskllm/deadlines.py).
        workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                 text=True).stdout.split()
        assert workers and not any(loads_uvloop(int(pid)) for pid in workers)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0].decode(errors="replace")
    assert "Traceback" not in output, output[-3000:]
