"""The FlaskLLM benchmark: one FlaskLLM worker in front of a fake OpenAI-compatible upstream,
measured against the same upstream called directly and against the floor (bench/floor.py, a
bare Starlette + aiohttp forwarder), in the same run: every figure also as a ratio to the
floor's, so that it means something on any machine.

    make bench                    # in a venv without the dev extras, as deployed
    python bench/run.py           # the full run (~15 minutes, 10 of them the memory run)
    python bench/run.py --quick   # the same measurements, shorter (~4 minutes)
    python bench/run.py --quick --steps added_latency,in_flight_500ms   # an A/B of one change

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
from dataclasses import dataclass
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
# "500ms±100": the same mean wait, each drawn from 400-600 ms, as a real API's varies.
MODELS = {"fast": "bench-l0-i0", "20ms": "bench-l20-i0", "500ms": "bench-l500-i0",
          "500ms±100": "bench-l500-j100-i0", "stream": "bench-l0-t20-i10"}
NO_CACHE = {"Cache-Control": "no-cache"}


def body(model: str, prompt: str = PROMPT) -> dict:
    return {"prompt": prompt, "type": "summary", "model": MODELS[model]}


def direct_body(model: str, prompt: str = PROMPT, stream: bool = False) -> dict:
    """About what the SDK sends for a summary: system prompt, user text, limits."""
    return {"model": MODELS[model], "max_completion_tokens": 1024, "stream": stream,
            "messages": [{"role": "system", "content": "Summarize the text. " * 20},
                         {"role": "user", "content": f"<text>\n{prompt}\n</text>"}]}


@dataclass
class Target:
    """A server under test: FlaskLLM, or the floor (bench/floor.py) beside it."""

    name: str
    proc: procs.Process
    url: str
    headers: dict


class Bench:
    def __init__(self, quick: bool, workdir: Path):
        self.quick = quick
        self.seconds = 5 if quick else 15
        self.workdir = workdir
        self.results: dict = {"quick": quick}

    # Setup --------------------------------------------------------------------------------

    def start(self) -> None:
        self.upstream, self.up_url = procs.start_upstream(self.workdir)
        self.env = procs.flaskllm_env(self.workdir, self.up_url, OPENAI_MODEL=MODELS["fast"],
                                      OPENAI_MODELS=",".join(MODELS.values()))
        self.token = procs.create_token(self.env)
        self.auth = {"X-API-Token": self.token}
        self.server, self.url = procs.start_flaskllm(self.workdir, self.env, "flaskllm")
        self.flaskllm = Target("flaskllm", self.server, self.url, {**self.auth, **NO_CACHE})
        floor, floor_url = procs.start_floor(self.workdir, self.up_url, self.token)
        self.floor = Target("floor", floor, floor_url, dict(self.auth))
        self.results["startup_s"] = {"flaskllm": round(self.server.startup_seconds, 3),
                                     "floor": round(floor.startup_seconds, 3)}
        # One request of each kind, so imports and first-use work are not measured.
        for model in MODELS:
            for target in (self.flaskllm, self.floor):
                httpx.post(target.url + "/api/v1/webhook", json=body(model),
                           headers=target.headers, timeout=30).raise_for_status()
        self.results["rss_idle_mb"] = procs.rss_mb(self.server.pid)
        self.results["floor_rss_idle_mb"] = procs.rss_mb(floor.pid)

    def stop(self) -> None:
        for proc in (getattr(self, "server", None), getattr(self, "upstream", None),
                     getattr(getattr(self, "floor", None), "proc", None)):
            if proc is not None:
                proc.stop()

    def load(self, model: str, connections: int, direct: bool = False, seconds=None,
             headers=None, prompt: str = PROMPT, target: Target | None = None) -> dict:
        """One wrk run, against FlaskLLM (or ``target``, or the upstream ``direct``ly); with
        the server's CPU seconds per request and its share of one core (busy)."""
        target = target or self.flaskllm
        if direct:
            url, sent, hdrs = self.up_url + "/v1/chat/completions", direct_body(model, prompt), {}
        else:
            url, sent = target.url + "/api/v1/webhook", body(model, prompt)
            hdrs = target.headers if headers is None else {**self.auth, **headers}
        pid = target.proc.pid
        # Every process of the run, not only the target: FlaskLLM and the floor share a core,
        # and a server goes on answering what the last wrk run left queued.
        for proc in (self.server, self.floor.proc, self.upstream, target.proc):
            procs.wait_idle(proc.pid)
        cpu, began = procs.tree_cpu_seconds(pid), time.perf_counter()
        run = wrk.run(url, sent, hdrs, connections, seconds or self.seconds)
        cpu, wall = procs.tree_cpu_seconds(pid) - cpu, time.perf_counter() - began
        out = {"rps": round(run.rps, 1), "p50_ms": run.p50_ms, "p90_ms": run.p90_ms,
               "p99_ms": run.p99_ms, "mean_ms": round(run.mean_ms, 3), "errors": run.errors,
               "error_kinds": run.error_kinds, "requests": run.requests}
        if not direct and run.requests:
            out["server_cpu_ms_per_request"] = round(1000 * cpu / run.requests, 3)
            out["server_busy"] = round(cpu / wall, 3)
        return out

    # The measurements -------------------------------------------------------------------

    def added_latency(self) -> None:
        for c in (1, 32):
            direct = self.load("fast", c, direct=True)
            via = self.load("fast", c)
            floor = self.load("fast", c, target=self.floor)
            self.results[f"latency_c{c}"] = {
                "direct": direct, "flaskllm": via, "floor": floor,
                "added_p50_ms": round(via["p50_ms"] - direct["p50_ms"], 3),
                "added_p99_ms": round(via["p99_ms"] - direct["p99_ms"], 3)}

    def throughput_20ms(self) -> None:
        for target in (self.flaskllm, self.floor):
            sweep = []
            for c in ((2, 8, 32, 64) if self.quick else (1, 2, 4, 8, 16, 32, 64, 128)):
                run = self.load("20ms", c, target=target)
                run["connections"] = c
                sweep.append(run)
            ok = [r for r in sweep if r["p99_ms"] < 100 and r["errors"] == 0]
            best = max(ok, key=lambda r: r["rps"]) if ok else None
            key = "throughput_20ms" if target is self.flaskllm else "floor_throughput_20ms"
            self.results[key] = {"sweep": sweep, "best": best}

    def in_flight_500ms(self) -> None:
        """256 and 1,000 connections at the 500 ms upstream: the ideal is connections / 0.5 s
        a second; short of it, the server should be CPU-bound (busy ≈ 1 core)."""
        for c in (256, 1000):  # what the upstream itself serves at this concurrency
            run = self.load("500ms", c, direct=True, seconds=max(self.seconds, 10))
            self.results[f"direct_in_flight_{c}"] = run
        for target in (self.floor, self.flaskllm):
            # 256 connections with waits of 400-600 ms, first: with a fixed 500 ms, wrk's
            # connections stay in step (a convoy), so the core idles between rounds.
            run = self.load("500ms±100", 256, seconds=max(self.seconds, 10), target=target)
            run.update(connections=256, ideal_rps=512, of_ideal=round(run["rps"] / 512, 3))
            self.results["jitter_256" if target is self.flaskllm else "floor_jitter_256"] = run
            for c in (256, 1000):
                httpx.get(self.up_url + "/stats?reset")
                run = self.load("500ms", c, seconds=max(self.seconds, 10), target=target)
                stats = httpx.get(self.up_url + "/stats").json()
                direct = self.results[f"direct_in_flight_{c}"]["rps"]
                run.update(upstream_peak_in_flight=stats["peak"], connections=c,
                           ideal_rps=c / 0.5, of_ideal=round(run["rps"] / (c / 0.5), 3),
                           of_direct=round(run["rps"] / direct, 3) if direct else None,
                           littles_law_in_flight=round(run["rps"] * run["mean_ms"] / 1000))
                key = f"in_flight_{c}" if target is self.flaskllm else f"floor_in_flight_{c}"
                self.results[key] = run
                if target is self.flaskllm and c == 1000:
                    self.results["in_flight_500ms"] = run  # the issue-7 row
        self.results["floor_rss_after_mb"] = procs.rss_mb(self.floor.proc.pid)

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


    def startup(self) -> None:
        """``flaskllm serve`` as a fresh machine runs it (the offline provider, SQLite), from
        the process's start to its first 200: the median of 5."""
        env = {k: v for k, v in self.env.items() if not k.startswith(("LLM_", "OPENAI_"))}
        times = []
        for n in range(5):
            server, _url = procs.start_flaskllm(self.workdir, env, f"startup{n}")
            times.append(server.startup_seconds)
            server.stop()
        self.results["startup_default_s"] = {"median": round(sorted(times)[2], 3),
                                             "min": round(min(times), 3),
                                             "max": round(max(times), 3)}

    def workers(self) -> None:
        """``flaskllm serve --workers 1`` against ``--workers 2``, on both cores, sharing
        state through Redis (the rate limit counted there, REDIS_URL), at the 20 ms
        upstream. The load client and the upstream share those cores: on a 2-core machine
        this understates what a second core gives."""
        if not procs.redis_up():
            self.results["workers"] = {"skipped": "no Redis on 127.0.0.1:6379"}
            return
        out = {}
        for n in (1, 2):
            env = {**self.env, "REDIS_URL": "redis://127.0.0.1:6379/0",
                   "REDIS_KEY_PREFIX": f"bench-{os.getpid()}-{n}",
                   "RATE_LIMIT_ENABLED": "true", "RATE_LIMIT": "10000000/minute"}
            server, url = procs.start_flaskllm(self.workdir, env, f"workers{n}", workers=n,
                                               cores=set(procs.CORES))
            try:
                target = Target(f"workers{n}", server, url, {**self.auth, **NO_CACHE})
                for _ in range(20 * n):  # every worker has answered before the run
                    httpx.post(url + "/api/v1/webhook", json=body("20ms"),
                               headers=target.headers, timeout=30).raise_for_status()
                procs.pin(set(procs.CORES))  # wrk may use both cores too
                try:
                    out[str(n)] = self.load("20ms", 64, target=target)
                finally:
                    procs.pin(procs.CLIENT_CORES)
            finally:
                server.stop()
        out["scaling"] = round(out["2"]["rps"] / out["1"]["rps"], 3) if out["1"]["rps"] else None
        self.results["workers"] = out


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
    parser.add_argument("--steps", help="only these measurements, comma-separated (e.g. "
                        "added_latency,in_flight_500ms): for an A/B of one change")
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
                     bench.first_token, bench.batch, bench.memory, bench.in_flight_500ms,
                     bench.startup, bench.workers)
            if args.steps:
                steps = tuple(step for step in steps if step.__name__ in args.steps.split(","))
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
