"""Prometheus metrics (prometheus-client), served by GET /metrics.

    app.metrics.observe_record(rec)     one processed item: the same UsageRecord that goes to
                                        app.usage.record(rec), so /metrics and the usage table
                                        count the same things
    app.metrics.refused(code)           a request or batch item refused with RATE_LIMITED or
                                        BUDGET_EXCEEDED (any other code is ignored)
    app.metrics.refused(code, status)   an HTTP answer: a 4xx also counts in
                                        flaskllm_refused_total by its problem code
    with app.metrics.in_flight(): ...   the requests being answered now (the middleware)
    app.metrics.observe_http(operation, status, seconds)     every HTTP answer (the middleware)
    app.metrics.exposition()            the text format, (body, content type)

Several workers: with METRICS_DIR set, each worker process writes its values to files in
that folder (prometheus-client's multiprocess mode) and /metrics, in whichever worker answers,
adds up the files of all of them. ``flaskllm serve --workers N`` makes the folder; under
gunicorn or uWSGI set METRICS_DIR to an empty folder that is emptied before the server starts
(counters of an earlier run would otherwise carry on). Without it the values live in this
app's own registry, so the many apps a test run builds in one process never share counts.

Cardinality: labels take values from small, fixed sets (operationIds, processing types,
configured providers, allow-listed models, HTTP statuses). Token names are never labels: the
number of tokens grows without bound in some deployments, and per-token numbers are in the
usage table (GET /api/v1/admin/usage), which is exact where a scrape is only a sample.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import threading
from typing import TYPE_CHECKING, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from flaskllm.settings import Settings

if TYPE_CHECKING:
    from flaskllm.usage import UsageRecord

log = logging.getLogger("flaskllm.metrics")

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # text/plain; version=0.0.4; charset=utf-8
# LLM calls take from milliseconds (a cache hit, the offline provider) to a minute.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
REFUSALS = {"RATE_LIMITED": "rate_limited", "BUDGET_EXCEEDED": "budget_refused"}

_multiprocess_dir: str | None = None
_multiprocess_lock = threading.Lock()


def use_directory(directory: str) -> None:
    """Switch this process to multiprocess mode, writing to ``directory``. prometheus-client
    decides this per process (a module global), so every app of the process must agree."""
    global _multiprocess_dir
    directory = os.path.abspath(directory)
    with _multiprocess_lock:
        if _multiprocess_dir == directory:
            return
        if _multiprocess_dir is not None:
            raise RuntimeError(f"METRICS_DIR: this process already writes metrics to "
                               f"{_multiprocess_dir}; one folder per process")
        os.makedirs(directory, exist_ok=True)
        # prometheus-client opens each process's files under this variable when a metric
        # first takes a value; it has no other way to be told the folder.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        values.ValueClass = values.MultiProcessValue()
        _multiprocess_dir = directory
    sweep_dead_workers(directory)


def sweep_dead_workers(directory: str) -> int:
    """Drop the in-flight gauge files of worker processes that no longer run: a worker that
    was killed mid-request would otherwise count its requests as in flight for ever."""
    swept = 0
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        match = re.search(r"_(\d+)\.db$", path)
        if match and not _alive(int(match.group(1))):
            mark_process_dead(int(match.group(1)), directory)
            swept += 1
    return swept


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, as another user's process
        return True
    return True


class Metrics:
    def __init__(self, settings: Settings):
        self.directory = os.path.abspath(settings.metrics_dir) if settings.metrics_dir else None
        if self.directory:
            use_directory(self.directory)
        self.registry = CollectorRegistry()
        # In multiprocess mode the values are read back from the files, so the metric objects
        # must not also be collected from memory (they would count twice).
        own = None if self.directory else self.registry

        def counter(name: str, help: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(name, help, labels, registry=own)

        def histogram(name: str, help: str, labels: tuple[str, ...]) -> Histogram:
            return Histogram(name, help, labels, registry=own, buckets=LATENCY_BUCKETS)

        self.requests = counter(
            "flaskllm_requests", "Processed items (a batch item counts as one; one usage "
            "record each), by operation, type, provider and HTTP status",
            ("operation", "type", "provider", "status"))
        self.latency = histogram(
            "flaskllm_request_latency_seconds", "Time to answer one item, as the client saw it",
            ("operation", "type", "provider"))
        self.upstream_latency = histogram(
            "flaskllm_upstream_latency_seconds", "Time spent waiting on the LLM provider",
            ("provider",))
        self.tokens = counter("flaskllm_tokens", "LLM tokens used, input and output",
                              ("provider", "model", "direction"))
        self.cost = counter("flaskllm_cost_usd", "Cost in US dollars (unpriced models add 0 "
                            "here and 1 to flaskllm_unpriced_total)", ("provider", "model"))
        self.unpriced = counter("flaskllm_unpriced", "Items whose model has no known price",
                                ("provider", "model"))
        self.cache_hits = counter("flaskllm_cache_hits", "Items answered without an upstream "
                                  "call (result cache, or an identical request in flight)")
        self.cache_misses = counter("flaskllm_cache_misses", "Items not answered from the "
                                    "cache (computed, or failed)")
        self.rate_limited = counter("flaskllm_rate_limited", "Requests and batch items "
                                    "refused by RATE_LIMIT or AUTH_FAIL_LIMIT (429 RATE_LIMITED)")
        self.budget_refused = counter("flaskllm_budget_refused", "Requests and batch items "
                                      "refused by a token's budget or quota (429 "
                                      "BUDGET_EXCEEDED)")
        self.refused_requests = counter(
            "flaskllm_refused", "HTTP requests refused with a 4xx, by problem code (the "
            "spec's fixed set: UNAUTHORIZED, FORBIDDEN, RATE_LIMITED, ...) and status",
            ("code", "status"))
        self.http_requests = counter("flaskllm_http_requests", "HTTP answers, by operation "
                                     "and status", ("operation", "status"))
        self.http_latency = histogram("flaskllm_http_request_duration_seconds", "Time to "
                                      "answer one HTTP request, whole batches and streams "
                                      "included", ("operation",))
        self.in_flight_gauge = Gauge("flaskllm_requests_in_flight", "HTTP requests being "
                                     "answered now", registry=own, multiprocess_mode="livesum")

    # The pipeline ----------------------------------------------------------------------------

    def observe_record(self, rec: "UsageRecord") -> None:
        """Count one processed item from its usage record. Never raises: metrics must not fail
        the request they count."""
        try:
            self.requests.labels(rec.operation, rec.type, rec.provider, str(rec.status)).inc()
            self.latency.labels(rec.operation, rec.type, rec.provider).observe(rec.latency)
            if rec.upstream_latency is not None:
                self.upstream_latency.labels(rec.provider).observe(rec.upstream_latency)
            if rec.input_tokens:
                self.tokens.labels(rec.provider, rec.model, "input").inc(rec.input_tokens)
            if rec.output_tokens:
                self.tokens.labels(rec.provider, rec.model, "output").inc(rec.output_tokens)
            if rec.cost_usd is None:
                self.unpriced.labels(rec.provider, rec.model).inc()
            elif rec.cost_usd:
                self.cost.labels(rec.provider, rec.model).inc(float(rec.cost_usd))
            (self.cache_hits if rec.cached else self.cache_misses).inc()
        except Exception:
            log.exception("metrics of request %s not counted", getattr(rec, "request_id", "?"))

    def refused(self, code: str | None, status: int | None = None) -> None:
        """Count a refusal by its problem code (RATE_LIMITED, BUDGET_EXCEEDED; others pass),
        and with the HTTP ``status`` of an answer, any 4xx by its code."""
        name = REFUSALS.get(code or "")
        if name:
            getattr(self, name).inc()
        if status is not None and 400 <= status < 499:  # 499: the client went away
            self.refused_requests.labels(code or "none", str(status)).inc()

    # The middleware --------------------------------------------------------------------------

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        self.in_flight_gauge.inc()
        try:
            yield
        finally:
            self.in_flight_gauge.dec()

    def observe_http(self, operation: str | None, status: int, seconds: float) -> None:
        # Paths that match no operation (404s, scanners) share one label value.
        operation = operation or "none"
        self.http_requests.labels(operation, str(status)).inc()
        self.http_latency.labels(operation).observe(seconds)

    # GET /metrics ----------------------------------------------------------------------------

    def exposition(self) -> tuple[bytes, str]:
        if self.directory:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.directory)
            return generate_latest(registry), CONTENT_TYPE
        return generate_latest(self.registry), CONTENT_TYPE
