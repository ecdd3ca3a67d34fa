"""Workers that open a new SQLite database together (uWSGI and `flaskllm serve --workers N`
fork theirs): switching the file to WAL must wait for another connection's write instead of
failing the worker's first request with "database is locked" (it did, in tests/test_uwsgi.py).
The PostgreSQL side of the same start-up race is in tests/test_shared_state.py."""

from __future__ import annotations

import sqlite3
import threading

import sqlalchemy as sa

from flaskllm import db


def test_a_new_database_locked_by_a_writer_is_waited_for(tmp_path):
    path = tmp_path / "new.db"
    writer = sqlite3.connect(path, check_same_thread=False)
    writer.execute("CREATE TABLE other (x)")
    writer.commit()
    writer.execute("BEGIN IMMEDIATE")  # another worker, in the middle of a write
    writer.execute("INSERT INTO other VALUES (1)")
    release = threading.Timer(0.3, writer.commit)
    release.start()
    try:
        engine = db.create_engine(f"sqlite:///{path}")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.execute(sa.select(sa.func.count()).select_from(db.tokens)).scalar() == 0
        engine.dispose()
    finally:
        release.join()
        writer.close()


def test_an_in_memory_database_keeps_its_mode():
    engine = db.create_engine("sqlite:///:memory:")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "memory"
    engine.dispose()
