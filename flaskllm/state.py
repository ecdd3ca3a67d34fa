"""The composition root: ``AppState`` builds the app's parts (database, token store, providers,
limiter, cache, usage, budgets, prices, alerts, metrics) from the settings and the loaded spec.

Connexion calls handlers and the security function as plain module functions, so the app's
state travels in a context variable that ``RequestContextMiddleware`` sets for each request
(``state.get()``). Several apps (tests build many) can run in one process without sharing
state. What a request learns about itself lives in flaskllm/context.py, not here.
"""

from __future__ import annotations

import contextvars
import functools
from typing import TYPE_CHECKING, Any

from flaskllm import db
from flaskllm.settings import Settings

if TYPE_CHECKING:
    from flaskllm.alerts import Alerter
    from flaskllm.cache import Cache
    from flaskllm.llm import Registry
    from flaskllm.metrics import Metrics
    from flaskllm.prices import Prices
    from flaskllm.ratelimit import Disabled, Limiter
    from flaskllm.tokens import TokenStore
    from flaskllm.usage import Recorder
    from flaskllm.usage.budgets import Budgets
    from flaskllm.templates import Catalog

current: contextvars.ContextVar["AppState"] = contextvars.ContextVar("flaskllm_state")


class AppState:
    """Everything one app owns. Heavy pieces are built on first use, inside the worker, so
    that a forking server (uWSGI, gunicorn) never shares a connection or client across forks."""

    def __init__(self, settings: Settings, spec: dict[str, Any]):
        self.settings = settings
        self.spec = spec

    @functools.cached_property
    def engine(self):
        return db.create_engine(self.settings.database_url, self.settings.instance)

    @functools.cached_property
    def tokens(self) -> "TokenStore":
        from flaskllm.tokenevents import TokenEvents
        from flaskllm.tokens import TokenStore

        store = TokenStore(self.engine, stale_seconds=self.settings.stale_token_ttl)
        store.events = TokenEvents(self.settings, on_change=store.forget)
        return store

    @functools.cached_property
    def templates(self) -> "Catalog":
        from flaskllm.templates import Catalog

        return Catalog(self.settings.prompt_templates_dir or None)

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

    def data_schema(self, type_: str) -> dict | None:
        """The JSON schema of ``data`` for a type, from the spec (converted once per type)."""
        if type_ not in self._data_schemas:
            from flaskllm.llm.typed import data_schema

            self._data_schemas[type_] = data_schema(self.spec, type_)
        return self._data_schemas[type_]

    @functools.cached_property
    def _data_schemas(self) -> dict[str, dict | None]:
        return {}

    @functools.cached_property
    def prompt_validator(self):
        """The spec's Prompt schema as a JSON-schema validator, for items validated one by one
        (batch items), with the server's MAX_PROMPT_LENGTH."""
        import jsonschema

        from flaskllm.llm.typed import component_schema

        return jsonschema.Draft4Validator(component_schema(self.spec, "Prompt"))

    @functools.cached_property
    def alerts(self) -> "Alerter":
        from flaskllm.alerts import Alerter

        return Alerter(self.settings)

    @functools.cached_property
    def prices(self) -> "Prices":
        from flaskllm.prices import Prices

        return Prices.load(self.settings, alerts=self.alerts)

    @functools.cached_property
    def metrics(self) -> "Metrics":
        from flaskllm.metrics import Metrics

        return Metrics(self.settings)

    @functools.cached_property
    def usage(self) -> "Recorder":
        from flaskllm.usage import Recorder

        spool = (self.settings.usage_spool_file
                 or self.settings.instance / db.journal_name(self.settings.database_url))
        # The engine is made on the first write, in the writer's thread: a database that is
        # down then means "spool", not an error in the request that recorded.
        return Recorder(lambda: self.engine, spool, alerts=self.alerts,
                        log_prompts=self.settings.log_prompts)

    @functools.cached_property
    def budgets(self) -> "Budgets":
        from flaskllm.usage import budgets

        return budgets.build(self.settings, self.engine, self.prices, self.alerts)

    async def aclose(self) -> None:
        # Usage first (its last batch may raise an alert), alerts after everything else.
        for name in ("usage", "budgets"):
            if name in self.__dict__:
                await self.__dict__[name].aclose()
        for name in ("limiter", "cache", "tokens"):
            if name in self.__dict__:
                await self.__dict__[name].aclose()
        if "providers" in self.__dict__:
            await self.providers.aclose()
        if "alerts" in self.__dict__:
            await self.alerts.aclose()
        if "engine" in self.__dict__:
            self.engine.dispose()


def get() -> AppState:
    return current.get()
