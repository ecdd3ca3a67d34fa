"""wrk (Debian's package `wrk`) as the load generator: a C client, so that on two cores the
client is not the bottleneck the way a Python client at thousands of requests a second is.

A generated Lua script sets the method, body and headers and prints one JSON line at the end
(percentiles in microseconds, errors by kind), which ``run`` parses.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

LUA = r"""
wrk.method = "POST"
wrk.body = [==[%(body)s]==]
%(headers)s
%(request)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,' ..
    '"status":%%d,"timeout":%%d,"p50":%%d,"p90":%%d,"p99":%%d,"mean":%%.1f,"max":%%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max))
end
"""


@dataclass
class Result:
    requests: int
    seconds: float
    errors: int  # connection errors, timeouts and non-2xx answers
    error_kinds: dict  # those by kind: connect, read, write, status (non-2xx), timeout
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def available() -> bool:
    return shutil.which("wrk") is not None


# Each request's body with a fresh number in place of UNIQUE: every prompt differs (cache misses
# that fill the cache, as real traffic does).
UNIQUE = "@@N@@"
UNIQUE_LUA = r"""
local n = 0
local head, tail = wrk.body:match("^(.-)@@N@@(.*)$")
request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, head .. n .. "-" .. math.random(1e9) .. tail)
end
"""


def run(url: str, body: dict, headers: dict[str, str], connections: int, seconds: float,
        timeout: float = 10.0, threads: int = 1) -> Result:
    """POST ``body`` to ``url`` over ``connections`` keep-alive connections for ``seconds``.
    A body containing ``UNIQUE`` is sent with a different number there each time."""
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in
                      {"Content-Type": "application/json", **headers}.items())
    text = json.dumps(body)
    script = LUA % {"body": text, "headers": lines,
                    "request": UNIQUE_LUA if UNIQUE in text else ""}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        done = subprocess.run(
            ["wrk", f"-t{min(threads, connections)}", f"-c{connections}",
             f"-d{max(1, round(seconds))}s", f"--timeout={timeout:g}s", "-s", fh.name, url],
            capture_output=True, text=True, timeout=seconds + timeout + 60)
    finally:
        Path(fh.name).unlink()
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed: {done.stdout}\n{done.stderr}")
    raw = json.loads(line[len("WRKJSON "):])
    errors = sum(raw[k] for k in ("connect", "read", "write", "status", "timeout"))
    kinds = {k: raw[k] for k in ("connect", "read", "write", "status", "timeout") if raw[k]}
    return Result(requests=raw["requests"], seconds=raw["duration_us"] / 1e6, errors=errors,
                  error_kinds=kinds,
                  p50_ms=raw["p50"] / 1000, p90_ms=raw["p90"] / 1000, p99_ms=raw["p99"] / 1000,
                  mean_ms=raw["mean"] / 1000, max_ms=raw["max"] / 1000)
