"""The recorder: usage records written off the request's path, in batches.

    app.usage.record(rec)      put on an in-memory queue; never blocks, never raises
    (background task)          up to BATCH_SIZE records or FLUSH_SECONDS → one INSERT in a thread
    await app.usage.flush()    everything queued so far is stored (database or spool)
    await app.usage.aclose()   flush, stop the tasks, try the spool one last time

When an insert fails the batch goes to the spool file (flaskllm/usage/spool.py), the store is
marked down (one log line and a ``usage_store`` alert, not one per batch) and later batches go
straight to the spool, so no request's records wait on a dead database. Every RETRY_SECONDS a
replay task pings the database and, once it answers, moves the spool into it and announces the
recovery. Inserts skip ids already stored, so a replay repeated after a crash doubles nothing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from typing import TYPE_CHECKING, Any, Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from flaskllm import db
from flaskllm.usage.records import UsageRecord
from flaskllm.usage.spool import Spool

if TYPE_CHECKING:
    from flaskllm.alerts import Alerter

log = logging.getLogger("flaskllm.usage")

BATCH_SIZE = 200
FLUSH_SECONDS = 1.0  # the longest a record waits in memory before its batch is written
RETRY_SECONDS = 30.0  # how often the spool is retried while the database is away
CLOSE_SECONDS = 30.0  # how long shutdown waits for the queue to be stored
QUEUE_WARNING = 50_000  # queued records beyond which the database is not keeping up
_FLUSH = object()  # queue marker: store the batch gathered so far at once


class Recorder:
    def __init__(self, engine: Engine | Callable[[], Engine], spool_path: str | os.PathLike, *,
                 alerts: "Alerter | None" = None, log_prompts: bool = False,
                 batch_size: int = BATCH_SIZE, flush_seconds: float = FLUSH_SECONDS,
                 retry_seconds: float = RETRY_SECONDS):
        # An engine, or a function that makes one: building an engine connects (to create the
        # tables), and a database that is down then must only mean "spool", not an error.
        self._engine = engine if isinstance(engine, Engine) else None
        self._make_engine = engine if self._engine is None else None
        self.spool = Spool(spool_path)
        self.alerts = alerts
        self.log_prompts = log_prompts
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.retry_seconds = retry_seconds
        self.down = False
        self.stats = {"written": 0, "spooled": 0, "replayed": 0}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._replaying: asyncio.Lock | None = None
        self._warned_queue = False

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
        """Queue one record. Never raises: a usage record must not fail the request it counts."""
        try:
            if not self.log_prompts and (record.prompt is not None
                                         or record.response is not None):
                record = dataclasses.replace(record, prompt=None, response=None)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (a script, the CLI): store it right away
                self._store_now([record])
                return
            self.start(loop)
            self._queue.put_nowait(record)
            if self._queue.qsize() > QUEUE_WARNING and not self._warned_queue:
                self._warned_queue = True
                log.warning("%d usage records are queued: the usage database is slow",
                            self._queue.qsize())
        except Exception:
            log.exception("usage record %s of request %s could not be stored",
                          getattr(record, "id", "?"), getattr(record, "request_id", "?"))

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start the background tasks in this event loop (also done by the first record)."""
        loop = loop or asyncio.get_running_loop()
        if self._loop is loop and self._tasks:
            return
        # A new event loop (tests run one per test): carry over what the old one left queued.
        leftovers = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not _FLUSH:
                leftovers.append(item)
        self._loop, self._queue, self._replaying = loop, asyncio.Queue(), asyncio.Lock()
        for item in leftovers:
            self._queue.put_nowait(item)
        self._tasks = [loop.create_task(self._write_batches(), name="usage-writer"),
                       loop.create_task(self._retry_spool(), name="usage-replay")]
        for task in self._tasks:
            task.add_done_callback(_log_crash)

    async def flush(self) -> None:
        """Return once every record queued before the call is stored (database or spool)."""
        if not self._tasks or self._loop is not asyncio.get_running_loop():
            return
        self._queue.put_nowait(_FLUSH)
        await self._queue.join()

    async def aclose(self) -> None:
        try:
            async with asyncio.timeout(CLOSE_SECONDS):
                await self.flush()
        except TimeoutError:
            log.error("shutting down with %d usage records not stored", self._queue.qsize())
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if not self.down and self.spool.pending():
            await self.replay()

    # Background ------------------------------------------------------------------------------

    async def _write_batches(self) -> None:
        loop = asyncio.get_running_loop()
        queue = self._queue
        while True:
            batch: list[UsageRecord] = []
            taken = 0
            item = await queue.get()
            taken += 1
            deadline = loop.time() + self.flush_seconds
            while item is not _FLUSH:
                batch.append(item)
                if len(batch) >= self.batch_size:
                    break
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    try:
                        item = await asyncio.wait_for(queue.get(), deadline - loop.time())
                    except TimeoutError:
                        break
                taken += 1
            try:
                if batch:
                    await self._store(batch)
            except Exception:  # a bug, not an outage: say what is lost and keep recording
                log.exception("%d usage records lost (ids %s…)", len(batch),
                              ", ".join(r.id for r in batch[:5]))
            finally:
                for _ in range(taken):
                    queue.task_done()

    async def _store(self, batch: list[UsageRecord]) -> None:
        if not self.down:
            try:
                await asyncio.to_thread(self._insert, batch)
                self.stats["written"] += len(batch)
                return
            except Exception as exc:  # an outage (see _insert): the spool takes the batch
                self._went_down(exc)
        await self._spool(batch)

    async def _spool(self, batch: list[UsageRecord]) -> None:
        while True:
            try:
                await asyncio.to_thread(self.spool.append, batch)
                self.stats["spooled"] += len(batch)
                return
            except OSError as exc:
                # Disk full or unwritable: keep the batch in memory and try again; shutdown
                # cancels this loop, and that log line names what is lost.
                log.error("usage spool %s unwritable (%s); holding %d records in memory",
                          self.spool.path, exc, len(batch))
                try:
                    await asyncio.sleep(self.retry_seconds)
                except asyncio.CancelledError:
                    log.error("shutting down: %d usage records lost (ids %s…)", len(batch),
                              ", ".join(r.id for r in batch[:5]))
                    raise

    def _store_now(self, batch: list[UsageRecord]) -> None:
        """The synchronous path, for callers outside an event loop."""
        try:
            self._insert(batch)
            self.stats["written"] += len(batch)
        except Exception as exc:  # an outage (see _insert): the spool takes the batch
            self._went_down(exc)
            self.spool.append(batch)
            self.stats["spooled"] += len(batch)

    def _insert(self, batch: list[UsageRecord]) -> int:
        """Store a batch; returns the rows that were new. Raises only for an outage.

        A record the database refuses (a value it cannot take) must not pass for an outage,
        or it would hold every later record in the spool: the batch is then retried record by
        record and the refused ones are set aside in the spool's ``.rejected`` file."""
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

    async def _retry_spool(self) -> None:
        # The first pass runs at start-up, so a spool left by an earlier run is replayed.
        while True:
            if self.down or self.spool.pending():
                await self.replay()
            await asyncio.sleep(self.retry_seconds)

    async def replay(self) -> int:
        """If the database answers, move the spool into it; returns the rows added."""
        lock = self._replaying or asyncio.Lock()
        async with lock:
            try:
                await asyncio.to_thread(db.ping, self.engine)
                read, added = await asyncio.to_thread(self.spool.replay, self._insert)
            except Exception as exc:
                self._went_down(exc)
                return 0
            was_down, self.down = self.down, False
            self.stats["replayed"] += added
            if read:
                log.warning("replayed %d spooled usage records into the database (%d new, "
                            "%d already there)", read, added, read - added)
            elif was_down:
                log.warning("the usage database answers again")
            if self.alerts is not None and (was_down or read):
                self.alerts.resolve("usage_store", "database",
                                    f"The usage database answers again; {read} spooled "
                                    f"records replayed ({added} new)", replayed=read,
                                    added=added)
            return added

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
