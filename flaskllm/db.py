"""SQLAlchemy engine and tables: SQLite by default; PostgreSQL or MySQL/MariaDB (PyMySQL, pure
Python, as PythonAnywhere recommends) by DATABASE_URL — the same code path for all three."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Engine, make_url

metadata = sa.MetaData()
# MySQL's DATETIME keeps whole seconds unless told otherwise; every stored time is UTC.
Timestamp = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
CONNECT_SECONDS = 5  # a database that does not answer fails a connect within this
# PythonAnywhere's MySQL closes connections idle for 300 s (its help page "Using MySQL"
# advises pool_recycle=280): older pooled connections are replaced before use.
MYSQL_RECYCLE_SECONDS = 280

tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100), nullable=False, unique=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # SHA-256 hex
    sa.Column("admin", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_used_at", Timestamp),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
)

# Who changed which token, when and how (flaskllm/tokenadmin.py): GET /api/v1/admin/audit.
# Rows are never updated or deleted; a purged token's rows stay, by name.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),  # a token's name, or cli:USER
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("token", sa.String(100), nullable=False),
    sa.Column("details", sa.Text, nullable=False),  # JSON: what changed (never a token)
    sa.Index("ix_audit_log_at", "at"),
)

# One row per processed item (flaskllm/usage/). The id is the record's uuid, so writing a
# record twice (a spool replayed after a crash) is harmless: inserts skip known ids. Money is
# integer micro-dollars, exact on every backend; `day` (UTC) groups without date functions.
usage_records = sa.Table(
    "usage_records",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("request_id", sa.String(100), nullable=False),
    sa.Column("token", sa.String(100), nullable=False),
    sa.Column("operation", sa.String(50), nullable=False),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("provider", sa.String(64), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("input_tokens", sa.Integer),  # NULL: the provider did not say (unknown)
    sa.Column("output_tokens", sa.Integer),
    sa.Column("cost_micros", sa.BigInteger),  # NULL: the model has no price
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("upstream_ms", sa.Float),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("error_code", sa.String(50)),
    sa.Column("cached", sa.Boolean, nullable=False),
    sa.Column("prompt", sa.Text),  # only with LOG_PROMPTS=true
    sa.Column("response", sa.Text),
    sa.Index("ix_usage_records_day_token", "day", "token"),
)

# Budgets and quotas per token (flaskllm/usage/budgets.py); NULL means no limit.
budgets = sa.Table(
    "budgets",
    metadata,
    sa.Column("token", sa.String(100), primary_key=True),
    sa.Column("daily_micros", sa.BigInteger),
    sa.Column("monthly_micros", sa.BigInteger),
    sa.Column("daily_requests", sa.Integer),
)

# What each token spent and holds reserved per period: `period` is a UTC day (2025-01-31)
# or month (2025-01). One row per (token, period), updated with conditional UPDATEs.
budget_usage = sa.Table(
    "budget_usage",
    metadata,
    sa.Column("token", sa.String(100), primary_key=True),
    sa.Column("period", sa.String(10), primary_key=True),
    sa.Column("spent_micros", sa.BigInteger, nullable=False, default=0),
    sa.Column("reserved_micros", sa.BigInteger, nullable=False, default=0),
    sa.Column("requests", sa.Integer, nullable=False, default=0),
    sa.Column("alerted", sa.Integer, nullable=False, default=0),  # last alert level sent (%)
)

# Reservations in flight, so a worker that dies between reserve and settle does not hold its
# reservation for the rest of the month: stale rows are released.
budget_reservations = sa.Table(
    "budget_reservations",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("token", sa.String(100), nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("month", sa.String(10), nullable=False),
    sa.Column("micros", sa.BigInteger, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)


def normalize_url(url: str) -> str:
    """Let users write the usual `postgresql://` and `postgres://` URLs; use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def create_engine(url: str, instance: Path | None = None) -> Engine:
    """The engine for DATABASE_URL; ``instance`` (INSTANCE_PATH) is the one folder a SQLite
    file may be made in when it is missing."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _sqlite_folder(Path(parsed.database), instance)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        # A database that does not answer fails a connect in seconds (the usage records then
        # wait in the journal) instead of holding a thread for minutes.
        options = {"connect_args": {"connect_timeout": CONNECT_SECONDS}}
        if parsed.get_backend_name() in ("mysql", "mariadb"):
            options["pool_recycle"] = MYSQL_RECYCLE_SECONDS
            if "charset" not in parsed.query:  # prompts hold any character, emoji too
                options["connect_args"]["charset"] = "utf8mb4"
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                                  **options)
    _create_tables(engine)
    return engine


def _sqlite_folder(path: Path, instance: Path | None) -> None:
    """The instance folder (INSTANCE_PATH) is made; any other must exist: a typo in
    DATABASE_URL would otherwise put the tokens and usage in a new, empty database."""
    from flaskllm.settings import SettingsError

    folder = path.parent
    if instance is not None and folder.resolve() == instance.resolve():
        folder.mkdir(parents=True, exist_ok=True)
    elif not folder.is_dir():
        raise SettingsError(f"DATABASE_URL: the folder {folder} does not exist (got "
                            f"sqlite:///{path}); create it, or correct the path")


def _create_tables(engine: Engine) -> None:
    """Create the missing tables. Workers that start together on a new database (uWSGI and
    `flaskllm serve --workers N` fork theirs, each making its engine on first use) race to
    create the same table; the loser's "already exists" (a unique violation on PostgreSQL)
    means the table is there now, so another pass, which checks first, creates the rest."""
    for attempt in range(5):
        try:
            metadata.create_all(engine)
            _allow_unknown_tokens(engine)
            return
        except sa.exc.DBAPIError as exc:
            lost_race = isinstance(exc, sa.exc.IntegrityError) or "already exists" in str(exc)
            if not lost_race or attempt == 4:
                raise
            time.sleep(0.05 * (attempt + 1))


def _allow_unknown_tokens(engine: Engine) -> None:
    """Databases made before token counts could be unknown (NULL) have NOT NULL columns:
    relax them, in place (SQLite cannot alter a column, so its table is copied once)."""
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns("usage_records")}
    if columns["input_tokens"]["nullable"] and columns["output_tokens"]["nullable"]:
        return
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            old = usage_records.name + "_old"
            conn.execute(sa.text(f"ALTER TABLE {usage_records.name} RENAME TO {old}"))
            for index in usage_records.indexes:  # the index names go with the old table
                conn.execute(sa.text(f"DROP INDEX IF EXISTS {index.name}"))
            usage_records.create(conn)
            names = ", ".join(c.name for c in usage_records.columns)
            conn.execute(sa.text(f"INSERT INTO {usage_records.name} ({names}) "
                                 f"SELECT {names} FROM {old}"))
            conn.execute(sa.text(f"DROP TABLE {old}"))
        else:
            modify = ("MODIFY {} INTEGER NULL" if conn.dialect.name in ("mysql", "mariadb")
                      else "ALTER COLUMN {} DROP NOT NULL")
            for name in ("input_tokens", "output_tokens"):
                conn.execute(sa.text(f"ALTER TABLE {usage_records.name} "
                                     + modify.format(name)))


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets readers (token checks) run while usage records are written.
    cursor = dbapi_conn.cursor()
    try:
        _wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _wal(cursor) -> None:
    """WAL is kept in the file once set. Switching to it needs a moment alone with the file,
    and SQLite does not wait for that (no busy timeout): workers that open a new database
    together get "database is locked". Reading the mode needs no lock, so only a database
    not yet in WAL is switched, retried while another connection holds the lock."""
    import sqlite3

    for attempt in range(100):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() in ("wal", "memory"):
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 99:
                raise
            time.sleep(0.01 * min(attempt + 1, 10))


def insert_ignore(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> int:
    """Insert the rows whose primary key is not there yet; return how many were new.

    One statement on SQLite and PostgreSQL (ON CONFLICT DO NOTHING) and on MySQL (INSERT
    IGNORE, whose row count is the rows inserted), so concurrent writers and replays never
    fail or double; row by row in savepoints elsewhere. On MySQL a duplicate takes a shared
    lock on the existing row: a transaction that then updates that row must not run this in
    the same transaction where another could too (flaskllm/usage/budget_sql.py seeds first)."""
    if not rows:
        return 0
    key = list(table.primary_key.columns)[0]
    if conn.dialect.name in ("mysql", "mariadb"):
        return conn.execute(table.insert().prefix_with("IGNORE"), rows).rowcount
    if conn.dialect.name in ("postgresql", "sqlite"):
        if conn.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(table).on_conflict_do_nothing().returning(key)
        return len(conn.execute(stmt, rows).all())
    added = 0
    for row in rows:
        try:
            with conn.begin_nested():
                conn.execute(table.insert(), row)
            added += 1
        except sa.exc.IntegrityError:
            pass  # already there: that is the point of this function
    return added


def journal_name(url: str) -> str:
    """The default usage journal's file name for a database: its records are drained into
    that database only, so two servers with different databases in one instance folder (or
    a changed DATABASE_URL) never move records into the wrong one. The password is left out,
    so changing it keeps the name."""
    shown = make_url(normalize_url(url)).render_as_string(hide_password=True)
    return f"usage-spool-{hashlib.sha256(shown.encode()).hexdigest()[:8]}.jsonl"


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))


def unreachable(exc: BaseException) -> bool:
    """The database is away (or unusable) rather than refusing a statement's values."""
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, (sa.exc.OperationalError, sa.exc.InterfaceError))
    return isinstance(exc, (sa.exc.DisconnectionError, sa.exc.TimeoutError, OSError))


def reason(exc: BaseException) -> str:
    """The driver's message, first line, for a log: SQLAlchemy's own quotes the parameters."""
    return f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}".splitlines()[0]
