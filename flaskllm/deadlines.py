"""How ``flaskllm serve`` (and gunicorn's ``flaskllm.worker.UvicornWorker``) takes connections:
uvicorn's HTTP protocol with a deadline for the request's head, on asyncio's own event loop.

The deadline: a timer that closes a connection whose request line and headers have not all
arrived within REQUEST_READ_TIMEOUT. uvicorn (0.54, checked in its httptools and h11
protocols) has no such timer: its keep-alive timeout runs only between requests, so a client
that connects and sends nothing, or half a head, holds its connection and buffers forever
(measured before this: 2,000 of them held 54 MB). The body's deadline is the app's
(middleware.RequestBodyMiddleware: 408), where the ASGI ``receive`` can be given one; the head
never reaches the app.

The timer is armed when a connection opens and when data arrives while no request is in
progress (the head of the next keep-alive request); it closes the connection if no new
request began in between. A request that began is the app's from then on.

The loop (``UVICORN["loop"]``): asyncio's, not uvloop, which uvicorn's "auto" picks when it is
installed. libuv accepts one connection per turn of its loop (since libuv 1.45: "unix: don't
accept() connections in a loop", libuv pull request 3696; Node.js measured the same change as
a regression, nodejs/performance issue 95), and with the core busy a turn takes
tens of milliseconds, so new connections waited in the kernel's queue, unseen by the access
log: with 1,000 clients arriving at once, ss showed 560-700 of them not yet accepted after 15
s, and wrk timed out 7-263 requests a run (its 10 s limit) that the access log never had
(longest logged: 2.7 s). asyncio's loop accepts every waiting connection when the listening
socket wakes it. Measured with bench/run.py (--quick, in_flight_500ms, 2 alternating runs,
2026-12-02): 1,000 connections reach the upstream at once (peak 1,000 against 246-614), p99
3.2-3.8 s against 3.4-6.9 s, 256 connections 333-343 req/s against 270-292. What uvloop
gives, and this gives up: CPU a request at 32 connections 1.91-2.08 ms against 1.81-2.03, and
``--workers 2`` 641-657 req/s against 667-780 (20 ms upstream, 64 connections), both within
this machine's run-to-run noise but on uvloop's side.
"""

from __future__ import annotations

import functools
import logging

log = logging.getLogger("flaskllm.serve")


@functools.cache
def read_timeout() -> float:
    # Read here, in each worker: uvicorn builds the protocol from this import string in every
    # process it starts, where the settings come from the same environment as the app's.
    from flaskllm.settings import Settings

    return Settings.from_env().request_read_timeout


def _uvicorn_protocol() -> type:
    """uvicorn's "auto" choice: httptools when it is installed, else h11."""
    try:
        import httptools  # noqa: F401

        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
        return HttpToolsProtocol
    except ImportError:
        from uvicorn.protocols.http.h11_impl import H11Protocol
        return H11Protocol


class HeadDeadlineProtocol(_uvicorn_protocol()):  # type: ignore[misc]
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._head_timer = None
        self._head_cycle = None  # the request in progress when the timer was armed

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()
        super().data_received(data)

    def connection_lost(self, exc) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._head_cycle = self.cycle
        self._head_timer = self.loop.call_later(read_timeout(), self._expired)

    def _expired(self) -> None:
        self._head_timer = None
        if self.cycle is self._head_cycle:  # no request head arrived within the deadline
            if not self.transport.is_closing():
                log.debug("closed a connection from %s: no complete request head within "
                          "%gs (REQUEST_READ_TIMEOUT)", self.client, read_timeout())
                self.transport.close()
        elif self.cycle.response_complete:  # a request was answered; the next head may lag
            self._arm()


# uvicorn's options for how connections are taken, the same under ``flaskllm serve`` and the
# gunicorn worker (the docstring says why each).
UVICORN = {"http": "flaskllm.deadlines:HeadDeadlineProtocol", "loop": "asyncio"}
