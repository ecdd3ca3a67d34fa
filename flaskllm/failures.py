"""Configuration and connection errors said in a line or two: the setting, its value (secrets
masked) and what to do. ``flaskllm`` prints these instead of a traceback (exit code 2; with
``--debug`` the traceback too), at start-up and in every command.

    explain(exc, settings)   the lines, or None when ``exc`` is not one of these (a bug: its
                             traceback is what helps)
"""

from __future__ import annotations

from flaskllm.settings import Settings, SettingsError

DATABASE_FIX = ("check that the database server runs and the database exists (or set "
                "DATABASE_URL to one that does), then run `flaskllm check`")


def shown_database_url(url: str) -> str:
    """DATABASE_URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even a URL: nothing in it can be trusted to be no secret
        return url.split("://", 1)[0] + "://…"


def _first_line(exc: BaseException) -> str:
    """The driver's own message (not SQLAlchemy's wrapper with the SQL and a help link)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def explain(exc: BaseException, settings: Settings | None = None) -> str | None:
    import sqlalchemy.exc

    if isinstance(exc, SettingsError):
        return (f"flaskllm: bad setting: {exc}\n"
                f"  fix it in the environment or .env, then run `flaskllm check`")
    url = settings.database_url if settings is not None else ""
    if isinstance(exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError)):
        return (f"flaskllm: cannot use the database DATABASE_URL={shown_database_url(url)}: "
                f"{_first_line(exc)}\n  fix: {DATABASE_FIX}")
    if isinstance(exc, (sqlalchemy.exc.ArgumentError, sqlalchemy.exc.NoSuchModuleError)):
        return (f"flaskllm: DATABASE_URL={shown_database_url(url)} is not a database URL "
                f"SQLAlchemy can use: {_first_line(exc)}\n"
                f"  fix: use sqlite:///path/to/file.db or postgresql://user@host/database")
    import redis.exceptions

    if isinstance(exc, redis.exceptions.ConnectionError):
        from flaskllm.redisutil import shown_url

        shown = shown_url(settings.redis_url) if settings is not None else "REDIS_URL"
        return (f"flaskllm: cannot reach Redis at REDIS_URL={shown}: {_first_line(exc)}\n"
                f"  fix: start Redis, or unset REDIS_URL to keep state in each process")
    if isinstance(exc, OSError) and exc.filename:
        return (f"flaskllm: cannot use {exc.filename}: {exc.strerror}\n"
                f"  fix: create the folder or give this user access to it (or point the "
                f"setting that names it elsewhere)")
    return None
