"""PostgreSQL and Redis instances of a test's own, on free ports, for tests that stop, start
or pause them: the machine's shared ones are never touched.

    with own_postgres(tmp) as pg:      pg.url; pg.stop(); pg.start()
    with own_redis(tmp) as redis:      redis.url; redis.pause(); redis.resume()

Each skips the test when its server binaries are missing (fails with
FLASKLLM_REQUIRE_SERVICES=1). PostgreSQL refuses to run as root: then its cluster belongs to
the ``postgres`` user and its commands run as that user.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

from servers import free_port

START_SECONDS = 30


def _missing(what: str) -> None:
    message = f"{what} is not installed"
    if os.environ.get("FLASKLLM_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " and FLASKLLM_REQUIRE_SERVICES=1")
    pytest.skip(message)


class Postgres:
    def __init__(self, bin_dir: str, data: Path, port: int, as_user: list[str]):
        self.bin_dir, self.data, self.port, self.as_user = bin_dir, data, port, as_user
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._run(f"{self.bin_dir}/pg_ctl", "-D", str(self.data), "-w", "-l",
                  str(self.data / "server.log"), "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 "
                  f"-k {self.data} -c fsync=off", "start")

    def stop(self) -> None:
        self._run(f"{self.bin_dir}/pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "stop")


@contextlib.contextmanager
def own_postgres() -> Iterator[Postgres]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        _missing("PostgreSQL (initdb)")
    bin_dir = os.path.dirname(found[-1])
    root = Path(tempfile.mkdtemp(prefix="flaskllm-pg-"))
    data = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chmod(root, 0o755)
        data.mkdir()
        os.chown(data, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    pg = Postgres(bin_dir, data, free_port(), as_user)
    try:
        pg._run(f"{bin_dir}/initdb", "-D", str(data), "-A", "trust", "-U", "postgres")
        pg.start()
        yield pg
    finally:
        with contextlib.suppress(Exception):
            pg.stop()
        shutil.rmtree(root, ignore_errors=True)


class Redis:
    def __init__(self, proc: subprocess.Popen, port: int):
        self.proc, self.port = proc, port
        self.url = f"redis://127.0.0.1:{port}/0"

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)


@contextlib.contextmanager
def own_redis() -> Iterator[Redis]:
    binary = shutil.which("redis-server")
    if binary is None:
        _missing("redis-server")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    redis = Redis(proc, port)
    try:
        deadline = time.monotonic() + START_SECONDS
        import socket

        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.1)
        yield redis
    finally:
        with contextlib.suppress(ProcessLookupError):
            redis.resume()
        proc.terminate()
        proc.wait(10)
