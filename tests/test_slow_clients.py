"""Slow clients under `flaskllm serve` (issue 14, item 4): a connection that sends half a
request is closed within REQUEST_READ_TIMEOUT (+ 1 s), /health stays quick meanwhile, and
the memory they held is given back; a client that leaves mid-body is a 499 at INFO, not an
error. The head's deadline is flaskllm/deadlines.py; the body's, RequestBodyMiddleware. The
server runs asyncio's event loop, not uvloop (deadlines.py says why)."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
from pathlib import Path

import httpx
import pytest

from servers import clean_env, serve_processes

READ_TIMEOUT = 2.0
CONNECTIONS = 200
WEBHOOK = "/api/v1/webhook"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def halves(token: str) -> list[bytes]:
    """Half a head (no blank line yet), and a whole head with half its body."""
    body = json.dumps({"prompt": "A slow client sends this prompt very slowly."}).encode()
    head = (f"POST {WEBHOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-API-Token: {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    return [head[: len(head) // 2], head + body[: len(body) // 2]]


async def hold(port: int, data: bytes) -> tuple[float, bytes]:
    """Send ``data``, then wait for the server to close; (seconds, what it answered)."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    answer = b""
    while chunk := await reader.read(65536):
        answer += chunk
    seconds = time.monotonic() - started
    writer.close()
    return seconds, answer


@pytest.fixture
def server(tmp_path):
    token = secrets.token_urlsafe(32)
    env = clean_env(ENVIRONMENT="production", API_TOKEN=token, LOG_LEVEL="info",
                    REQUEST_READ_TIMEOUT=str(READ_TIMEOUT),
                    DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}")
    procs: list = []
    with serve_processes(env, 1, tmp_path, procs=procs) as (url,):
        yield url, token, procs[0], tmp_path / "server0.log"


def test_half_requests_are_closed_in_time_and_memory_comes_back(server):
    url, token, proc, log = server
    port = int(url.rsplit(":", 1)[1])
    with httpx.Client(timeout=5) as http:
        for _ in range(20):  # warm: the first requests build what every later one reuses
            assert http.post(url + WEBHOOK, json={"prompt": "Warm up, please."},
                             headers={"X-API-Token": token}).status_code == 200
    before = rss_kb(proc.pid)
    health: list[float] = []
    stop = threading.Event()

    def poll_health():
        with httpx.Client(timeout=5) as http:
            while not stop.is_set():
                started = time.perf_counter()
                assert http.get(url + "/api/v1/health").status_code == 200
                health.append(time.perf_counter() - started)
                time.sleep(0.1)

    async def main():
        parts = halves(token)
        return await asyncio.gather(*(hold(port, parts[i % 2]) for i in range(CONNECTIONS)))

    poller = threading.Thread(target=poll_health)
    poller.start()
    try:
        held = asyncio.run(main())
    finally:
        stop.set()
        poller.join()
    time.sleep(1)
    after = rss_kb(proc.pid)

    assert max(seconds for seconds, _ in held) < READ_TIMEOUT + 1, sorted(held)[-3:]
    assert min(seconds for seconds, _ in held) >= READ_TIMEOUT - 0.1
    # A half head is closed without an answer; half a body gets its 408 problem.
    bodies = [answer for i, (_, answer) in enumerate(held) if i % 2]
    assert all(b"408 Request Timeout" in a.split(b"\r\n", 1)[0] for a in bodies), bodies[:2]
    assert all(b'"code":"REQUEST_TIMEOUT"' in a for a in bodies)
    assert all(answer == b"" for i, (_, answer) in enumerate(held) if i % 2 == 0)
    health.sort()
    assert health and health[len(health) // 2] < 0.1, health  # the median: a shared machine
    assert health[-1] < 0.5, health
    assert after - before < 10 * 1024, (before, after)
    text = log.read_text()
    assert "Traceback" not in text and '"level": "error"' not in text, text[-3000:]


def test_a_client_that_leaves_mid_body_is_a_499_at_info(server):
    url, token, _proc, log = server
    port = int(url.rsplit(":", 1)[1])

    async def leave():
        _, partial = halves(token)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(partial)
        await writer.drain()
        await asyncio.sleep(0.3)
        writer.close()
        await writer.wait_closed()

    asyncio.run(leave())
    deadline = time.monotonic() + 10
    while '"status": 499' not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = [json.loads(line) for line in log.read_text().splitlines()
             if line.startswith("{") and '"status": 499' in line]
    assert lines and lines[0]["level"] == "info" and lines[0]["code"] == "CLIENT_DISCONNECTED"
    with httpx.Client(timeout=5) as http:
        metrics = http.get(url + "/metrics", headers={"X-API-Token": token}).text
    assert 'status="499"' in metrics or 'code="499"' in metrics
    assert not [m for m in metrics.splitlines()
                if m.startswith("flaskllm_http_requests_total") and 'status="5' in m], metrics
    text = log.read_text()
    assert "Traceback" not in text and '"level": "error"' not in text, text[-3000:]


def loads_uvloop(pid: int) -> bool:
    """Whether the process has uvloop's extension mapped (uvicorn's "auto" loop imports it)."""
    return "/uvloop/" in Path(f"/proc/{pid}/maps").read_text()


def test_the_server_runs_asyncios_loop_not_uvloop(server):
    """uvloop (libuv) accepts one connection per turn of its loop, so under load new clients
    waited seconds in the kernel's queue (flaskllm/deadlines.py, measured with bench/).
    uvicorn would pick it by itself, as it is installed here; the running server must not."""
    pytest.importorskip("uvloop", reason="uvloop is not installed: nothing would pick it")
    url, token, proc, _log = server
    assert httpx.get(url + "/api/v1/health", timeout=5).status_code == 200
    assert not loads_uvloop(proc.pid)
