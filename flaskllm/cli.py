"""The ``flaskllm`` command: serve, tokens, usage, check, settings."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import traceback
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from flaskllm.serve import cmd_serve, problems, serving_app  # noqa: F401 (flaskllm.cli:serving_app)
from flaskllm.settings import ROOT, Settings, SettingsError

def _settings() -> Settings:
    return Settings.from_env()  # a SettingsError is explained by main()


def _app(settings: Settings):
    """The app's state without an app: the same token store, budgets and engine."""
    from flaskllm.state import AppState

    return AppState(settings, spec={})


def _run(settings: Settings, work):
    """Run ``work(app_state)`` (a coroutine function) and close what it opened."""
    async def go():
        app = _app(settings)
        try:
            return await work(app)
        finally:
            await app.aclose()

    return asyncio.run(go())


KEEP = object()  # a limit flag that was not given (argparse.SUPPRESS): the limit stays
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


def _limit_changes(args) -> dict:
    return {LIMIT_FLAGS[flag]: getattr(args, flag) for flag in LIMIT_FLAGS
            if getattr(args, flag, KEEP) is not KEEP}


def _limits_line(view: dict) -> str:
    limits = view["budget"]["limits"]
    shown = [f"daily ${limits['daily_usd']:.2f}" if limits["daily_usd"] else "",
             f"monthly ${limits['monthly_usd']:.2f}" if limits["monthly_usd"] else "",
             f"{limits['daily_requests']} requests a day" if limits["daily_requests"] else ""]
    return "Limits: " + (", ".join(s for s in shown if s) or "none")


def _actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a container user without a passwd entry
        return f"cli:uid{os.getuid()}"


def cmd_tokens(args) -> int:
    """The same functions as the admin API (flaskllm/tokenadmin.py), audit log included."""
    from flaskllm import errors, tokenadmin

    settings = _settings()
    actor = _actor()

    async def work(app):
        if args.action == "create":
            view = await tokenadmin.create(app, actor, args.name, admin=args.admin,
                                           limits=_limit_changes(args))
            print(f"Token {args.name!r} created. It is shown only now; keep it safe:\n"
                  f"{view['token']}")
            if _limit_changes(args):
                print(_limits_line(view))
        elif args.action == "update":
            changes = _limit_changes(args)
            admin = {"yes": True, "no": False}.get(getattr(args, "admin", None))
            view = await tokenadmin.update(app, actor, args.name, admin=admin, limits=changes)
            said = _limits_line(view) if changes else ""
            if admin is not None:
                said = f"admin {args.admin}" + (f"; {said}" if said else "")
            print(f"Token {args.name!r}: {said or 'nothing to change (see --help)'}")
        elif args.action == "list":
            views = await tokenadmin.listing(app)
            print(f"{'NAME':24} {'ADMIN':5} {'REVOKED':7} {'CREATED':20} {'LAST USED':20} "
                  f"TODAY")
            for view in views:
                day = view["budget"]["day"]
                print(f"{view['name']:24} {'yes' if view['admin'] else 'no':5} "
                      f"{'yes' if view['revoked'] else 'no':7} "
                      f"{_when(view['created_at']):20} {_when(view['last_used_at']):20} "
                      f"{day['requests']} requests, ${day['spent_usd']:.2f}")
        elif args.action == "revoke":
            done = await tokenadmin.revoke(app, actor, args.name, purge=args.purge)
            print(f"Token {args.name!r} {'purged (its name can be used again)' if args.purge else 'revoked'}. "
                  + REVOCATION_RULE[done["others_told"]])

    try:
        _run(settings, work)
    except errors.APIProblem as exc:  # a name taken or unknown, a bad name: said as the API says it
        print(f"flaskllm: {exc.detail}", file=sys.stderr)
        return 1
    return 0


# What `tokens revoke` says about the other processes (tokenadmin.revoke's others_told).
REVOCATION_RULE = {
    True: "Every server process sharing REDIS_URL drops it within a second.",
    False: "Redis did not answer: other processes drop it within 5 seconds.",
    None: "Other processes (without REDIS_URL) drop it within 5 seconds.",
}


def _when(iso: str | None) -> str:
    return iso.replace("T", " ").removesuffix("Z") if iso else "-"


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
    if until is not None and _is_day(args.until):
        until += timedelta(days=1)  # a day is included, as the API's `to` is
    found = report.build(create_engine(settings.database_url, settings.instance), since, until, token=args.token)
    sys.stdout.write(report.render(found, args.format))
    return 0


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text.strip())
    except ValueError:
        return False
    return True


def cmd_check(args) -> int:
    settings = _settings()
    found = problems(settings, args.debug)
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
    return 2 if found else 0


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


def parser() -> argparse.ArgumentParser:
    from flaskllm import __version__

    shown = argparse.ArgumentDefaultsHelpFormatter  # every --help shows the defaults
    top = argparse.ArgumentParser(prog="flaskllm", description=__doc__, formatter_class=shown)
    top.add_argument("--version", action="version", version=f"flaskllm {__version__}")
    # On every command too, so `flaskllm check --debug` works as well as `flaskllm --debug check`.
    debug = argparse.ArgumentParser(add_help=False)
    debug.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show the traceback of a failure, not only what to do about it")
    top.add_argument("--debug", action="store_true", default=False,
                     help="show the traceback of a failure, not only what to do about it")
    sub = top.add_subparsers(dest="command", required=True)

    def command(parent, name: str, help: str) -> argparse.ArgumentParser:
        return parent.add_parser(name, help=help, description=help, parents=[debug],
                                 formatter_class=shown)

    serve = command(sub, "serve", "run the API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on")
    serve.add_argument("--workers", type=int, default=1, help="worker processes")
    serve.add_argument("--reload", action="store_true", help="restart when code changes")
    serve.set_defaults(func=cmd_serve)

    tokens = command(sub, "tokens", "create, list, change and revoke API tokens")
    actions = tokens.add_subparsers(dest="action", required=True)
    create = command(actions, "create", "create a token and print it once")
    create.add_argument("name")
    create.add_argument("--admin", action="store_true",
                        help="the admin scope: every token's usage, /metrics, token management")
    update = command(actions, "update", "change a token's scope, budgets and quota")
    update.add_argument("name")
    update.add_argument("--admin", choices=("yes", "no"), default=argparse.SUPPRESS,
                        help="give or take the admin scope (default: unchanged)")
    for parser_ in (create, update):
        parser_.add_argument("--budget-daily", type=_usd, default=argparse.SUPPRESS,
                             metavar="USD", help="USD a day (UTC); 0 or none: no limit "
                             "(default: none, or unchanged)")
        parser_.add_argument("--budget-monthly", type=_usd, default=argparse.SUPPRESS,
                             metavar="USD", help="USD a calendar month (UTC); 0 or none: no "
                             "limit (default: none, or unchanged)")
        parser_.add_argument("--quota-daily", type=_quota, default=argparse.SUPPRESS,
                             metavar="N", help="requests a day (UTC); 0 or none: no limit "
                             "(default: none, or unchanged)")
    command(actions, "list", "list tokens with their use today (never the tokens themselves)")
    revoke = command(actions, "revoke", "revoke a token: at once in this database's servers "
                     "(within 1 s with REDIS_URL, else 5 s)")
    revoke.add_argument("name")
    revoke.add_argument("--purge", action="store_true",
                        help="delete the token so that its name can be used again (usage "
                        "records keep the name)")
    tokens.set_defaults(func=cmd_tokens)

    usage = command(sub, "usage", "print a usage and cost report")
    usage.add_argument("--since", default="7d", help="7d, 24h, 30m or a date")
    usage.add_argument("--until", help="the same forms; a date is included, as the API's "
                       "`to` (default: now)")
    usage.add_argument("--token", help="one token's usage (default: every token)")
    usage.add_argument("--format", choices=("table", "csv", "json"), default="table",
                       help="output format")
    usage.set_defaults(func=cmd_usage)

    check = command(sub, "check", "load settings, the spec and the database and report "
                    "problems")
    check.set_defaults(func=cmd_check)
    shown = command(sub, "settings", "print the settings in effect (secrets masked)")
    shown.add_argument("--markdown", action="store_true", help="the README's table instead")
    shown.add_argument("--write-readme", action="store_true",
                       help="rewrite that table in README.md (between its marker comments)")
    shown.set_defaults(func=cmd_settings)
    return top


def main(argv: list[str] | None = None) -> int:
    from flaskllm import failures

    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:
        try:
            settings = Settings.from_env()
        except SettingsError:
            settings = None
        explained = failures.explain(exc, settings)
        if explained is None:
            raise  # not a setting or a connection: a bug, whose traceback is what helps
        if args.debug:
            traceback.print_exception(exc)
        print(explained, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
