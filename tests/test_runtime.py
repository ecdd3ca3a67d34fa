"""Process-level settings of ``flaskllm serve`` and ``wsgi.py``: the malloc arena cap."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from flaskllm.settings import ROOT

# Eight threads allocate at once; glibc's malloc_info() lists one <heap> per arena in use.
PROBE = """
import ctypes, os, sys, tempfile, threading
from flaskllm.runtime import fewer_malloc_arenas
if sys.argv[1] == "capped":
    fewer_malloc_arenas()
barrier = threading.Barrier(8)
def work():
    barrier.wait()
    kept = [bytearray(4096) for _ in range(2000)]
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(None)
libc.fdopen.restype = ctypes.c_void_p
with tempfile.TemporaryFile() as fh:
    stream = libc.fdopen(os.dup(fh.fileno()), b"w")
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    fh.seek(0)
    print(fh.read().decode().count("<heap nr="))
"""


def heaps(mode: str, **env: str) -> int:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True,
                          text=True, cwd=ROOT, env={**environ, **env}, check=True)
    return int(done.stdout.strip())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc arenas only")
def test_serve_caps_malloc_arenas_unless_the_environment_says_otherwise():
    assert heaps("default") > 2  # without the cap, the threads spread over more arenas
    assert heaps("capped") <= 2
    assert heaps("capped", MALLOC_ARENA_MAX="4") > 2  # an explicit setting wins


def test_the_serving_app_freezes_start_up_objects_and_collects_less_often(tmp_path):
    probe = ("import gc; from flaskllm import cli, runtime; app = cli.serving_app(); "
             "print(gc.get_threshold() == runtime.GC_THRESHOLDS, gc.get_freeze_count())")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'gc.db'}", LLM_PROVIDER="offline",
               USAGE_SPOOL_FILE=str(tmp_path / "spool.jsonl"))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=ROOT, env=env, check=True)
    tuned, frozen = done.stdout.split()
    assert tuned == "True" and int(frozen) > 10_000  # the modules and the app
