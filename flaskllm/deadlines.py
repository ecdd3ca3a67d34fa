"""The deadline for a request's head under ``flaskllm serve``: uvicorn's HTTP protocol, with a
timer that closes a connection whose request line and headers have not all arrived within
REQUEST_READ_TIMEOUT.

uvicorn (0.54, checked in its httptools and h11 protocols) has no such timer: its keep-alive
timeout runs only between requests, so a client that connects and sends nothing, or half a
head, holds its connection and buffers forever (measured before this: 2,000 of them held
54 MB). The body's deadline is the app's (middleware.RequestBodyMiddleware: 408), where the
ASGI ``receive`` can be given one; the head never reaches the app.

    uvicorn.run(..., http="flaskllm.deadlines:HeadDeadlineProtocol")

The timer is armed when a connection opens and when data arrives while no request is in
progress (the head of the next keep-alive request); it closes the connection if no new
request began in between. A request that began is the app's from then on.
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
