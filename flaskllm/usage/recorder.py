"""The recorder: every usage record is in the journal before the response finishes, and is
moved into the database in batches by whichever worker drains next.

    app.usage.record(rec)      append it to the journal (flaskllm/usage/spool.py): one write
                               on the request's path, durable when the process is killed
    (drain)                    claim the journal, insert its records (skipping ids already
                               stored: exactly once), delete it
    await app.usage.flush()    drain now: everything recorded so far is in the database
    await app.usage.aclose()   stop the background task, drain one last time

Who drains: under uvicorn a background task of the event loop, every FLUSH_SECONDS (at once
when BATCH_SIZE records wait); under WSGI (``background = False``, set by wsgi.py) the worker
itself, after each response it has sent (``drain_if_due``): PythonAnywhere's uWSGI runs no
Python threads while a worker waits for requests, so nothing may depend on one. Outside an
event loop (the CLI) a record is drained at once. A record waits in the journal until some
worker of the server drains, which the next request to any of them does.

When an insert fails the store is marked down (one log line and a ``usage_store`` alert, not
one per batch), the records stay in the journal, and a drain is tried again every
RETRY_SECONDS (a ping first), which announces the recovery.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from typing import TYPE_CHECKING, Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from flaskllm import db
from flaskllm.usage.records import UsageRecord
from flaskllm.usage.spool import Spool

if TYPE_CHECKING:
    from flaskllm.alerts import Alerter

log = logging.getLogger("flaskllm.usage")

BATCH_SIZE = 200  # records in the journal that make a drain due at once
FLUSH_SECONDS = 1.0  # otherwise the longest a record waits in the journal while requests come
RETRY_SECONDS = 30.0  # how often the database is tried again while it is away
CLOSE_SECONDS = 30.0  # how long shutdown waits for the last drain


class Recorder:
    def __init__(self, engine: Engine | Callable[[], Engine], spool_path: str | os.PathLike, *,
                 alerts: "Alerter | None" = None, log_prompts: bool = False,
                 batch_size: int = BATCH_SIZE, flush_seconds: float = FLUSH_SECONDS,
                 retry_seconds: float = RETRY_SECONDS, background: bool = True):
        # An engine, or a function that makes one: building an engine connects (to create the
        # tables), and a database that is down then must only mean "it waits in the journal".
        self._engine = engine if isinstance(engine, Engine) else None
        self._make_engine = engine if self._engine is None else None
        self.spool = Spool(spool_path)
        self.alerts = alerts
        self.log_prompts = log_prompts
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.retry_seconds = retry_seconds
        self.background = background
        self.down = False
        self.stats = {"journaled": 0, "written": 0}
        self._recorded = 0  # journaled by this process since its last drain
        self._drained_at = float("-inf")  # monotonic time of this process's last drain try
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []
        self._draining: asyncio.Lock | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._make_engine()
        return self._engine

    @engine.setter
    def engine(self, engine: Engine) -> None:  # tests point it at a dead database and back
        self._engine = engine

    # The request side ------------------------------------------------------------------------

    def record(self, record: UsageRecord) -> None:
        """Journal one record. Never raises: a usage record must not fail the request it
        counts (a journal that cannot be written is logged, naming the record)."""
        try:
            if not self.log_prompts and (record.prompt is not None
                                         or record.response is not None):
                record = dataclasses.replace(record, prompt=None, response=None)
            self.spool.append([record])
            self.stats["journaled"] += 1
            self._recorded += 1
        except Exception:
            log.exception("usage record %s of request %s could not be stored",
                          getattr(record, "id", "?"), getattr(record, "request_id", "?"))
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a script, the CLI): into the database at once
            self.drain()
            return
        self.start(loop)
        if self._tasks and self._recorded >= self.batch_size:
            self._wake.set()

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start the background drain in this event loop (also done by the first record)."""
        loop = loop or asyncio.get_running_loop()
        if not self.background or (self._loop is loop and self._tasks):
            return
        self._loop, self._wake, self._draining = loop, asyncio.Event(), asyncio.Lock()
        self._tasks = [loop.create_task(self._drain_periodically(), name="usage-drain")]
        self._tasks[0].add_done_callback(_log_crash)

    def due(self) -> bool:
        """Whether a drain is due: this process recorded a batch, or the journal holds records
        and the last try was FLUSH_SECONDS ago (RETRY_SECONDS while the database is away)."""
        wait = self.retry_seconds if self.down else self.flush_seconds
        if time.monotonic() - self._drained_at < wait:
            return not self.down and self._recorded >= self.batch_size
        return self._recorded > 0 or self.spool.pending()

    def drain_if_due(self) -> int:
        """The WSGI worker's drain, after a response has gone out (see wsgi.py)."""
        return self.drain() if self.due() else 0

    async def flush(self) -> None:
        """Return once every record journaled before the call is in the database (or the
        database has been found away: then they wait in the journal)."""
        lock = self._draining if self._loop is asyncio.get_running_loop() else None
        async with lock or asyncio.Lock():
            await asyncio.to_thread(self.drain)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self.down:  # the records wait in the journal for the next start
            return
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await self.flush()
        except TimeoutError:
            log.error("shutting down before the usage journal was drained; its records stay "
                      "in %s for the next start", self.spool.path)

    async def _drain_periodically(self) -> None:
        # The first pass runs at start-up, so a journal left by an earlier run is drained.
        while True:
            if self.due():
                async with self._draining:
                    await asyncio.to_thread(self.drain)
            try:
                await asyncio.wait_for(self._wake.wait(), self.flush_seconds)
            except TimeoutError:
                pass
            self._wake.clear()

    # Draining --------------------------------------------------------------------------------

    def drain(self) -> int:
        """Move the journal into the database; returns the rows added (0 when it is away)."""
        self._drained_at = time.monotonic()
        self._recorded = 0
        was_down = self.down
        try:
            if was_down:
                db.ping(self.engine)
            read, added = self.spool.replay(self._insert)
        except Exception as exc:  # an outage (see _insert): the records wait in the journal
            self._went_down(exc)
            return 0
        self.down = False
        self.stats["written"] += added
        if read != added:
            log.warning("the usage journal held %d records already stored", read - added)
        if was_down:
            log.warning("the usage database answers again; %d records moved from the journal",
                        added)
            if self.alerts is not None:
                self.alerts.resolve("usage_store", "database",
                                    f"The usage database answers again; {read} journaled "
                                    f"records replayed ({added} new)", replayed=read,
                                    added=added)
        return added

    async def replay(self) -> int:
        """Drain now, whatever the state (tests; the health check's repair)."""
        return await asyncio.to_thread(self.drain)

    def _insert(self, batch: list[UsageRecord]) -> int:
        """Store a batch; returns the rows that were new. Raises only for an outage.

        A record the database refuses (a value it cannot take) must not pass for an outage,
        or it would hold every later record in the journal: the batch is then retried record
        by record and the refused ones are set aside in the spool's ``.rejected`` file."""
        try:
            return self._insert_rows(batch)
        except Exception as exc:
            if _is_outage(exc):
                raise
            if len(batch) > 1:
                return sum(self._insert([record]) for record in batch)
            self.spool.reject([(batch[0].to_json(), exc)])
            return 0

    def _insert_rows(self, batch: list[UsageRecord]) -> int:
        with self.engine.begin() as conn:
            return db.insert_ignore(conn, db.usage_records, [r.row() for r in batch])

    def _went_down(self, exc: BaseException) -> None:
        if self.down:
            return
        self.down = True
        # The driver's message, not SQLAlchemy's: that one quotes the statement's parameters.
        reason = f"{type(exc).__name__}: {getattr(exc, 'orig', None) or exc}".splitlines()[0]
        message = (f"The usage database is unreachable ({reason}); usage records are kept "
                   f"in {self.spool.path} until it answers")
        log.error(message)
        if self.alerts is not None:
            self.alerts.fire("usage_store", "database", message, spool=str(self.spool.path))

    def count(self, **where: Any) -> int:
        """Stored records matching column values (tests and health checks)."""
        t = db.usage_records
        query = sa.select(sa.func.count()).select_from(t).where(
            *(t.c[name] == value for name, value in where.items()))
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()


def _is_outage(exc: BaseException) -> bool:
    """The database is away (or unusable) rather than refusing these values."""
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, (sa.exc.OperationalError, sa.exc.InterfaceError))
    return isinstance(exc, (sa.exc.DisconnectionError, sa.exc.TimeoutError, OSError))


def _log_crash(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the usage %s task stopped", task.get_name(), exc_info=task.exception())
