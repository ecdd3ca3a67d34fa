"""The processes under test: the fake upstream and one FlaskLLM worker, each pinned to its own
core when there are two (FlaskLLM on the first; the upstream and the load client share the
second), plus readings of their CPU time and resident memory from /proc."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CORES = sorted(os.sched_getaffinity(0))
SERVER_CORES = {CORES[0]}
CLIENT_CORES = set(CORES[1:]) or SERVER_CORES  # upstream and load client
TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pin(cores: set[int]) -> None:
    """This process (and what it starts from now on) runs on ``cores``."""
    os.sched_setaffinity(0, cores)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of ``pid`` and its children (the workers of ``serve --workers N``)."""
    total = cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:  # ppid
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def wait_idle(pid: int, timeout: float = 30.0) -> None:
    """Until ``pid`` (with its children) uses under 5 % of a core for half a second: a server
    goes on answering the requests a finished wrk run left queued (their clients are gone),
    which would count as the next run's CPU."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = tree_cpu_seconds(pid)
        time.sleep(0.5)
        if tree_cpu_seconds(pid) - before < 0.025:
            return


def _wait(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    """Until ``url`` answers 200: polled every 10 ms, so the start-up time is exact."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    raise RuntimeError(f"{url} did not come up in {timeout:.0f} s:\n{log.read_text()}")


class Process:
    def __init__(self, args: list[str], env: dict[str, str], cores: set[int], log: Path,
                 ready_url: str):
        self.log = log
        self._log = open(log, "wb")
        began = time.perf_counter()
        self.proc = subprocess.Popen(args, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=log.parent, preexec_fn=lambda: pin(cores))
        _wait(ready_url, self.proc, log)
        self.startup_seconds = time.perf_counter() - began  # to its first 200

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def start_upstream(workdir: Path) -> tuple[Process, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = Process([sys.executable, str(ROOT / "bench" / "upstream.py"), "--port", str(port)],
                   dict(os.environ), CLIENT_CORES, workdir / "upstream.log", url + "/stats")
    return proc, url


def flaskllm_env(workdir: Path, upstream: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "ANTHROPIC_", "LLM_", "REDIS_", "CACHE_"))}
    env.update(PYTHONPATH=str(ROOT), ENVIRONMENT="production", API_TOKEN="b" * 40,
               LOG_LEVEL="warning", LLM_PROVIDER="openai", OPENAI_API_KEY="dummy",
               OPENAI_BASE_URL=upstream + "/v1", RATE_LIMIT_ENABLED="false",
               DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
               USAGE_SPOOL_FILE=str(workdir / "spool.jsonl"), BATCH_MAX_ITEMS="1000",
               UPSTREAM_CONCURRENCY="16")
    env.update(extra)
    return env


def create_token(env: dict[str, str]) -> str:
    name = f"bench-{os.getpid()}-{time.monotonic_ns()}"
    done = subprocess.run([sys.executable, "-m", "flaskllm.cli", "tokens", "create", name],
                          env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def start_flaskllm(workdir: Path, env: dict[str, str], name: str, workers: int = 1,
                   cores: set[int] | None = None) -> tuple[Process, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = Process([sys.executable, "-m", "flaskllm.cli", "serve", "--port", str(port),
                    "--workers", str(workers)],
                   env, cores or SERVER_CORES, workdir / f"{name}.log", url + "/api/v1/health")
    return proc, url


def redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


def start_floor(workdir: Path, upstream: str, token: str) -> tuple[Process, str]:
    """bench/floor.py, the bare forwarder, on FlaskLLM's core."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    digest = hashlib.sha256(token.encode()).hexdigest()
    proc = Process([sys.executable, str(ROOT / "bench" / "floor.py"), "--port", str(port),
                    "--upstream", upstream + "/v1", "--token-sha256", digest],
                   dict(os.environ), SERVER_CORES, workdir / "floor.log", url + "/api/v1/health")
    return proc, url
