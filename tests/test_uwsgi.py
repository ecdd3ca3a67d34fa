"""wsgi.py under uWSGI, the server PythonAnywhere runs, configured the way PythonAnywhere runs
it: a master that imports the app once and forks its workers (no lazy-apps), so the lazy
a2wsgi bridge must be built after the fork. Also: streaming through gunicorn.

Each server answers a POST, a batch and a stream from the fake OpenAI server, whose stream is
paced (one chunk every PACE seconds): the test checks the first delta reaches the client
before the fake has sent its last chunk, i.e. nothing on the way buffers the stream.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from fakes import OPENAI_KEY, openai_server
from fakes.server import FakeServer, Step
from flaskllm import db
from flaskllm.usage import Recorder
from test_wsgi import ROOT, free_port, wait_for, wsgi_env  # noqa: F401 (wsgi_env: fixture)

TOKEN = "w" * 40
PACE = 0.25  # seconds between two chunks of the fake's stream
STREAM_TEXT = "Chunks arrive one by one through the WSGI bridge"  # 10 words: ~2.5 s of stream


class PacedOpenAI:
    """The fake OpenAI server, with streamed answers sent one chunk every PACE seconds; it
    notes when it sent its last chunk."""

    def __init__(self):
        self.finished_at: float | None = None
        self.server = FakeServer(self._answer).start()

    def _answer(self, request, step):
        status, headers, payload = openai_server.answer(request, step)
        if isinstance(payload, (bytes, bytearray)):
            return status, headers, payload
        return status, headers, self._paced(payload)

    def _paced(self, chunks):
        for i, chunk in enumerate(chunks):
            if i:
                time.sleep(PACE)
            yield chunk
        self.finished_at = time.monotonic()


@pytest.fixture
def paced_openai():
    fake = PacedOpenAI()
    yield fake
    fake.server.stop()


@pytest.fixture
def openai_env(wsgi_env, paced_openai, tmp_path):
    return {**wsgi_env, "USAGE_SPOOL_FILE": str(tmp_path / "journal.jsonl"),
            "LLM_PROVIDER": "openai", "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_BASE_URL": paced_openai.server.url + "/v1", "OPENAI_MODEL": "gpt-test",
            "RATE_LIMIT_ENABLED": "false", "CACHE_TTL": "0", "LOG_LEVEL": "warning"}


def _bin(name: str) -> str:
    path = shutil.which(name, path=os.path.dirname(sys.executable))
    if path is None:
        pytest.fail(f"{name} is not installed next to {sys.executable} (it is in the dev extra)")
    return path


def check_serves(base: str, fake: PacedOpenAI, extra_headers: dict | None = None) -> None:
    """A POST, a batch and a stream that arrives in pieces."""
    # uWSGI's own HTTP router (PythonAnywhere puts nginx in front of it instead) closes each
    # connection after its response: ask for that, so the client never reuses a closed one.
    headers = {"X-API-Token": TOKEN, "Connection": "close", **(extra_headers or {})}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        one = http.post("/api/v1/webhook", json={"prompt": "Served by uWSGI.", "type": "summary"})
        assert one.status_code == 200, one.text
        assert one.json()["summary"] == "Summary: Served by uWSGI."
        assert one.json()["provider"] == "openai"

        texts = [f"Cell number {n} of the column." for n in range(6)]
        batch = http.post("/api/v1/webhook/batch", json={"texts": texts, "type": "summary"})
        assert batch.status_code == 200, batch.text
        body = batch.json()
        assert (body["succeeded"], body["failed"]) == (6, 0)
        assert [r["result"]["summary"] for r in body["results"]] == \
            [f"Summary: {t}" for t in texts]

        arrivals: list[tuple[float, str, dict]] = []
        started = time.monotonic()
        with http.stream("POST", "/api/v1/webhook/stream",
                         json={"prompt": STREAM_TEXT, "type": "summary"}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for name, data in _events(response.iter_lines()):
                arrivals.append((time.monotonic(), name, data))
    deltas = [(at, data["text"]) for at, name, data in arrivals if name == "delta"]
    assert arrivals[-1][1] == "done", arrivals
    assert "".join(text for _, text in deltas) == f"Summary: {STREAM_TEXT}"
    assert fake.finished_at is not None
    # The first delta came while the fake was still writing: the stream was not buffered.
    assert deltas[0][0] < fake.finished_at - 3 * PACE, (
        f"first delta after {deltas[0][0] - started:.2f}s, upstream finished after "
        f"{fake.finished_at - started:.2f}s")
    assert len({round(at / PACE) for at, _ in deltas}) >= 5  # spread out, not one burst


def _events(lines):
    name = None
    for line in lines:
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            yield name, json.loads(line[len("data: "):])


def _stop(proc: subprocess.Popen, sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    try:
        output = proc.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        output = proc.communicate()[0]
        pytest.fail("the server did not stop within 30 s:\n" + output.decode(errors="replace"))
    return proc.returncode, output.decode(errors="replace")


def uwsgi_command(port: int, *extra: str) -> list[str]:
    """PythonAnywhere-like: a master process, several workers forked after the app is
    imported (no --lazy-apps), the WSGI file by path."""
    return [_bin("uwsgi"), "--master", "--processes", "2", "--http", f"127.0.0.1:{port}",
            "--wsgi-file", str(ROOT / "wsgi.py"), "--chdir", str(ROOT),
            "--need-app", "--die-on-term", *extra]


@pytest.mark.parametrize("threads", [
    pytest.param(("--threads", "2"), id="threads"),
    # One request at a time per worker (no --threads): the bridge's event loop thread is the
    # worker's only other thread.
    pytest.param((), id="one-thread"),
])
def test_uwsgi_serves_wsgi_py(openai_env, paced_openai, threads):
    port = free_port()
    proc = subprocess.Popen(uwsgi_command(port, *threads), env=openai_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v1/health", timeout=90)  # a loaded machine
        check_serves(f"http://127.0.0.1:{port}", paced_openai)
        # Requests that overlap spread over both forked workers, each with its own bridge.
        paced_openai.server.always(Step(delay=0.5), times=6)
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(lambda n: httpx.post(
                f"http://127.0.0.1:{port}/api/v1/webhook", headers={"X-API-Token": TOKEN},
                json={"prompt": f"Overlapping request {n}.", "type": "summary"}, timeout=30),
                range(6)))
        assert [a.status_code for a in answers] == [200] * 6
    finally:
        code, output = _stop(proc, signal.SIGTERM) if proc.poll() is None else \
            (proc.returncode, proc.communicate()[0].decode(errors="replace"))
    assert code == 0, output
    assert "Traceback" not in output, output
    assert "goodbye to uWSGI" in output
    assert TOKEN not in output
    # uWSGI's request log names the worker: both served overlapping webhook requests.
    workers = set(re.findall(r"\[pid: (\d+)\|[^\n]*POST /api/v1/webhook ", output))
    assert len(workers) == 2, output
    # Every usage record is in the database, or in the journal for the next start (a stop
    # can cut a drain short): 1 + 6 batch items + 1 stream + 6 overlapping, each once.
    next_start = Recorder(db.create_engine(openai_env["DATABASE_URL"]),
                          openai_env["USAGE_SPOOL_FILE"])
    next_start.drain()
    next_start.engine.dispose()
    assert usage_records(openai_env) == 14


def usage_records(env: dict) -> int:
    engine = sa.create_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(db.usage_records)).scalar()
    finally:
        engine.dispose()


def test_uwsgi_stops_cleanly_on_sigint(openai_env):
    port = free_port()
    proc = subprocess.Popen(uwsgi_command(port, "--threads", "2"), env=openai_env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v1/health", timeout=90)  # a loaded machine
    finally:
        code, output = _stop(proc, signal.SIGINT)
    assert code == 0, output
    assert "Traceback" not in output, output


def test_gunicorn_streams(openai_env, paced_openai):
    port = free_port()
    proc = subprocess.Popen(
        [_bin("gunicorn"), "--workers", "2", "--threads", "2", "--bind", f"127.0.0.1:{port}",
         "--chdir", str(ROOT), "wsgi:application"],
        env=openai_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v1/health", timeout=90)  # a loaded machine
        check_serves(f"http://127.0.0.1:{port}", paced_openai)
    finally:
        code, output = _stop(proc, signal.SIGTERM)
    assert code == 0, output
    assert "Traceback" not in output, output
