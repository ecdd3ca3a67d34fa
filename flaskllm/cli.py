"""The ``flaskllm`` command: serve, tokens, usage, check, settings."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterator

from flaskllm import runtime
from flaskllm.settings import ROOT, Settings, SettingsError

DEV_TOKEN_NAME = "dev"
DEV_TOKEN_FILE_NAME = "dev-token"  # in INSTANCE_PATH


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        sys.exit(f"flaskllm: bad setting: {exc}")


def _store(settings: Settings):
    from flaskllm.tokens import TokenStore
    from flaskllm.db import create_engine

    return TokenStore(create_engine(settings.database_url))


def dev_token(settings: Settings) -> str:
    """The development token: made once, kept in INSTANCE_PATH/dev-token (mode 600), so that
    restarting the server does not change it."""
    store = _store(settings)
    path = settings.instance / DEV_TOKEN_FILE_NAME
    if path.is_file():
        token = path.read_text().strip()
        if store.lookup(token) is not None:
            return token
        store.delete(DEV_TOKEN_NAME)  # the file and the database disagree: start over
    token = store.create(DEV_TOKEN_NAME)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


def cmd_serve(args) -> int:
    import uvicorn

    runtime.fewer_malloc_arenas()  # first: before the threads that would each take one
    settings = _settings()
    # The check's own request is no metric: its app keeps its counts in memory, not in
    # METRICS_DIR with the workers'.
    _check_or_exit(settings.replace(metrics_dir=""))
    if not settings.production:
        token = dev_token(settings)
        print(f"Development token (also in {settings.instance / DEV_TOKEN_FILE_NAME}):"
              f"\n\n    {token}\n", flush=True)
        print(f"Try it:\n\n    curl -s http://{args.host}:{args.port}/api/v1/webhook "
              f"-H 'X-API-Token: {token}' -H 'Content-Type: application/json' "
              "-d '{\"prompt\": \"The quarterly budget review is on Friday. Finance wants "
              "every team to cut cloud spending.\", \"type\": \"keywords\"}'\n", flush=True)
    print(f"Swagger console: http://{args.host}:{args.port}/api/v1/ui/\n", flush=True)
    from flaskllm import logs

    logs.configure(settings)  # uvicorn's own lines too (log_config=None), in the same format
    with metrics_dir(settings, args.workers):
        # The client address behind a proxy is flaskllm/clientip.py's (TRUSTED_PROXIES, the
        # same rule as under WSGI): uvicorn's own X-Forwarded-For handling stays off.
        uvicorn.run("flaskllm.cli:serving_app", factory=True, host=args.host, port=args.port,
                    workers=args.workers, reload=args.reload, log_level=settings.log_level,
                    access_log=False, timeout_graceful_shutdown=10, log_config=None,
                    proxy_headers=False, forwarded_allow_ips=",".join(settings.trusted_proxies),
                    # REQUEST_READ_TIMEOUT for the request head (uvicorn has none); the body's
                    # is the app's (middleware.RequestBodyMiddleware)
                    http="flaskllm.deadlines:HeadDeadlineProtocol")
    return 0


def serving_app():
    """uvicorn's factory, in each worker: the app, then the collector tuned around it."""
    from flaskllm.app import create_app

    app = create_app()
    runtime.tune_gc()
    return app


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


KEEP = object()  # a limit flag that was not given: the limit stays as it is
LIMIT_FLAGS = {"budget_daily": "daily_usd", "budget_monthly": "monthly_usd",
               "quota_daily": "daily_requests"}


def _usd(raw: str) -> Decimal | None:
    """A budget in USD; 0 or `none` clears it."""
    if raw.strip().lower() in ("none", "0"):
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected an amount in USD such as 5 or 0.50, "
                                         f"or none (got {raw!r})") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"expected an amount of at least 0 (got {raw!r})")
    return value


def _quota(raw: str) -> int | None:
    """Requests a day; 0 or `none` clears it."""
    if raw.strip().lower() in ("none", "0"):
        return None
    if not raw.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of requests (got {raw!r})")
    return int(raw)


def _set_limits(settings: Settings, store, name: str, args) -> str | None:
    """Apply the limit flags that were given; a line describing the limits, or None."""
    changes = {LIMIT_FLAGS[flag]: getattr(args, flag) for flag in LIMIT_FLAGS
               if getattr(args, flag, KEEP) is not KEEP}
    if not changes:
        return None
    from flaskllm.prices import Prices
    from flaskllm.usage import budgets

    async def apply():
        built = budgets.build(settings, store.engine, Prices.load(settings))
        try:
            return await built.set_limits(name, **changes)
        finally:
            await built.aclose()

    limits = asyncio.run(apply()).as_dict()
    shown = [f"daily ${limits['daily_usd']:.2f}" if limits["daily_usd"] else "",
             f"monthly ${limits['monthly_usd']:.2f}" if limits["monthly_usd"] else "",
             f"{limits['daily_requests']} requests a day" if limits["daily_requests"] else ""]
    return "Limits: " + (", ".join(s for s in shown if s) or "none")


def cmd_tokens(args) -> int:
    settings = _settings()
    store = _store(settings)
    if args.action == "create":
        try:
            token = store.create(args.name, admin=args.admin)
        except ValueError as exc:
            print(f"flaskllm: {exc}", file=sys.stderr)
            return 1
        print(f"Token {args.name!r} created. It is shown only now; keep it safe:\n{token}")
        limits = _set_limits(settings, store, args.name, args)
        if limits:
            print(limits)
    elif args.action == "update":
        try:
            limits = _set_limits(settings, store, args.name, args)
        except ValueError as exc:
            print(f"flaskllm: {exc}", file=sys.stderr)
            return 1
        print(f"Token {args.name!r}: {limits or 'nothing to change (see --help)'}")
    elif args.action == "list":
        rows = store.list()
        print(f"{'NAME':24} {'ADMIN':5} {'REVOKED':7} {'CREATED':20} LAST USED")
        for row in rows:
            last = row.last_used_at.strftime("%Y-%m-%d %H:%M:%S") if row.last_used_at else "-"
            print(f"{row.name:24} {'yes' if row.admin else 'no':5} "
                  f"{'yes' if row.revoked else 'no':7} "
                  f"{row.created_at.strftime('%Y-%m-%d %H:%M:%S'):20} {last}")
    elif args.action == "revoke":
        if not store.revoke(args.name):
            print(f"flaskllm: no token named {args.name!r}", file=sys.stderr)
            return 1
        print(f"Token {args.name!r} revoked.")
    return 0


def cmd_usage(args) -> int:
    from flaskllm.db import create_engine
    from flaskllm.usage import report

    settings = _settings()
    try:
        since = report.parse_when(args.since)
        until = report.parse_when(args.until) if args.until else None
    except ValueError as exc:
        print(f"flaskllm: {exc}", file=sys.stderr)
        return 2
    found = report.build(create_engine(settings.database_url), since, until, token=args.token)
    sys.stdout.write(report.render(found, args.format))
    return 0


def problems(settings: Settings) -> list[str]:
    """Everything that would stop the app from serving, as readable lines."""
    found = []
    try:
        from flaskllm.app import create_app, SPEC_PATH

        if not Path(SPEC_PATH).is_file():
            return [f"spec: {SPEC_PATH} is missing"]
        app = create_app(settings)
        with app.test_client() as client:  # builds the routes: every operationId resolves
            response = client.get("/api/v1/health")
        if response.status_code != 200:
            found.append(f"health: {response.json()}")
    except SettingsError as exc:
        found.append(f"bad setting: {exc}")
    except Exception as exc:  # report, don't crash: this command exists to explain failures
        found.append(f"{type(exc).__name__}: {exc}")
    return found


def _check_or_exit(settings: Settings) -> None:
    found = problems(settings)
    if found:
        sys.exit("flaskllm: cannot start:\n  " + "\n  ".join(found))


def cmd_check(_args) -> int:
    settings = _settings()
    found = problems(settings)
    for line in found:
        print(f"problem: {line}")
    if not found:
        print(f"ok: settings, spec and database are fine "
              f"(provider {settings.llm_provider}, database {_shown_url(settings.database_url)}, "
              f"instance folder {settings.instance})")
        defaults = Settings().shown()
        for env, value in settings.shown().items():  # masked: secrets say only "set"
            if value != defaults[env]:
                print(f"  {env}={value}")
    return 1 if found else 0


def cmd_settings(args) -> int:
    """The settings in effect (secrets masked), or the README's table of them."""
    from flaskllm import settings as declared

    if args.write_readme:
        readme = ROOT / "README.md"
        readme.write_text(declared.with_table(readme.read_text(encoding="utf-8")),
                          encoding="utf-8")
        print(f"updated the settings table in {readme}")
    elif args.markdown:
        sys.stdout.write(declared.markdown_table())
    else:
        for env, value in _settings().shown().items():
            print(f"{env}={value}")
    return 0


def _shown_url(url: str) -> str:
    """The database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: problems() has said so already
        return url.split(":")[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="flaskllm", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--reload", action="store_true")
    serve.set_defaults(func=cmd_serve)

    tokens = sub.add_parser("tokens", help="create, list and revoke API tokens")
    actions = tokens.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a token and print it once")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true", help="may read every token's usage")
    update = actions.add_parser("update", help="change a token's budgets and quota")
    update.add_argument("name")
    for parser_ in (create, update):
        parser_.add_argument("--budget-daily", type=_usd, default=KEEP, metavar="USD",
                             help="USD a day (UTC); 0 or none: no limit")
        parser_.add_argument("--budget-monthly", type=_usd, default=KEEP, metavar="USD",
                             help="USD a calendar month (UTC); 0 or none: no limit")
        parser_.add_argument("--quota-daily", type=_quota, default=KEEP, metavar="N",
                             help="requests a day (UTC); 0 or none: no limit")
    actions.add_parser("list", help="list tokens (never the tokens themselves)")
    revoke = actions.add_parser("revoke", help="revoke a token")
    revoke.add_argument("name")
    tokens.set_defaults(func=cmd_tokens)

    usage = sub.add_parser("usage", help="print a usage and cost report")
    usage.add_argument("--since", default="7d", help="7d, 24h, 30m or a date (default 7d)")
    usage.add_argument("--until", help="the same forms (default: now)")
    usage.add_argument("--token", help="one token's usage (default: every token)")
    usage.add_argument("--format", choices=("table", "csv", "json"), default="table")
    usage.set_defaults(func=cmd_usage)

    check = sub.add_parser("check", help="load settings and the spec and report problems")
    check.set_defaults(func=cmd_check)

    shown = sub.add_parser("settings", help="print the settings in effect (secrets masked)")
    shown.add_argument("--markdown", action="store_true", help="the README's table instead")
    shown.add_argument("--write-readme", action="store_true",
                       help="rewrite that table in README.md (between its marker comments)")
    shown.set_defaults(func=cmd_settings)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
