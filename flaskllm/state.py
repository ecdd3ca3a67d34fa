"""The per-app state that handlers reach: settings, database, providers, the loaded spec.

Connexion calls handlers and the security function as plain module functions, so the app's
state travels in a context variable that ``RequestContextMiddleware`` sets for each request.
Several apps (tests build many) can run in one process without sharing state.
"""

from __future__ import annotations

import contextvars
import functools
from typing import TYPE_CHECKING, Any

from flaskllm import db
from flaskllm.settings import Settings

if TYPE_CHECKING:
    from flaskllm.cache import Cache
    from flaskllm.llm import Registry
    from flaskllm.ratelimit import Disabled, Limiter
    from flaskllm.security import TokenStore

current: contextvars.ContextVar["AppState"] = contextvars.ContextVar("flaskllm_state")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("flaskllm_request_id", default="-")
# Headers any step may add to this request's response (X-Cache, X-RateLimit-*, Retry-After);
# RequestContextMiddleware puts a fresh dict here per request and writes it out.
response_headers: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar(
    "flaskllm_response_headers")


class AppState:
    """Everything one app owns. Heavy pieces are built on first use, inside the worker, so
    that a forking server (uWSGI, gunicorn) never shares a connection or client across forks."""

    def __init__(self, settings: Settings, spec: dict[str, Any]):
        self.settings = settings
        self.spec = spec

    @functools.cached_property
    def engine(self):
        return db.create_engine(self.settings.database_url)

    @functools.cached_property
    def tokens(self) -> "TokenStore":
        from flaskllm.security import TokenStore

        return TokenStore(self.engine)

    @functools.cached_property
    def providers(self) -> "Registry":
        from flaskllm.llm import Registry

        return Registry(self.settings)

    @functools.cached_property
    def limiter(self) -> "Limiter | Disabled":
        from flaskllm import ratelimit

        return ratelimit.build(self.settings)

    @functools.cached_property
    def cache(self) -> "Cache":
        from flaskllm import cache

        return cache.build(self.settings)

    async def aclose(self) -> None:
        for name in ("limiter", "cache"):
            if name in self.__dict__:
                await self.__dict__[name].aclose()
        if "providers" in self.__dict__:
            await self.providers.aclose()
        if "engine" in self.__dict__:
            self.engine.dispose()


def get() -> AppState:
    return current.get()
