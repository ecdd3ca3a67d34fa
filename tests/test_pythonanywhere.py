"""FlaskLLM as PythonAnywhere runs it: uWSGI with Python threads off (2.0.26, the last release
where that is the default: 2.0.27's changelog says "set enable threads by default"), one
worker forked by a master, a request time limit (harakiri), and a load balancer that sets
X-Real-IP. A POST, a batch and a stream, then the worker is killed (kill -9) and the master
starts another: every answered request has exactly one usage row. The same kill under
`flaskllm serve` (uvicorn) loses nothing either."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest
import sqlalchemy as sa

from flaskllm import db
from servers import clean_env, free_port
from test_uwsgi import (PacedOpenAI, ROOT, TOKEN, _bin, check_serves,  # noqa: F401
                        openai_env, paced_openai, usage_records, wsgi_env)
from test_wsgi import wait_for

UWSGI_VERSION = "2.0.26"  # the dev extra pins it (setup.cfg)


def _ids(env) -> list[str]:
    engine = sa.create_engine(env["DATABASE_URL"])
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(sa.select(db.usage_records.c.id))]
    finally:
        engine.dispose()


def _worker_pids(log_path) -> list[int]:
    return [int(pid) for pid in re.findall(r"(?:spawned uWSGI worker \d+ \(|Respawned uWSGI "
                                           r"worker \d+ \(new )pid: (\d+)",
                                           log_path.read_text(errors="replace"))]


def _wait(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_uwsgi_without_threads_loses_no_usage_when_its_worker_is_killed(
        openai_env, paced_openai, tmp_path):
    assert subprocess.run([_bin("uwsgi"), "--version"], capture_output=True, text=True
                          ).stdout.strip() == UWSGI_VERSION
    env = {**openai_env, "CLIENT_IP_HEADER": "X-Real-IP", "TRUSTED_PROXIES": "127.0.0.1",
           "USAGE_SPOOL_FILE": str(tmp_path / "journal.jsonl")}
    port = free_port()
    log_path = tmp_path / "uwsgi.log"
    log = open(log_path, "wb")
    # PythonAnywhere-like: a master that imports the WSGI file and forks one worker, no
    # --enable-threads, no --threads, a 5-minute harakiri (PythonAnywhere's request limit).
    proc = subprocess.Popen(
        [_bin("uwsgi"), "--master", "--processes", "1", "--http", f"127.0.0.1:{port}",
         "--wsgi-file", str(ROOT / "wsgi.py"), "--chdir", str(ROOT), "--need-app",
         "--die-on-term", "--harakiri", "300"], env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    client = {"X-Real-IP": "203.0.113.50"}  # what PythonAnywhere's load balancer adds
    try:
        wait_for(base + "/api/v1/health")
        assert "Python threads support is disabled" in log_path.read_text()
        check_serves(base, paced_openai, client)  # 1 + 6 batch items + 1 stream
        # Idle now: no thread runs in this worker, yet its records are stored (the worker
        # drained the journal after its responses) or in the journal on disk.
        time.sleep(0.5)
        stored = set(_ids(env))
        assert len(stored) == 8, stored
        answered = httpx.post(base + "/api/v1/webhook", headers={
            "X-API-Token": TOKEN, "Connection": "close", **client},
            json={"prompt": "Answered just before the kill.", "type": "summary"}, timeout=30)
        assert answered.status_code == 200
        # Killed at once: its record was in the journal before the answer was complete.
        worker = _worker_pids(log_path)[-1]
        os.kill(worker, signal.SIGKILL)
        _wait(lambda: len(_worker_pids(log_path)) >= 2)  # the master starts another
        wait_for(base + "/api/v1/health")
        after = httpx.get(base + "/api/v1/health", headers={"Connection": "close"}, timeout=30)
        assert after.status_code == 200
        _wait(lambda: len(_ids(env)) >= 9, timeout=10)
    finally:
        proc.terminate()
        code = proc.wait(30)
        log.close()
    output = log_path.read_text(errors="replace")
    assert code == 0, output
    assert "Traceback" not in output, output
    ids = _ids(env)
    assert len(ids) == len(set(ids)) == 9, output  # every answered item, exactly once


def test_serve_loses_no_usage_when_its_worker_is_killed(tmp_path):
    (tmp_path / ".env").write_text(f"ENVIRONMENT=test\nRATE_LIMIT_ENABLED=false\n"
                                   f"DATABASE_URL=sqlite:///{tmp_path / 'serve.db'}\n"
                                   f"API_TOKEN={TOKEN}\nCACHE_TTL=0\n")
    env = {**clean_env(), "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}

    def serve():
        port = free_port()
        proc = subprocess.Popen([sys.executable, "-m", "flaskllm.cli", "serve", "--port",
                                 str(port)], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        wait_for(f"http://127.0.0.1:{port}/api/v1/health", timeout=60)
        return proc, f"http://127.0.0.1:{port}"

    proc, base = serve()
    try:
        with httpx.Client(base_url=base, headers={"X-API-Token": TOKEN}, timeout=30) as http:
            statuses = [http.post("/api/v1/webhook", json={
                "prompt": f"Request {n} is answered, then the server dies.",
                "type": "summary"}).status_code for n in range(20)]
        os.kill(proc.pid, signal.SIGKILL)  # no shutdown: whatever was not drained is on disk
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert statuses == [200] * 20
    proc, base = serve()  # the restarted server drains the journal at start-up
    try:
        _wait(lambda: len(_ids(env)) >= 20, timeout=15)
    finally:
        proc.terminate()
        proc.wait(15)
    ids = _ids(env)
    assert len(ids) == len(set(ids)) == 20
