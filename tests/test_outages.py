"""Store outages under steady traffic, against real `flaskllm serve` processes and their own
PostgreSQL and Redis instances (tests/stores.py), stopped and paused on purpose (issue 14):
degrade, don't stop; no 500s; bounded waits; nothing lost, nothing doubled."""

from __future__ import annotations

import secrets
import threading
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa

from flaskllm import redisutil
from servers import clean_env, cli, serve_processes
from stores import own_postgres, own_redis

WEBHOOK = "/api/v1/webhook"
OUTAGE_SECONDS = 20
PAUSE_SECONDS = 10


def token_of(output: str) -> str:
    return next(word for word in output.split() if word.startswith("fllm_"))


class Traffic:
    """Requests one after another from each (server, token) pair, in threads, recorded as
    (label, status, code, request id, seconds, Retry-After, started at: monotonic). Each
    pair's first request (a cold start: imports, the keyword model) is made before."""

    def __init__(self, pairs: list[tuple[str, str, str]], pause: float = 0.05):
        self.pairs, self.pause = pairs, pause
        self.results: list[tuple] = []
        self._stop = threading.Event()
        self._warm = threading.Semaphore(0)
        self._threads = [threading.Thread(target=self._run, args=pair) for pair in pairs]

    def _run(self, label: str, url: str, token: str) -> None:
        with httpx.Client(timeout=10) as http:
            http.post(url + WEBHOOK, json={"prompt": "Warm up.", "type": "keywords"},
                      headers={"X-API-Token": token})
            self._warm.release()
            n = 0
            while not self._stop.is_set():
                n += 1
                rid = uuid.uuid4().hex
                started, at = time.perf_counter(), time.monotonic()
                try:
                    r = http.post(url + WEBHOOK, json={"prompt": f"Steady traffic {label} {n}.",
                                                       "type": "keywords"},
                                  headers={"X-API-Token": token, "X-Request-ID": rid})
                    code = r.json().get("code") if r.status_code >= 400 else None
                    self.results.append((label, r.status_code, code, rid,
                                         time.perf_counter() - started,
                                         r.headers.get("retry-after"), at))
                except httpx.HTTPError as exc:
                    self.results.append((label, type(exc).__name__, None, rid,
                                         time.perf_counter() - started, None, at))
                time.sleep(self.pause)

    def __enter__(self):
        for thread in self._threads:
            thread.start()
        for _ in self._threads:
            self._warm.acquire()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def of(self, label: str) -> list[tuple]:
        return [r for r in self.results if r[0] == label]

    def between(self, start: float, end: float) -> list[tuple]:
        """The requests that began in [start, end) (monotonic)."""
        return [r for r in self.results if start <= r[6] < end]


def assert_no_tracebacks(tmp_path) -> None:
    for log in tmp_path.glob("server*.log"):
        text = log.read_text()
        assert "Traceback" not in text, text[-5000:]


@pytest.mark.services
def test_a_postgresql_outage_degrades_and_loses_nothing(tmp_path):
    with own_postgres() as pg, own_redis() as redis:
        api_token = secrets.token_urlsafe(32)
        base = clean_env(ENVIRONMENT="production", API_TOKEN=api_token, DATABASE_URL=pg.url,
                         RATE_LIMIT_ENABLED="false", CACHE_TTL="0", LOG_LEVEL="info",
                         REDIS_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}")
        plain = token_of(cli(base, "tokens", "create", "plain"))
        limited = token_of(cli(base, "tokens", "create", "limited", "--quota-daily", "100000"))
        # Server 0 counts budgets in the database, server 1 in Redis.
        env_of = lambda n: {"USAGE_SPOOL_FILE": str(tmp_path / f"spool{n}.jsonl"),
                            **({"REDIS_URL": redis.url} if n else {})}
        with serve_processes(base, 2, tmp_path, env_of=env_of) as (sql_url, redis_url):
            pairs = [("api", sql_url, api_token), ("plain", sql_url, plain),
                     ("limited-sql", sql_url, limited), ("limited-redis", redis_url, limited),
                     ("plain-redis", redis_url, plain)]
            with Traffic(pairs) as traffic:
                time.sleep(3)  # every token is verified and its limits read before the outage
                pg.stop()
                stopped = time.monotonic()
                time.sleep(OUTAGE_SECONDS)
                during = traffic.between(stopped, time.monotonic())
                health = httpx.get(sql_url + "/api/v1/health", timeout=5)
                pg.start()
                time.sleep(3)
            assert health.status_code == 200, health.text
            assert health.json()["status"] == "degraded"
            assert health.json()["checks"]["database"]["status"] == "down"

            results = traffic.results
            assert not [r for r in results if r[1] == 500 or isinstance(r[1], str)], results
            for label in ("api", "plain", "plain-redis", "limited-redis"):
                assert {r[1] for r in traffic.of(label)} == {200}, (label, traffic.of(label))
            # Counted in the database, a quota cannot be checked while it is away: 503 with
            # Retry-After, BUDGETS_UNAVAILABLE, as the spec documents.
            refused = [r for r in traffic.of("limited-sql") if r[1] != 200]
            assert refused and all(r[1:3] == (503, "BUDGETS_UNAVAILABLE") and r[5]
                                   for r in refused), refused
            assert len(during) > 5 * OUTAGE_SECONDS  # traffic went on all along

            # Every 2xx has one usage record once the servers replay their spools (every
            # 30 s; the servers must still run for that).
            engine = sa.create_engine(pg.url.replace("postgresql://", "postgresql+psycopg://"))
            answered = {r[3] for r in results if r[1] == 200}
            deadline = time.monotonic() + 60
            while True:
                with engine.connect() as conn:
                    rows = conn.execute(sa.text("SELECT request_id, count(*) FROM "
                                                "usage_records GROUP BY request_id")).all()
                counts = dict(rows)
                if answered <= set(counts) or time.monotonic() > deadline:
                    break
                time.sleep(1)
            engine.dispose()
            missing = answered - set(counts)
            assert not missing, f"{len(missing)} of {len(answered)} answers have no record"
            assert {counts[rid] for rid in answered} == {1}


def test_an_operation_that_needs_the_database_gets_503_not_500(app, client, auth, caplog):
    from test_core import assert_problem

    assert client.get("/api/v1/usage", headers=auth).status_code == 200
    app.state.engine = sa.create_engine("sqlite:////nonexistent-dir/x.db")
    for _ in range(2):
        response = client.get("/api/v1/usage", headers=auth)
        assert_problem(response, 503, "DATABASE_UNAVAILABLE")
        assert response.headers["retry-after"]
    assert "Traceback" not in caplog.text
    assert caplog.text.count("the database does not answer") <= 1


@pytest.mark.services
def test_a_paused_redis_costs_no_request_more_than_half_a_second(tmp_path):
    """Redis stopped with SIGSTOP (it accepts connections and answers nothing) for 10 s under
    steady traffic: every request answers within 0.5 s, with the rate limit failing open on
    one server and closed on the other (503 SERVICE_UNAVAILABLE), the cache skipped, and
    budgets in Redis refused (503 BUDGETS_UNAVAILABLE), each 503 with Retry-After; after it,
    everything answers 200 again."""
    with own_redis() as redis:
        api_token = secrets.token_urlsafe(32)
        base = clean_env(ENVIRONMENT="production", API_TOKEN=api_token, REDIS_URL=redis.url,
                         DATABASE_URL=f"sqlite:///{tmp_path / 'usage.db'}", LOG_LEVEL="info",
                         RATE_LIMIT="100000/minute",
                         REDIS_KEY_PREFIX=f"test-{uuid.uuid4().hex[:8]}")
        plain = token_of(cli(base, "tokens", "create", "plain"))
        limited = token_of(cli(base, "tokens", "create", "limited", "--quota-daily", "100000"))
        env_of = lambda n: {"USAGE_SPOOL_FILE": str(tmp_path / f"spool{n}.jsonl"),
                            "RATE_LIMIT_FAIL_OPEN": "true" if n == 0 else "false"}
        with serve_processes(base, 2, tmp_path, env_of=env_of) as (open_url, closed_url):
            pairs = [("open-api", open_url, api_token), ("open-plain", open_url, plain),
                     ("open-limited", open_url, limited), ("closed-plain", closed_url, plain)]
            with Traffic(pairs, pause=0.02) as traffic:
                time.sleep(2)
                redis.pause()
                paused = time.monotonic()
                time.sleep(PAUSE_SECONDS)
                redis.resume()
                resumed = time.monotonic()
                time.sleep(redisutil.OPEN_SECONDS + 2)
            during = [r for r in traffic.results if paused <= r[6] + r[4] and r[6] < resumed]
            slowest = sorted(during, key=lambda r: r[4])[-5:]
            assert all(r[4] < 0.5 for r in during), slowest
            assert len(during) > 20 * PAUSE_SECONDS  # traffic went on all along
            statuses = {label: {r[1] for r in during if r[0] == label} for label, *_ in pairs}
            assert statuses["open-api"] == statuses["open-plain"] == {200}, statuses
            codes = {(r[0], r[2]) for r in during if r[1] != 200}
            assert codes == {("open-limited", "BUDGETS_UNAVAILABLE"),
                             ("closed-plain", "SERVICE_UNAVAILABLE")}, codes
            refused = [r for r in during if r[1] != 200]
            assert {r[1] for r in refused} == {503} and all(r[5] for r in refused)
            after = [r for r in traffic.results if r[6] > resumed + redisutil.OPEN_SECONDS + 1]
            assert after and {r[1] for r in after} == {200}, after[-5:]
    assert_no_tracebacks(tmp_path)
