"""``flaskllm serve`` (uvicorn) and ``flaskllm check``: build the app, or say in one readable
line why it cannot start.

One worker (the default) serves the app it built, checked while it was built: settings, spec,
database and provider are create_app's own checks, and uvicorn's lifespan is "on", so the
routes (every operationId) are built before it listens and a failure there stops it. Several
workers (``--workers N``) each build their own app in their own process
(``flaskllm.cli:serving_app``), so the parent checks first with a throw-away app and its
health request: a broken setting is one line, not N workers crashing in turn. Measured to the
first 200 of /api/v1/health, offline provider, SQLite: 1.32–1.52 s with the check and a
second app, 2026-12-02; see the README's Benchmark for the figure after.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any, Callable, Iterator

from flaskllm import runtime
from flaskllm.settings import Settings


def serving_app(settings: Settings | None = None) -> Any:
    """uvicorn's factory, in each worker: the app, then the collector tuned around it."""
    from flaskllm.app import create_app

    app = create_app(settings)
    runtime.tune_gc()
    return app


def _explained(exc: Exception, settings: Settings, debug: bool) -> str:
    from flaskllm import failures

    if debug:
        traceback.print_exception(exc)
    explained = failures.explain(exc, settings)
    return explained.removeprefix("flaskllm: ") if explained else f"{type(exc).__name__}: {exc}"


def _built(settings: Settings, build: Callable[[Settings], Any]) -> Any | list[str]:
    """``build(settings)`` once the spec is there and the database answers (its tables
    made), or what is wrong, as readable lines."""
    from flaskllm import db
    from flaskllm.app import SPEC_PATH

    if not Path(SPEC_PATH).is_file():
        return [f"spec: {SPEC_PATH} is missing"]
    db.create_engine(settings.database_url, settings.instance).dispose()
    return build(settings)


def problems(settings: Settings, debug: bool = False) -> list[str]:
    """Everything that would stop the app from serving, as readable lines (with ``debug``,
    each one's traceback is printed too)."""
    from flaskllm.app import create_app

    try:
        app = _built(settings, create_app)
        if isinstance(app, list):
            return app
        with app.test_client() as client:  # builds the routes: every operationId resolves
            response = client.get("/api/v1/health")
        return [] if response.status_code == 200 else [f"health: {response.json()}"]
    except Exception as exc:  # report, don't crash: this command exists to explain failures
        return [_explained(exc, settings, debug)]


def _cannot_start(found: list[str]) -> None:
    print("flaskllm: cannot start: " + "\n  ".join(found), file=sys.stderr)
    sys.exit(2)


def _app_or_exit(settings: Settings, debug: bool) -> Any:
    """The app one worker serves, or exit 2 with what is wrong (as ``problems`` says it).
    The collector is off while it is built (``serving_app`` turns it on, tuned)."""
    runtime.pause_gc()
    try:
        app = _built(settings, serving_app)
    except Exception as exc:  # explained, not a traceback: what to do about it
        _cannot_start([_explained(exc, settings, debug)])
    if isinstance(app, list):
        _cannot_start(app)
    return app


def cmd_serve(args) -> int:
    import uvicorn

    runtime.fewer_malloc_arenas()  # first: before the threads that would each take one
    from flaskllm import deadlines, logs, tokenadmin

    settings = Settings.from_env()  # a SettingsError is explained by cli.main()
    one = args.workers == 1 and not args.reload
    if one:
        app: Any = _app_or_exit(settings, args.debug)
    else:
        # The check's own request is no metric: its app keeps its counts in memory, not in
        # METRICS_DIR with the workers'.
        found = problems(settings.replace(metrics_dir=""), args.debug)
        if found:
            _cannot_start(found)
        app = "flaskllm.cli:serving_app"
    base = f"http://{args.host}:{args.port}"
    if not settings.production:
        token = tokenadmin.dev_token(settings)
        print(f"Development token (admin; the token `dev` of this database, also in "
              f"{tokenadmin.dev_token_file(settings)}):\n\n    {token}\n", flush=True)
        print(f"Try it:\n\n    curl -s {base}/api/v1/webhook "
              f"-H 'X-API-Token: {token}' -H 'Content-Type: application/json' "
              "-d '{\"prompt\": \"The quarterly budget review is on Friday. Finance wants "
              "every team to cut cloud spending.\", \"type\": \"keywords\"}'\n", flush=True)
        # The fragment never reaches the server (nor its logs); the page keeps it in the tab.
        print(f"Dashboard: {base}/dashboard#token={token}\n", flush=True)
    print(f"Swagger console: {base}/api/v1/ui/\n", flush=True)
    command = Path(sys.executable).parent / "flaskllm"
    if command.is_file():  # `make run` does not put .venv/bin on the shell's PATH
        print(f"The flaskllm command: {command} (or first: . {command.parent}/activate)\n",
              flush=True)
    logs.configure(settings)  # uvicorn's own lines too (log_config=None), in the same format
    with metrics_dir(settings, args.workers):
        uvicorn.run(app, factory=not one, host=args.host, port=args.port,
                    workers=args.workers, reload=args.reload, log_level=settings.log_level,
                    access_log=False, timeout_graceful_shutdown=10, log_config=None,
                    lifespan="on",  # a start-up failure stops the server; never serves 500s
                    # The client address behind a proxy is flaskllm/clientip.py's
                    # (TRUSTED_PROXIES, the same rule as under WSGI): uvicorn's own
                    # X-Forwarded-For handling stays off.
                    proxy_headers=False, forwarded_allow_ips=",".join(settings.trusted_proxies),
                    # REQUEST_READ_TIMEOUT for the request head (uvicorn has none), and
                    # asyncio's loop, which accepts every waiting connection (deadlines.py)
                    **deadlines.UVICORN)
    return 0


@contextlib.contextmanager
def metrics_dir(settings: Settings, workers: int) -> Iterator[None]:
    """Workers add up their Prometheus metrics through files in METRICS_DIR. With several
    workers and no METRICS_DIR, a fresh folder is made for this run (and removed after);
    the workers read it from the environment they inherit. A METRICS_DIR that is set is
    emptied first: counts left by an earlier run would otherwise carry on."""
    if settings.metrics_dir:
        for stale in Path(settings.metrics_dir).glob("*.db"):
            stale.unlink()
        yield
        return
    if workers <= 1:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="flaskllm-metrics-") as folder:
        os.environ["METRICS_DIR"] = folder
        try:
            yield
        finally:
            os.environ.pop("METRICS_DIR", None)
