"""A gunicorn worker that serves the ASGI app with uvicorn, with the same request-head
deadline and event loop as ``flaskllm serve`` (flaskllm/deadlines.py):

    gunicorn -k flaskllm.worker.UvicornWorker --workers 4 'flaskllm.cli:serving_app()'

gunicorn's own workers (sync, gthread) hand a connection to a thread, or the whole worker,
as soon as its first bytes arrive, and that thread then waits for the rest of the head with
no deadline: a few connections that stop halfway hold them all (tests/test_wsgi_resilience.py
shows /health blocked). With wsgi.py under gunicorn, put a buffering proxy in front
(docs/scaling.md); or use this worker. Needs the ``uvicorn-worker`` package.
"""

from __future__ import annotations

from uvicorn_worker import UvicornWorker as _UvicornWorker

from flaskllm import deadlines


class UvicornWorker(_UvicornWorker):
    CONFIG_KWARGS = {**_UvicornWorker.CONFIG_KWARGS, **deadlines.UVICORN}
