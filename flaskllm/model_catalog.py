"""The models of the OpenAI-compatible API: what GET /v1/models lists and what a chat
completion's ``model`` names.

    provider/model   a model on the provider's allow-list (openai/gpt-4.1-mini, ollama/llama3.2)
    provider         that provider's default model
    provider/TYPE    for a provider that cannot chat (offline): the processing type to run
    alias            a MODEL_ALIASES name for one of the above

Models containing ``/`` (a vLLM server's ``meta-llama/Llama-3.1-8B``) work: only the first
``/`` separates the provider. A provider whose key this server lacks is not listed (it could
not answer); naming it is a 404 whose message names the missing setting (OpenAI's clients
retry a 503, in vain here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from flaskllm import errors
from flaskllm.llm.base import Provider
from flaskllm.llm.processing import CHAT
from flaskllm.state import AppState

CREATED = 0  # Model.created: when the model was made, which no provider tells us


@dataclass(frozen=True)
class Target:
    """What a ``model`` resolves to: the provider, its model (None: the default) and the
    type of the job (``chat``, or the processing type a provider that cannot chat runs)."""

    provider: Provider
    model: str | None
    type: str


def resolve(app: AppState, name: str) -> Target:
    aliases = dict(app.settings.model_aliases)
    target = aliases.get(name, name)
    provider_name, _, model = target.partition("/")
    if provider_name not in app.providers.names():
        raise _not_found(name)
    try:
        provider = app.providers.get(provider_name)
    except errors.ProviderNotConfigured as exc:  # not listed, so not found (no 503 retries)
        raise errors.ModelNotFound(f"The model {name[:200]!r} is not available here: "
                                   f"{exc.detail}", param="model") from exc
    if CHAT in provider.supports:
        if model and model not in app.providers.models(provider):
            raise _not_found(name)
        return Target(provider, model or None, CHAT)
    if not model:
        types = ", ".join(f"{provider.name}/{t}" for t in sorted(provider.supports))
        raise errors.ChatNotSupported(
            f"The {provider.name} provider cannot hold a conversation; choose a model that "
            f"names the processing type to run on the last user message: {types}.",
            param="model")
    if model not in provider.supports:
        raise _not_found(name)
    return Target(provider, None, model)


def _not_found(name: str) -> errors.ModelNotFound:
    return errors.ModelNotFound(
        f"The model {name[:200]!r} does not exist here; GET /v1/models lists the models of "
        "this server.", param="model")


def listing(app: AppState) -> list[dict[str, Any]]:
    """Every model a request may name, as OpenAI's ``Model`` objects."""
    found = [model(name, owner) for name, owner in _names(app)]
    for alias, target in app.settings.model_aliases:
        try:
            owner = resolve(app, target).provider.name
        except (errors.ModelNotFound, errors.ChatNotSupported, errors.ProviderNotConfigured):
            continue  # an alias to a model this server cannot answer is not offered
        found.append(model(alias, owner))
    return found


def _names(app: AppState) -> Iterator[tuple[str, str]]:
    registry = app.providers
    for name in registry.names():
        try:
            provider = registry.get(name)
        except errors.ProviderNotConfigured:
            continue  # no key here: it could not answer
        choices = registry.models(provider) if CHAT in provider.supports \
            else sorted(provider.supports)
        for choice in choices:
            yield f"{name}/{choice}", name


def model(name: str, owner: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": CREATED, "owned_by": owner}


def find(app: AppState, name: str) -> dict[str, Any]:
    """One listed model by id, or 404."""
    for listed in listing(app):
        if listed["id"] == name:
            return listed
    raise _not_found(name)
