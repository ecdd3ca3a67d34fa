"""The provider registry: provider classes by name, and the configured instances of one app.

Adding a provider is adding a module with a ``Provider`` subclass and one row in ``PROVIDERS``.
OpenAI-compatible servers are not code at all: each LLM_SERVERS row becomes one more
provider of ``SERVER_CLASS``, in JSON mode. The names of all of them are the allow-list a
request's ``provider`` is checked against; each provider's models are its model allow-list.
"""

from __future__ import annotations

from typing import Any

from flaskllm import errors
from flaskllm.llm.anthropic_api import AnthropicProvider
from flaskllm.llm.base import Provider
from flaskllm.llm.offline import OfflineProvider
from flaskllm.llm.openai_api import OpenAIProvider
from flaskllm.settings import Settings, SettingsError

PROVIDERS: dict[str, type[Provider]] = {
    OfflineProvider.name: OfflineProvider,
    OpenAIProvider.name: OpenAIProvider,
    AnthropicProvider.name: AnthropicProvider,
}
SERVER_CLASS: type[Provider] = OpenAIProvider  # what an LLM_SERVERS row runs on


class Registry:
    """The providers one app may use, built lazily (SDK clients bind to the running loop)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.default = settings.llm_provider
        self.fallbacks = tuple(settings.fallback_providers)
        self._configs: dict[str, tuple[type[Provider], dict[str, Any]]] = {
            name: (cls, self._settings_config(cls)) for name, cls in PROVIDERS.items()
        }
        # The setting that must hold each provider's key (None: it needs no key).
        self._key_settings: dict[str, str | None] = {
            name: cls.key_setting if cls.needs_key else None for name, cls in PROVIDERS.items()
        }
        for server in settings.llm_servers:
            self._key_settings[server.name] = server.key_setting
            self._configs[server.name] = (SERVER_CLASS, {
                "name": server.name, "base_url": server.base_url, "model": server.model,
                "models": server.models, "key_setting": server.key_setting,
                "api_key": settings.server_keys.get(server.key_setting or "", ""),
                "json_mode": True,
            })
        self._instances: dict[str, Provider] = {}

    def _settings_config(self, cls: type[Provider]) -> dict[str, Any]:
        return {key: getattr(self.settings, setting.lower())
                for key, setting in cls.settings_map.items()}

    def names(self) -> list[str]:
        """The allow-list: every provider a request may name."""
        return sorted(self._configs)

    def check(self) -> None:
        """Start-up check of the default provider and the fallbacks: they exist and have
        their keys. A SettingsError names the setting to set."""
        for setting, name in [("LLM_PROVIDER", self.default)] + [
                ("FALLBACK_PROVIDERS", name) for name in self.fallbacks]:
            if name not in self._configs:
                raise SettingsError(f"{setting}: unknown provider {name!r} "
                                    f"(known: {', '.join(self.names())})")
            setting_name = self._missing_key(name)
            if setting_name:
                raise SettingsError(f"{setting_name}: must be set to use the {name} provider "
                                    f"({setting} names it)")
            self.get(name)  # built now: its SDK loads at start-up, not in a request

    def _missing_key(self, name: str) -> str | None:
        """The setting to set when ``name`` needs a key and has none, else None."""
        setting = self._key_settings[name]
        return setting if setting and not self._configs[name][1].get("api_key") else None

    def get(self, name: str | None = None) -> Provider:
        name = name or self.default
        if name not in self._configs:
            raise errors.ProviderNotAllowed(f"Provider {name!r} is not configured here; "
                                            f"choose one of: {', '.join(self.names())}.")
        provider = self._instances.get(name)
        if provider is None:
            setting = self._missing_key(name)
            if setting:
                raise errors.ProviderNotConfigured(
                    f"The {name} provider has no key on this server; the operator must set "
                    f"{setting}.")
            cls, config = self._configs[name]
            provider = self._instances[name] = cls(self.settings, **config)
        return provider

    def models(self, provider: Provider) -> tuple[str, ...]:
        """The models a request may choose for ``provider``: its default, then the rest."""
        extra = self._configs[provider.name][1].get("models") or ()
        return tuple(dict.fromkeys((provider.default_model, *extra)))

    def check_model(self, provider: Provider, model: str | None) -> None:
        if model is not None and model not in self.models(provider):
            raise errors.ProviderNotAllowed(
                f"Model {model!r} is not allowed for the {provider.name} provider; choose "
                f"one of: {', '.join(self.models(provider))}.")

    def chain(self, first: Provider, type_: str) -> list[Provider]:
        """``first``, then each fallback that can do ``type_`` (FALLBACK_PROVIDERS order)."""
        chain = [first]
        for name in self.fallbacks:
            if name != first.name:
                provider = self.get(name)
                if type_ in provider.supports:
                    chain.append(provider)
        return chain

    async def aclose(self) -> None:
        for provider in self._instances.values():
            await provider.aclose()
        self._instances.clear()
