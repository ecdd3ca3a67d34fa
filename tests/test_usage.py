"""Usage records: batched off the request's path, flushed on close, exact to the micro-dollar
on SQLite and the real PostgreSQL, spooled while the database is down and replayed exactly
once when it is back; reports and ``flaskllm usage``."""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from fakes.alerts import FakeAlerts
from flaskllm import cli, db
from flaskllm.prices import Prices
from flaskllm.settings import Settings
from flaskllm.usage import Recorder, UsageRecord, report
from flaskllm.usage.spool import Spool

D_ZERO = Decimal("0")
PRICES = Prices.load(Settings.from_env(environ={}, env_file=None))
DEAD = {"sqlite": "sqlite:////nonexistent-dir/flaskllm/usage.db",
        "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/test",
        "mysql": "mysql+pymysql://root@127.0.0.1:1/test"}
URL_FIXTURES = {"postgresql": "postgres_url", "mysql": "mysql_url"}


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def backend(request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'usage.db'}" if request.param == "sqlite"
           else request.getfixturevalue(URL_FIXTURES[request.param]))
    engine = db.create_engine(url)
    yield request.param, engine
    engine.dispose()


@pytest.fixture
def engine(tmp_path):
    engine = db.create_engine(f"sqlite:///{tmp_path / 'usage.db'}")
    yield engine
    engine.dispose()


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def rec(token: str, model: str = "gpt-4o-mini", inp: int = 1000, out: int = 500,
        **fields) -> UsageRecord:
    values = dict(request_id=uuid.uuid4().hex, token=token, operation="process",
                  type="summary", provider="openai", model=model, input_tokens=inp,
                  output_tokens=out, cost_usd=PRICES.cost(model, inp, out), latency=0.25,
                  upstream_latency=0.2)
    values.update(fields)
    return UsageRecord(**values)


def rows(engine, token: str) -> list[UsageRecord]:
    t = db.usage_records
    with engine.connect() as conn:
        return [UsageRecord.from_row(r) for r in conn.execute(
            sa.select(t).where(t.c.token == token).order_by(t.c.created_at))]


def test_records_are_journaled_at_once_and_moved_in_batches(engine, tmp_path):
    recorder = Recorder(engine, tmp_path / "spool.jsonl", batch_size=10, flush_seconds=30)
    batches = []
    insert = recorder._insert_rows
    recorder._insert_rows = lambda batch: batches.append(len(batch)) or insert(batch)

    def journaled() -> int:
        return len(recorder.spool.path.read_text().splitlines())

    async def record(n: int) -> int:
        for _ in range(n):
            recorder.record(rec("batcher"))
        await asyncio.sleep(0.3)
        return recorder.count(token="batcher")

    async def go():
        assert await record(5) == 5  # the first pass at start-up drains what is there
        assert await record(5) == 5  # then a batch (10) or FLUSH_SECONDS (30) is awaited...
        assert journaled() == 5  # ...with the records in the journal, not in memory
        assert await record(5) == 15  # 10 recorded: a drain is due at once
        recorder.record(rec("batcher"))
        await recorder.aclose()

    asyncio.run(go())
    assert batches == [5, 10, 1]
    assert recorder.count(token="batcher") == 16
    assert not recorder.spool.pending()


def test_record_never_blocks_and_never_raises(engine, tmp_path, caplog):
    recorder = Recorder(engine, tmp_path / "spool.jsonl")

    async def go():
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(1000):
            recorder.record(rec("fast"))
        took = loop.time() - started
        recorder.record("not a record")  # a bug in a caller: logged, not raised
        await recorder.aclose()
        return took

    # One journal write each (tens of µs; a loaded test machine takes far longer): loosely
    # bounded, so that a record that waited on the database would fail it.
    assert asyncio.run(go()) < 3.0
    assert recorder.count(token="fast") == 1000
    assert "could not be stored" in caplog.text


def test_prompts_are_kept_only_with_log_prompts(engine, tmp_path):
    for log_prompts in (False, True):
        token = unique("prompts")
        recorder = Recorder(engine, tmp_path / "spool.jsonl", log_prompts=log_prompts)
        recorder.record(rec(token, prompt="the secret plan", response="a summary"))  # no loop
        stored = rows(engine, token)[0]
        assert (stored.prompt, stored.response) == (
            ("the secret plan", "a summary") if log_prompts else (None, None))


def test_exact_accounting(backend, tmp_path):
    """N records of known token counts: every count and the cost match to the micro-dollar."""
    name, engine = backend
    token = unique("acct")
    calls = [("gpt-4o-mini", 1234, 567), ("gpt-4.1", 800, 200), ("claude-sonnet-4", 3000, 1000),
             ("claude-3-5-haiku-20241022", 999, 333), ("offline-1", 50, 20)] * 40
    recorder = Recorder(engine, tmp_path / "spool.jsonl", batch_size=64, flush_seconds=0.05)

    async def go():
        for model, inp, out in calls:
            recorder.record(rec(token, model, inp, out, type="keywords" if inp > 1000
                                else "summary"))
        await recorder.aclose()

    asyncio.run(go())
    # By hand, per 40 rounds: gpt-4o-mini (1234×0.15 + 567×0.60)/1e6 = 0.0005253 → 0.000525
    # gpt-4.1 (800×2 + 200×8)/1e6 = 0.0032; claude-sonnet-4 (3000×3 + 1000×15)/1e6 = 0.024;
    # claude-3-5-haiku (999×0.8 + 333×4)/1e6 = 0.0021312 → 0.002131; offline-1: 0.
    expected = 40 * (Decimal("0.000525") + Decimal("0.0032") + Decimal("0.024")
                     + Decimal("0.002131"))
    assert expected == Decimal("1.194240")
    found = report.build(engine, datetime.now(timezone.utc) - timedelta(hours=1), token=token)
    assert found.totals.requests == 200
    assert found.totals.input_tokens == 40 * (1234 + 800 + 3000 + 999 + 50)
    assert found.totals.output_tokens == 40 * (567 + 200 + 1000 + 333 + 20)
    assert found.totals.cost_usd == expected
    assert round(float(found.totals.cost_usd), 2) == 1.19  # to the cent, and beyond
    by_model = {line.key: line.cost_usd for line in found.by_model}
    assert by_model["claude-3-5-haiku-20241022"] == Decimal("0.085240")
    assert by_model["offline-1"] == Decimal("0")
    assert {line.key: line.requests for line in found.by_type} == {"keywords": 80,
                                                                   "summary": 120}
    assert sum(r.cost_usd for r in rows(engine, token)) == expected


def test_unpriced_records_are_null_not_zero(engine, tmp_path):
    alerts = FakeAlerts()
    prices = Prices.load(Settings.from_env(environ={}, env_file=None), alerts=alerts)
    recorder = Recorder(engine, tmp_path / "spool.jsonl")
    for model in ("house-model", "house-model", "gpt-4o-mini"):
        recorder.record(rec("mixed", model, 100, 100, cost_usd=prices.cost(model, 100, 100)))
    found = report.build(engine, datetime.now(timezone.utc) - timedelta(hours=1),
                         token="mixed")
    assert found.totals.unpriced == 2 and found.totals.cost_usd == Decimal("0.000075")
    assert {line.key: line.cost_usd for line in found.by_model}["house-model"] is None
    assert alerts.kinds() == ["unpriced_model"]


def _replay_all(recorder: Recorder) -> int:
    return asyncio.run(recorder.replay())


def test_database_down_mid_run_spools_then_replays_exactly_once(backend, tmp_path):
    name, engine = backend
    token = unique("outage")
    alerts = FakeAlerts()
    recorder = Recorder(engine, tmp_path / "spool.jsonl", alerts=alerts, flush_seconds=0.05,
                        retry_seconds=3600)
    dead = sa.create_engine(DEAD[name])

    async def record(n: int):
        for _ in range(n):
            recorder.record(rec(token))
        await recorder.flush()

    async def go():
        await record(10)
        recorder.engine = dead  # the database goes away mid-run
        await record(15)
        assert recorder.down and recorder.stats["written"] == 10
        assert alerts.kinds() == ["usage_store"]
        await record(5)  # in the journal: no new alert
        assert alerts.kinds() == ["usage_store"] and recorder.stats["journaled"] == 30
        assert await recorder.replay() == 0  # still down: nothing lost, nothing moved
        recorder.engine = engine  # back
        added = await recorder.replay()
        await recorder.aclose()
        return added

    assert asyncio.run(go()) == 20
    assert recorder.count(token=token) == 30
    assert not recorder.spool.pending() and not recorder.down
    assert alerts.kinds("resolved") == ["usage_store"]
    assert alerts.resolved[0][3] == {"replayed": 20, "added": 20}
    assert _replay_all(recorder) == 0 and recorder.count(token=token) == 30


def test_a_crash_between_insert_and_delete_doubles_nothing(engine, tmp_path):
    spool = Spool(tmp_path / "spool.jsonl")
    records = [rec("crash") for _ in range(7)]
    spool.append(records)
    recorder = Recorder(engine, spool.path)
    kept = tmp_path / "kept"

    def insert_then_crash(batch):
        added = recorder._insert(batch)
        shutil.copy(next(iter(spool.claimed())), kept)  # what a crash before unlink leaves
        return added

    assert spool.replay(insert_then_crash) == (7, 7)
    shutil.copy(kept, spool.path.with_name(spool.path.name + ".replay-left-by-a-crash"))
    assert spool.pending()
    assert spool.replay(recorder._insert) == (7, 0)  # read again, inserted never
    assert recorder.count(token="crash") == 7 and not spool.pending()


def test_the_replay_task_brings_the_spool_back_by_itself(engine, tmp_path):
    recorder = Recorder(sa.create_engine(DEAD["sqlite"]), tmp_path / "spool.jsonl",
                        flush_seconds=0.01, retry_seconds=0.05)

    async def go():
        for _ in range(12):
            recorder.record(rec("auto"))
        await recorder.flush()
        assert recorder.down and recorder.spool.pending()
        recorder.engine = engine
        for _ in range(100):
            if not recorder.down and not recorder.spool.pending():
                break
            await asyncio.sleep(0.02)
        await recorder.aclose()

    asyncio.run(go())
    assert recorder.count(token="auto") == 12 and recorder.stats["written"] == 12


def test_a_spool_left_by_an_earlier_run_is_replayed_at_start(engine, tmp_path):
    Spool(tmp_path / "spool.jsonl").append([rec("earlier") for _ in range(3)])
    recorder = Recorder(engine, tmp_path / "spool.jsonl", retry_seconds=3600)

    async def go():
        recorder.start()
        await asyncio.sleep(0.2)
        await recorder.aclose()

    asyncio.run(go())
    assert recorder.count(token="earlier") == 3


def test_workers_sharing_a_spool_lose_and_double_nothing(engine, tmp_path):
    """One process appends while another replays the same file (each its own Spool)."""
    path = tmp_path / "spool.jsonl"
    writer, replayer = Spool(path), Spool(path)
    recorder = Recorder(engine, path)
    sent = [rec("shared") for _ in range(600)]
    added = []

    def append():
        for start in range(0, len(sent), 20):
            writer.append(sent[start:start + 20])

    thread = threading.Thread(target=append)
    thread.start()
    while thread.is_alive():
        added.append(replayer.replay(recorder._insert)[1])
    thread.join()
    added.append(replayer.replay(recorder._insert)[1])
    assert sum(added) == 600 and recorder.count(token="shared") == 600

    # The claim waits while another process (here: another Spool) holds the lock to append.
    writer.append([rec("shared")])
    holding, release = threading.Event(), threading.Event()

    def hold_lock():
        with writer._locked():
            holding.set()
            release.wait(5)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    holding.wait(5)
    claim = threading.Thread(target=replayer.replay, args=(recorder._insert,))
    claim.start()
    claim.join(0.3)
    assert claim.is_alive() and recorder.count(token="shared") == 600
    release.set()
    claim.join(5)
    holder.join(5)
    assert recorder.count(token="shared") == 601


def test_a_record_the_database_refuses_is_set_aside_not_held(engine, tmp_path, caplog):
    recorder = Recorder(engine, tmp_path / "spool.jsonl")
    good, bad = rec("poison"), rec("poison", input_tokens="lots")
    recorder.record(good)
    recorder.record(bad)
    recorder.record(rec("poison"))
    assert recorder.count(token="poison") == 2 and not recorder.down
    rejected = (tmp_path / "spool.jsonl.rejected").read_text().splitlines()
    assert [json.loads(line)["id"] for line in rejected] == [bad.id]
    assert "kept in" in caplog.text


def test_report_groups_and_ranges(engine, tmp_path):
    recorder = Recorder(engine, tmp_path / "spool.jsonl")
    now = datetime.now(timezone.utc)
    for days_ago, token, kind in [(0, "a", "summary"), (0, "b", "keywords"),
                                  (1, "a", "summary"), (10, "a", "summary")]:
        recorder.record(rec(token, created_at=now - timedelta(days=days_ago), type=kind,
                            status=200 if token == "a" else 502, error_code=None
                            if token == "a" else "PROVIDER_ERROR", cached=days_ago == 1))
    week = report.build(engine, now - timedelta(days=7), now + timedelta(seconds=1))
    assert week.totals.requests == 3 and week.totals.errors == 1 and week.totals.cached == 1
    assert [line.key for line in week.by_day] == [(now - timedelta(days=1)).strftime(
        "%Y-%m-%d"), now.strftime("%Y-%m-%d")]
    assert {line.key: line.requests for line in week.by_token} == {"a": 2, "b": 1}
    only_a = report.build(engine, now - timedelta(days=30), token="a")
    assert only_a.totals.requests == 3 and only_a.by_token == []
    as_json = json.loads(report.render(week, "json"))
    assert as_json["totals"]["cost_usd"] == pytest.approx(3 * 0.00045)
    csv_lines = report.render(week, "csv").splitlines()
    assert csv_lines[0].startswith("group,key,requests") and "total,total,3,1,1" in csv_lines[1]
    assert "all tokens" in report.render(week, "table")


@pytest.mark.parametrize("text, delta", [("7d", timedelta(days=7)), ("24h", timedelta(hours=24)),
                                         ("30m", timedelta(minutes=30)),
                                         ("2w", timedelta(weeks=2))])
def test_parse_when_durations(text, delta):
    now = datetime(2025, 1, 31, 12, tzinfo=timezone.utc)
    assert report.parse_when(text, now) == now - delta


def test_parse_when_dates_and_mistakes():
    assert report.parse_when("2025-01-02") == datetime(2025, 1, 2, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="7d"):
        report.parse_when("last week")


def test_the_usage_command(engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", str(engine.url))
    Recorder(engine, tmp_path / "spool.jsonl").record(rec("cli-user", "gpt-4.1", 1000, 1000))
    assert cli.main(["usage", "--since", "1d", "--format", "json", "--token", "cli-user"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["totals"]["requests"] == 1 and printed["totals"]["cost_usd"] == 0.01
    assert cli.main(["usage", "--format", "csv"]) == 0
    assert "model,gpt-4.1,1,0,0,1000,1000,0.010000,0" in capsys.readouterr().out
    assert cli.main(["usage", "--since", "yesterday-ish"]) == 2
    assert "expected a duration" in capsys.readouterr().err


def test_the_app_builds_the_pieces_lazily_and_its_shutdown_flushes_them(settings, tmp_path):
    from flaskllm.app import create_app

    app = create_app(settings.replace(usage_spool_file=str(tmp_path / "spool.jsonl")))
    state = app.state
    assert not {"usage", "budgets", "prices", "alerts"} & set(vars(state))

    async def go():
        state.usage.record(rec("app-state", "offline-1", 10, 5, cost_usd=state.prices.cost(
            "offline-1", 10, 5)))
        assert not (await state.budgets.reserve("app-state", D_ZERO)).counted
        await state.aclose()  # what the app's lifespan does on shutdown

    asyncio.run(go())
    assert rows(state.engine, "app-state")[0].cost_usd == D_ZERO
