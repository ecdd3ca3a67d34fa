"""POST /api/v1/webhook/stream: deltas as the provider writes them, then done or error; a
client that leaves cancels the upstream call; incremental through wsgi.py too."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from fakes import OPENAI_KEY, provider_settings
from fakes.openai_server import _chunks
from fakes.server import FakeServer, sse
from flaskllm.app import create_app
from test_wsgi import free_port, wait_for

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["The", "launch", "moves", "to", "March", "15."]


class GatedStream:
    """An OpenAI-compatible upstream whose stream sends the first word, then waits for the
    test to open the gate (or, with ``drip``, keeps sending a word every 50 ms); it records
    whether it was cut off before it finished."""

    def __init__(self, *, fail_after_first: bool = False, drip: bool = False):
        self.gate = threading.Event()
        self.finished = threading.Event()
        self.aborted = threading.Event()
        self.sent = 0
        self.fail_after_first = fail_after_first
        self.drip = drip
        self.server = FakeServer(self._answer).start()

    def _answer(self, request, step):
        return 200, {"Content-Type": "text/event-stream"}, self._events()

    def _events(self):
        usage = {"prompt_tokens": 12, "completion_tokens": len(WORDS), "total_tokens": 18}
        chunks = list(sse(_chunks("gpt-test-0001", " ".join(WORDS), usage)))
        try:
            yield chunks[0]  # role
            yield chunks[1]  # the first word
            self.sent = 1
            if self.fail_after_first:
                raise ConnectionResetError("the upstream dies mid-stream")
            if self.drip:
                for _ in range(200):  # 10 s of words, unless the reader goes away
                    time.sleep(0.05)
                    yield chunks[2]
                    self.sent += 1
            else:
                self.gate.wait(10)
            yield from chunks[2:]
            self.finished.set()
        finally:
            if not self.finished.is_set():
                self.aborted.set()

    def stop(self):
        self.gate.set()
        self.server.stop()


@pytest.fixture
def gated():
    fakes = []

    def make(**kwargs):
        fake = GatedStream(**kwargs)
        fakes.append(fake)
        return fake

    yield make
    for fake in fakes:
        fake.stop()


def serve(app):
    """Run ``app`` with uvicorn in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(f"http://127.0.0.1:{port}/api/v1/health")
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def live(settings):
    running = []

    def start(fake):
        app = create_app(provider_settings(settings, "openai", fake.server))
        token = app.state.tokens.create("streamer")
        server, thread, url = serve(app)
        running.append((server, thread))
        start.app = app
        return url, {"X-API-Token": token}

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)


def read_events(response):
    """Yield (event, data) pairs from an SSE response as they arrive."""
    name, data = None, []
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "" and name:
            yield name, json.loads("\n".join(data))
            name, data = None, []


def test_first_delta_arrives_before_the_upstream_finishes(gated, live):
    fake = gated()
    url, auth = live(fake)
    with httpx.stream("POST", f"{url}/api/v1/webhook/stream", headers=auth, timeout=20,
                      json={"prompt": "Plan the launch.", "type": "summary"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = read_events(response)
        first = next(events)
        # The upstream is still holding the rest of its answer behind the gate.
        assert first == ("delta", {"text": "The"})
        assert not fake.finished.is_set()
        fake.gate.set()
        rest = list(events)
    names = [name for name, _ in rest]
    assert names[-1] == "done" and names.count("done") == 1 and "error" not in names
    done = rest[-1][1]
    assert "".join([first[1]["text"]] + [d["text"] for n, d in rest if n == "delta"]) == \
        done["summary"] == " ".join(WORDS)
    assert done["usage"]["input_tokens"] == 12 and done["usage"]["output_tokens"] == 6
    assert done["provider"] == "openai" and done["cached"] is False


def test_disconnect_cancels_the_upstream_call(gated, live):
    fake = gated(drip=True)
    url, auth = live(fake)
    with httpx.stream("POST", f"{url}/api/v1/webhook/stream", headers=auth, timeout=20,
                      json={"prompt": "Plan the launch.", "type": "summary"}) as response:
        assert next(read_events(response))[0] == "delta"
    # The client is gone: FlaskLLM closes its upstream stream, and the upstream notices at
    # its next write, long before its 200 words are out.
    assert fake.aborted.wait(10), "the upstream call was not cancelled"
    assert fake.sent < 150
    # What was written before the client left is still recorded (partial usage).
    recorder = live.app.state.usage
    deadline = time.monotonic() + 10
    while recorder.count(error_code="CLIENT_DISCONNECTED") == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert recorder.count(error_code="CLIENT_DISCONNECTED", status=499) == 1


def test_error_mid_stream_ends_with_an_error_event(gated, live):
    fake = gated(fail_after_first=True)
    url, auth = live(fake)
    with httpx.stream("POST", f"{url}/api/v1/webhook/stream", headers=auth, timeout=20,
                      json={"prompt": "Plan the launch.", "type": "summary"}) as response:
        assert response.status_code == 200
        events = list(read_events(response))
    assert events[0] == ("delta", {"text": "The"})
    assert [name for name, _ in events][-1] == "error"
    assert "done" not in [name for name, _ in events]
    problem = events[-1][1]
    assert problem["status"] == 502 and problem["code"] == "PROVIDER_ERROR"
    assert fake.server.url not in json.dumps(problem) and OPENAI_KEY not in json.dumps(problem)


def test_refusals_before_the_stream_are_plain_problems(client, auth):
    response = client.post("/api/v1/webhook/stream", json={"prompt": "Hola", "type": "custom"},
                           headers=auth)
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert client.post("/api/v1/webhook/stream", json={"prompt": "hi"}).status_code == 401


def test_offline_stream_and_cache_hit(client, auth):
    notes = ("We met to plan the product launch. Marketing will publish the landing page on "
             "Monday. Engineering still has two blocking bugs in checkout. The launch moves to "
             "March 15 unless both bugs are fixed by Thursday.")
    body = {"prompt": notes, "type": "summary"}
    first = client.post("/api/v1/webhook/stream", json=body, headers=auth)
    names = [line[7:] for line in first.text.splitlines() if line.startswith("event: ")]
    assert names.count("delta") >= 1 and names[-1] == "done"
    again = client.post("/api/v1/webhook/stream", json=body, headers=auth)
    done = json.loads(again.text.strip().splitlines()[-1][6:])
    assert done["cached"] is True
    plain = client.post("/api/v1/webhook", json=body, headers=auth)
    assert plain.json()["cached"] is True  # streaming and single requests share the cache
    assert plain.json()["summary"] == done["summary"]


def test_stream_through_wsgi_arrives_in_pieces(gated, tmp_path):
    """wsgi.py under gunicorn: the first delta reaches the client while the upstream is still
    holding back the rest, so a2wsgi and gunicorn pass the stream on as it is written."""
    gunicorn = shutil.which("gunicorn", path=os.path.dirname(sys.executable))
    if gunicorn is None:
        pytest.fail("gunicorn is not installed (it is in the dev extra)")
    fake = gated()
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI", "ANTHROPIC", "LLM_", "API_TOKEN", "DATABASE_URL"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'wsgi.db'}", API_TOKEN="s" * 40,
               ENVIRONMENT="test", LLM_PROVIDER="openai", OPENAI_API_KEY=OPENAI_KEY,
               OPENAI_BASE_URL=fake.server.url + "/v1", OPENAI_MODEL="gpt-test",
               CACHE_TTL="0", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([gunicorn, "--workers", "1", "--threads", "4", "--bind",
                             f"127.0.0.1:{port}", "--chdir", str(ROOT), "wsgi:application"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/v1/health")
        with httpx.stream("POST", f"http://127.0.0.1:{port}/api/v1/webhook/stream",
                          headers={"X-API-Token": "s" * 40}, timeout=20,
                          json={"prompt": "Plan the launch.", "type": "summary"}) as response:
            assert response.status_code == 200
            events = read_events(response)
            assert next(events) == ("delta", {"text": "The"})
            assert not fake.finished.is_set()
            fake.gate.set()
            assert [name for name, _ in events][-1] == "done"
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
