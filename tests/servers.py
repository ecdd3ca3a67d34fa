"""Real `flaskllm serve` processes for tests that need several workers (shared state through
Redis and PostgreSQL), each on its own port, stopped and reaped afterwards.

    with serve_processes(env, 2, tmp_path) as urls: ...
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

import httpx

ROOT = Path(__file__).resolve().parent.parent
# Variables of the developer's shell that would change what the servers do.
FOREIGN = ("OPENAI_", "ANTHROPIC_", "LLM_", "CACHE_", "RATE_LIMIT", "REDIS_", "DATABASE_URL",
           "API_TOKEN", "BUDGET", "USAGE_")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN)}
    env.update(PYTHONPATH=str(ROOT), **values)
    return env


def cli(env: Mapping[str, str], *args: str, cwd: Path | None = None) -> str:
    """Run the `flaskllm` command with ``env``; its output (fails the test on an error)."""
    done = subprocess.run([sys.executable, "-m", "flaskllm.cli", *args], env=dict(env),
                          cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@contextlib.contextmanager
def serve_processes(env: Mapping[str, str], count: int, logs: Path, timeout: float = 60.0, *,
                    args: Sequence[str] = (),
                    env_of: Callable[[int], Mapping[str, str]] = lambda n: {},
                    procs: list | None = None) -> Iterator[list[str]]:
    """``count`` servers with ``env`` (plus ``env_of(n)`` for server n) and extra ``serve``
    arguments; yields their base URLs once all answer /health. ``procs`` receives the
    processes, for tests that look at them."""
    started = []
    try:
        for n in range(count):
            port = free_port()
            log_path = logs / f"server{n}.log"
            log = open(log_path, "wb")
            proc = subprocess.Popen(
                [sys.executable, "-m", "flaskllm.cli", "serve", "--port", str(port), *args],
                env={**env, **env_of(n)}, cwd=logs, stdout=log, stderr=subprocess.STDOUT)
            started.append((proc, f"http://127.0.0.1:{port}", log, log_path))
            if procs is not None:
                procs.append(proc)
        deadline = time.monotonic() + timeout
        for proc, url, _, log_path in started:
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{url} did not start in {timeout:.0f} s"
                time.sleep(0.2)
        yield [url for _, url, _, _ in started]
    finally:
        for proc, _, log, _ in started:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()
