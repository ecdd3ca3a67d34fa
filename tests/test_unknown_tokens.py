"""Token counts a provider did not report are stored as NULL (unknown, not 0), and a database
made before that was possible is relaxed in place at start-up, its rows kept."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from flaskllm import db
from flaskllm.usage.records import UsageRecord

OLD_TABLE = """CREATE TABLE usage_records (id VARCHAR(32) PRIMARY KEY,
    created_at TIMESTAMP NOT NULL, day VARCHAR(10) NOT NULL, request_id VARCHAR(100) NOT NULL,
    token VARCHAR(100) NOT NULL, operation VARCHAR(50) NOT NULL, type VARCHAR(20) NOT NULL,
    provider VARCHAR(64) NOT NULL, model VARCHAR(200) NOT NULL,
    input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost_micros BIGINT,
    latency_ms FLOAT NOT NULL, upstream_ms FLOAT, status INTEGER NOT NULL,
    error_code VARCHAR(50), cached BOOLEAN NOT NULL, prompt TEXT, response TEXT)"""


def _old_database(url: str) -> None:
    engine = sa.create_engine(db.normalize_url(url))
    with engine.begin() as conn:
        conn.execute(sa.text(OLD_TABLE))
        conn.execute(sa.text("CREATE INDEX ix_usage_records_day_token "
                             "ON usage_records (day, token)"))
        conn.execute(db.usage_records.insert(), UsageRecord(
            "r1", "t", "webhook.create", "summary", "openai", "gpt-4o-mini", 3, 4).row())
    engine.dispose()


def _check(url: str) -> None:
    engine = db.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(db.usage_records.insert(), UsageRecord(
                "r2", "t", "webhook.create", "summary", "local", "llama", None, None).row())
            rows = conn.execute(sa.select(db.usage_records.c.request_id,
                                          db.usage_records.c.input_tokens,
                                          db.usage_records.c.output_tokens)
                                .order_by(db.usage_records.c.request_id)).all()
        assert [tuple(r) for r in rows] == [("r1", 3, 4), ("r2", None, None)]
        read = UsageRecord.from_row(engine.connect().execute(
            sa.select(db.usage_records).where(db.usage_records.c.request_id == "r2")).one())
        assert (read.input_tokens, read.output_tokens) == (None, None)
    finally:
        engine.dispose()


def test_an_old_sqlite_database_takes_unknown_tokens(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _old_database(url)
    _check(url)
    engine = db.create_engine(url)  # the next start changes nothing
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.usage_records)
                            ).scalar_one() == 2
    engine.dispose()


def test_an_old_postgresql_database_takes_unknown_tokens(postgres_url):
    name = f"flaskllm_i11_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(db.normalize_url(postgres_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    try:
        _old_database(url)
        _check(url)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()
