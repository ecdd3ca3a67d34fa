"""The FlaskLLM benchmark: one FlaskLLM worker in front of a fake OpenAI-compatible upstream,
measured against the same upstream called directly, in the same run.

    make bench                    # in a venv without the dev extras, as deployed
    python bench/run.py           # the full run (~15 minutes, 10 of them the memory run)
    python bench/run.py --quick   # the same measurements, shorter (~2.5 minutes)

Needs wrk (`apt-get install wrk`) and the package installed (`pip install -e .`). Writes
bench/results/latest.md (the table for the README) and latest.json. Never part of the tests.

What runs where: FlaskLLM (`flaskllm serve`, one worker, the openai provider pointed at
bench/upstream.py, SQLite, the in-memory cache, no rate limit) is pinned to the first core;
the upstream and the load client (wrk, or httpx for the streaming and batch checks) share the
second. "Added" numbers are FlaskLLM's percentile minus the direct call's percentile.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
import procs  # noqa: E402
import report  # noqa: E402
import wrk  # noqa: E402

PROMPT = ("The quarterly budget review is on Friday. Finance wants every team to cut cloud "
          "spending by ten percent and to report hiring plans for the third quarter.")
# Single requests stream from the upstream too (pipeline.run; providers only stream), so the
# plain models send their tokens with no gap ("-i0"): the answer then arrives as fast as the
# direct, non-streamed call's, which the "added" numbers compare against. Measured without it
# (2026-12-02, --quick): 208 ms added at concurrency 1, the fake's 19 gaps of 10 ms.
MODELS = {"fast": "bench-l0-i0", "20ms": "bench-l20-i0", "500ms": "bench-l500-i0",
          "stream": "bench-l0-t20-i10"}
NO_CACHE = {"Cache-Control": "no-cache"}


def body(model: str, prompt: str = PROMPT) -> dict:
    return {"prompt": prompt, "type": "summary", "model": MODELS[model]}


def direct_body(model: str, prompt: str = PROMPT, stream: bool = False) -> dict:
    """About what the SDK sends for a summary: system prompt, user text, limits."""
    return {"model": MODELS[model], "max_completion_tokens": 1024, "stream": stream,
            "messages": [{"role": "system", "content": "Summarize the text. " * 20},
                         {"role": "user", "content": f"<text>\n{prompt}\n</text>"}]}


class Bench:
    def __init__(self, quick: bool, workdir: Path):
        self.quick = quick
        self.seconds = 5 if quick else 15
        self.workdir = workdir
        self.results: dict = {"quick": quick}

    # Setup --------------------------------------------------------------------------------

    def start(self) -> None:
        self.upstream, self.up_url = procs.start_upstream(self.workdir)
        env = procs.flaskllm_env(self.workdir, self.up_url, OPENAI_MODEL=MODELS["fast"],
                                 OPENAI_MODELS=",".join(MODELS.values()))
        self.token = procs.create_token(env)
        self.server, self.url = procs.start_flaskllm(self.workdir, env, "flaskllm")
        self.auth = {"X-API-Token": self.token}
        # One request of each kind, so imports and first-use work are not measured.
        for model in MODELS:
            httpx.post(self.url + "/api/v1/webhook", json=body(model), headers=self.auth,
                       timeout=30).raise_for_status()
        self.results["rss_idle_mb"] = procs.rss_mb(self.server.pid)

    def stop(self) -> None:
        for proc in (getattr(self, "server", None), getattr(self, "upstream", None)):
            if proc is not None:
                proc.stop()

    def load(self, model: str, connections: int, direct: bool = False, seconds=None,
             headers=None, prompt: str = PROMPT) -> dict:
        """One wrk run; with the server's CPU seconds per request when not direct."""
        if direct:
            url, sent, hdrs = self.up_url + "/v1/chat/completions", direct_body(model, prompt), {}
        else:
            url, sent = self.url + "/api/v1/webhook", body(model, prompt)
            hdrs = {**self.auth, **(NO_CACHE if headers is None else headers)}
        cpu = procs.cpu_seconds(self.server.pid)
        run = wrk.run(url, sent, hdrs, connections, seconds or self.seconds)
        cpu = procs.cpu_seconds(self.server.pid) - cpu
        out = {"rps": round(run.rps, 1), "p50_ms": run.p50_ms, "p90_ms": run.p90_ms,
               "p99_ms": run.p99_ms, "mean_ms": round(run.mean_ms, 3), "errors": run.errors,
               "requests": run.requests}
        if not direct and run.requests:
            out["server_cpu_ms_per_request"] = round(1000 * cpu / run.requests, 3)
        return out

    # The measurements -------------------------------------------------------------------

    def added_latency(self) -> None:
        for c in (1, 32):
            direct = self.load("fast", c, direct=True)
            via = self.load("fast", c)
            self.results[f"latency_c{c}"] = {
                "direct": direct, "flaskllm": via,
                "added_p50_ms": round(via["p50_ms"] - direct["p50_ms"], 3),
                "added_p99_ms": round(via["p99_ms"] - direct["p99_ms"], 3)}

    def throughput_20ms(self) -> None:
        sweep = []
        for c in ((2, 8, 32) if self.quick else (1, 2, 4, 8, 16, 32, 64, 128)):
            run = self.load("20ms", c)
            run["connections"] = c
            sweep.append(run)
        ok = [r for r in sweep if r["p99_ms"] < 100 and r["errors"] == 0]
        best = max(ok, key=lambda r: r["rps"]) if ok else None
        self.results["throughput_20ms"] = {"sweep": sweep, "best": best}

    def in_flight_500ms(self) -> None:
        httpx.get(self.up_url + "/stats?reset")
        run = self.load("500ms", 1000, seconds=max(self.seconds, 10))
        stats = httpx.get(self.up_url + "/stats").json()
        run.update(upstream_peak_in_flight=stats["peak"], connections=1000,
                   littles_law_in_flight=round(run["rps"] * run["mean_ms"] / 1000))
        self.results["in_flight_500ms"] = run

    def cache_hits(self) -> None:
        prompt = "A prompt that every request of this run repeats: all hits after the first."
        httpx.post(self.url + "/api/v1/webhook", json=body("fast", prompt), headers=self.auth,
                   timeout=30).raise_for_status()
        runs = [self.load("fast", c, headers={}, prompt=prompt) for c in (32, 64)]
        self.results["cache_hits"] = max(runs, key=lambda r: r["rps"])

    def first_token(self) -> None:
        n = 30 if self.quick else 100
        direct, via = asyncio.run(_first_tokens(self, n))
        self.results["first_token"] = {
            "direct_p50_ms": _pct(direct, 50), "direct_p99_ms": _pct(direct, 99),
            "flaskllm_p50_ms": _pct(via, 50), "flaskllm_p99_ms": _pct(via, 99),
            "added_p50_ms": round(_pct(via, 50) - _pct(direct, 50), 3),
            "added_p99_ms": round(_pct(via, 99) - _pct(direct, 99), 3), "samples": n}

    def batch(self) -> None:
        items = 200 if self.quick else 1000
        floor = items / 16 * 0.5  # UPSTREAM_CONCURRENCY=16, 500 ms each
        sent = {"items": [body("500ms", f"Row {i}: {PROMPT}") for i in range(items)]}
        started = time.perf_counter()
        answer = httpx.post(self.url + "/api/v1/webhook/batch", json=sent,
                            headers={**self.auth, **NO_CACHE}, timeout=600)
        elapsed = time.perf_counter() - started
        answer.raise_for_status()
        self.results["batch"] = {"items": items, "seconds": round(elapsed, 3),
                                 "floor_seconds": floor, "ratio": round(elapsed / floor, 3),
                                 "succeeded": answer.json()["succeeded"]}

    def memory(self) -> None:
        """RSS after the runs before it, then under steady load with unique prompts (the
        cache fills to CACHE_MAX_ENTRIES) for 1 (quick) or 10 minutes, sampled every 5 s.

        Python keeps the high-water mark: memory freed after a burst stays mapped when a few
        objects still live in each 1 MB block of its allocator. So the 1,000-in-flight burst
        runs after this, and the RSS it leaves is reported on its own."""
        self.results["rss_after_load_mb"] = procs.rss_mb(self.server.pid)
        minutes = 1 if self.quick else 10
        samples: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample():
            started = time.monotonic()
            while not stop.wait(5):
                samples.append((round(time.monotonic() - started), procs.rss_mb(self.server.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        run = self.load("20ms", 32, seconds=minutes * 60, headers={},
                        prompt=f"{wrk.UNIQUE} {PROMPT}")
        stop.set()
        sampler.join()
        tail = [mb for t, mb in samples if t >= minutes * 60 / 2]
        self.results["memory_run"] = {
            "minutes": minutes, "requests": run["requests"], "rps": run["rps"],
            "errors": run["errors"], "rss_start_mb": samples[0][1], "rss_end_mb": samples[-1][1],
            "rss_max_mb": max(mb for _, mb in samples),
            "second_half_growth_mb": round(max(tail) - min(tail), 1) if tail else None,
            "samples": samples}


async def _first_tokens(bench: Bench, n: int) -> tuple[list[float], list[float]]:
    direct, via = [], []
    async with httpx.AsyncClient(timeout=30) as http:
        for _ in range(n):
            started = time.perf_counter()
            async with http.stream("POST", bench.up_url + "/v1/chat/completions",
                                   json=direct_body("stream", stream=True)) as response:
                async for line in response.aiter_lines():
                    if '"content":"lorem' in line:
                        direct.append(1000 * (time.perf_counter() - started))
                        break
            started = time.perf_counter()
            async with http.stream("POST", bench.url + "/api/v1/webhook/stream",
                                   json=body("stream"), headers={**bench.auth, **NO_CACHE}
                                   ) as response:
                async for line in response.aiter_lines():
                    if line == "event: delta":
                        via.append(1000 * (time.perf_counter() - started))
                        break
    return direct, via


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))], 3)


def rerender(out: Path) -> None:
    """latest.md again from latest.json (after a change to report.py)."""
    (out / "latest.md").write_text(report.markdown(json.loads((out / "latest.json").read_text())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (~2.5 minutes)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"),
                        help="folder for latest.md and latest.json")
    parser.add_argument("--rerender", action="store_true",
                        help="only write latest.md again from latest.json")
    args = parser.parse_args(argv)
    if args.rerender:
        rerender(Path(args.out))
        return 0
    if not wrk.available():
        sys.exit("bench: wrk is not installed (apt-get install wrk)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 16384)), hard))
    procs.pin(procs.CLIENT_CORES)  # this process and wrk stay off FlaskLLM's core
    started, load = datetime.now(timezone.utc), os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="flaskllm-bench-") as tmp:
        bench = Bench(args.quick, Path(tmp))
        try:
            bench.start()
            # The 1,000-in-flight burst goes last: the memory it takes stays with the
            # process (see memory()), and would hide what the other runs leave behind.
            steps = (bench.added_latency, bench.throughput_20ms, bench.cache_hits,
                     bench.first_token, bench.batch, bench.memory, bench.in_flight_500ms)
            for step in steps:
                print(f"bench: {step.__name__} ...", flush=True)
                step()
                bench.results.setdefault("rss_after_mb", {})[step.__name__] = \
                    procs.rss_mb(bench.server.pid)
        finally:
            bench.stop()
    results = bench.results
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "platform": platform.platform(), "load_before": load,
                          "cpu_model": report.cpu_model()}
    results["date"] = started.strftime("%Y-%m-%d %H:%M UTC")
    results["command"] = "python bench/run.py" + (" --quick" if args.quick else "")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "latest.md").write_text(report.markdown(results))
    print(report.markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
