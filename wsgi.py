"""The WSGI entry point, for PythonAnywhere and other WSGI-only hosts (uWSGI, gunicorn).

Point the host's WSGI file at ``application`` here. The ASGI→WSGI bridge (a2wsgi) runs an
event loop in a thread, which does not survive a fork: so it is built lazily, in the worker
process that serves, never in a forking master. a2wsgi sends no lifespan events, and FlaskLLM
does not rely on them (everything is built on first use).
"""

from __future__ import annotations

import os
import threading

from a2wsgi import ASGIMiddleware

# Import the handlers (and the SDKs behind them) now, so the first request does not pay it.
import flaskllm.operations.examples  # noqa: F401
import flaskllm.operations.health  # noqa: F401
import flaskllm.operations.webhook  # noqa: F401
from flaskllm.app import create_app

asgi_app = create_app()
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
    return _get_bridge()(environ, start_response)
