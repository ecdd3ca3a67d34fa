"""The journal (spool): an append-only JSON-lines file, the write-ahead log of usage records.

Every usage record is appended here on the request's path, before the response finishes, and
moved into the database in batches later (flaskllm/usage/recorder.py), by whichever worker
drains next. Several worker processes share one file, so both steps hold a lock (``flock`` on
``<spool>.lock``; POSIX only: elsewhere one process is assumed):

    append   shared lock · open with O_APPEND · one write of whole lines · unlock
             (no fsync: a write() is in the kernel's page cache, so it survives the process
             being killed — what workers suffer — though not the machine losing power)
    replay   exclusive lock · rename the spool to ``<spool>.replay-<uuid>`` · unlock (new
             records go to a fresh spool) · for each ``.replay-*`` file not locked by another
             process: insert its records, skipping ids already stored · delete it

Appenders share the lock with each other (an O_APPEND write of one buffer is never interleaved
with another's on a local file system) and exclude only the rename, so that no record is
written into a file that a replay has already read.

A crash between the insert and the delete leaves the claimed file behind; the next replay
inserts it again and the unique record id turns that into nothing. None lost, none doubled.
A line that does not parse (a crash cut it short) is moved to ``<spool>.rejected`` and
logged, not dropped silently and not retried forever.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Callable, Iterator

from flaskllm.usage.records import UsageRecord

try:
    import fcntl
except ImportError:  # Windows: no flock; the in-process lock below still orders threads
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("flaskllm.usage")

CHUNK = 500  # records per database transaction during replay


class Spool:
    def __init__(self, path: str | os.PathLike, *, fsync: bool = False):
        self.path = Path(path)
        self.fsync = fsync
        self._thread_lock = threading.Lock()
        # The appenders' lock file, opened once per process: a flock belongs to the open file,
        # which a forked child shares, so a child opens its own.
        self._shared_fd = -1
        self._shared_pid = 0

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._thread_lock:
            if fcntl is None:
                yield
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the lock

    def _lock_shared(self) -> None:
        if fcntl is None:
            return
        if self._shared_pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._shared_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._shared_pid = os.getpid()
        fcntl.flock(self._shared_fd, fcntl.LOCK_SH)

    def _unlock_shared(self) -> None:
        if fcntl is not None:
            fcntl.flock(self._shared_fd, fcntl.LOCK_UN)

    def append(self, records: list[UsageRecord]) -> None:
        """Add records to the journal: written (one write) when this returns."""
        data = "".join(record.to_json() + "\n" for record in records).encode("utf-8")
        # Threads of one process share the lock file's descriptor, whose flock is one lock:
        # the thread lock keeps one thread's unlock from releasing another's.
        with self._thread_lock:
            self._lock_shared()
            try:
                try:
                    fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                except FileNotFoundError:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                    if self.fsync:
                        os.fsync(fd)
                finally:
                    os.close(fd)
            finally:
                self._unlock_shared()

    def claimed(self) -> list[Path]:
        return sorted(self.path.parent.glob(self.path.name + ".replay-*"))

    def pending(self) -> bool:
        """Whether anything waits to be replayed (cheap: a stat and a directory listing)."""
        try:
            if self.path.stat().st_size > 0:
                return True
        except FileNotFoundError:
            pass
        return bool(self.path.parent.is_dir() and self.claimed())

    def replay(self, write: Callable[[list[UsageRecord]], int]) -> tuple[int, int]:
        """Hand every spooled record to ``write`` (which returns how many rows were new) and
        remove what was written; returns (records read, rows added). An exception from
        ``write`` leaves the remaining files in place for the next replay."""
        with self._locked():
            if self.path.is_file() and self.path.stat().st_size > 0:
                os.replace(self.path, self.path.with_name(
                    f"{self.path.name}.replay-{uuid.uuid4().hex}"))
        read = added = 0
        for path in self.claimed():
            file_read, file_added = self._replay_file(path, write)
            read, added = read + file_read, added + file_added
        return read, added

    def _replay_file(self, path: Path, write: Callable[[list[UsageRecord]], int]
                     ) -> tuple[int, int]:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return 0, 0  # another process replayed it a moment ago
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    return 0, 0  # another process is replaying it now
            if os.fstat(fd).st_nlink == 0:
                return 0, 0  # replayed and deleted between our listing and our lock
            with os.fdopen(os.dup(fd), encoding="utf-8", errors="replace") as fh:
                lines = [line for line in fh.read().splitlines() if line.strip()]
            records, rejected = [], []
            for line in lines:
                try:
                    records.append(UsageRecord.from_json(line))
                except (ValueError, TypeError, KeyError) as exc:
                    rejected.append((line, exc))
            added = 0
            for start in range(0, len(records), CHUNK):
                added += write(records[start:start + CHUNK])
            if rejected:
                self.reject(rejected)
            path.unlink()
            return len(records), added
        finally:
            os.close(fd)

    def reject(self, rejected: list[tuple[str, Exception]]) -> None:
        """Set aside lines that cannot be read or stored, for a person to look at."""
        target = Path(f"{self.path}.rejected")
        with self._locked(), open(target, "a", encoding="utf-8") as fh:
            fh.writelines(line + "\n" for line, _ in rejected)
        first = rejected[0][1]
        log.error("%d usage records could not be stored (first: %s: %s); kept in %s",
                  len(rejected), type(first).__name__,
                  str(getattr(first, "orig", None) or first).splitlines()[0], target)
