"""The WSGI entry point, for PythonAnywhere and other WSGI-only hosts (uWSGI, gunicorn).

Point the host's WSGI file at ``application`` here. The ASGI→WSGI bridge (a2wsgi) runs an
event loop in a thread, which does not survive a fork: so it is built lazily, in the worker
process that serves, never in a forking master. That thread runs only while a request is being
served when uWSGI runs without Python threads (PythonAnywhere), so nothing waits on it between
requests: each usage record is in the journal before its response ends, and the worker moves
the journal into the database itself, after a response has gone out, when a drain is due
(flaskllm/usage/recorder.py). a2wsgi sends no lifespan events, and FlaskLLM
does not rely on them to start (everything is built on first use); to stop, an ``atexit`` hook
does what the lifespan's end would: it writes the queued usage records, releases budget holds
and closes clients, on the bridge's loop, when the worker exits (a reload, a stop).
"""

from __future__ import annotations

import asyncio
import atexit
import importlib
import logging
import os
import pkgutil
import threading

from a2wsgi import ASGIMiddleware

import flaskllm.operations
from flaskllm import runtime
from flaskllm.app import create_app

runtime.fewer_malloc_arenas()  # before the bridge's threads

# Import every handler module (and the SDKs behind them) now, before a forking server forks,
# so the first request of each worker does not pay for it.
for _module in pkgutil.iter_modules(flaskllm.operations.__path__):
    importlib.import_module(f"flaskllm.operations.{_module.name}")

asgi_app = create_app()
asgi_app.state.usage.background = False  # drained after responses (below), not by a task
runtime.tune_gc()  # before a forking server forks: the workers share these pages
_bridge: ASGIMiddleware | None = None
_bridge_pid = 0
_lock = threading.Lock()


def _get_bridge() -> ASGIMiddleware:
    global _bridge, _bridge_pid
    if _bridge is None or _bridge_pid != os.getpid():
        with _lock:
            if _bridge is None or _bridge_pid != os.getpid():
                _bridge = ASGIMiddleware(asgi_app)
                _bridge_pid = os.getpid()
    return _bridge


def application(environ, start_response):
    return _DrainAfter(_get_bridge()(environ, start_response))


class _DrainAfter:
    """The response, then (when the server closes it, after sending it) a due drain of the
    usage journal, in the worker's own thread."""

    def __init__(self, body):
        self.body = body

    def __iter__(self):
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            try:
                asgi_app.state.usage.drain_if_due()
            except Exception:  # the records stay in the journal for the next drain
                logging.getLogger("flaskllm.usage").exception("draining the usage journal "
                                                              "failed")


_closed = False


def _close_on_exit() -> None:
    global _closed
    bridge = _bridge
    if _closed or bridge is None or _bridge_pid != os.getpid():
        return  # done already, this process never served (a master), or its bridge is a parent's
    _closed = True
    try:
        # The journal first, in this thread: without Python threads (PythonAnywhere's uWSGI)
        # the bridge's loop may not get to it before the worker is gone.
        asgi_app.state.usage.drain()
        asyncio.run_coroutine_threadsafe(asgi_app.state.aclose(), bridge.loop).result(35)
    except Exception:  # exiting anyway: say what was lost, never hang or raise
        logging.getLogger("flaskllm").exception("closing the app at exit failed")


# Registered with threading's exit hooks, which run before worker threads are joined and
# before concurrent.futures stops its executors (both happen before plain atexit hooks):
# writing the usage records needs a thread. The same hook concurrent.futures itself uses.
getattr(threading, "_register_atexit", atexit.register)(_close_on_exit)
# Without Python threads (uWSGI 2.0.26's default, PythonAnywhere) uWSGI runs the atexit hooks
# but not threading's: this one then drains the journal (the first step needs no thread).
atexit.register(_close_on_exit)
