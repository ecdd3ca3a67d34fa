"""The provider contract: what the pipeline hands a provider and what it gets back.

A provider is one small class: a ``name``, whether it ``needs_key`` and which setting holds
that key, the types it ``supports``, and one ``stream()`` generator that yields the answer's
text as it is written and ends with one ``Result``. ``complete()`` drains that stream, so a
provider has one code path for both. Providers translate their SDK's errors at this boundary,
by type, into ``flaskllm.llm.policy``'s ``Upstream*`` tree (``raise ... from exc``), so nothing
above ``flaskllm.llm`` imports an SDK or sees its exceptions.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, ClassVar, Mapping

MAX_OUTPUT_TOKENS = 1024  # what a task may write (budgets hold this much output in advance)


@dataclass(frozen=True)
class Prompt:
    """A rendered prompt: the instructions and the user's message."""

    system: str
    user: str
    # Further (role, content) turns after `user`, e.g. the model's invalid answer and the
    # request to repair it; role is "assistant" or "user".
    turns: tuple[tuple[str, str], ...] = ()
    version: str | None = None  # the version of the template that rendered it

    @classmethod
    def from_messages(cls, messages: tuple[tuple[str, str], ...]) -> "Prompt":
        """A chat's (role, content) messages: the system ones joined into ``system``, the
        others the conversation, in order (``user`` empty, all of them in ``turns``)."""
        system = "\n\n".join(content for role, content in messages if role == "system")
        return cls(system=system, user="",
                   turns=tuple((role, content) for role, content in messages if role != "system"))

    def conversation(self) -> tuple[tuple[str, str], ...]:
        """The (role, content) turns after the system prompt: ``user`` (when there is one),
        then ``turns``."""
        return ((("user", self.user),) if self.user else ()) + self.turns


@dataclass(frozen=True)
class Task:
    """One unit of work for a provider, built by the pipeline from a validated request."""

    type: str
    text: str
    language: str | None = None
    source: str | None = None
    model: str | None = None  # None: the provider's configured default
    prompt: Prompt | None = None  # rendered template; the offline provider works on `text`
    schema: Mapping[str, Any] | None = None  # JSON schema `data` must match, for typed types
    max_output_tokens: int = MAX_OUTPUT_TOKENS
    # A chat's options, by their OpenAI names: temperature, top_p, stop, seed, response_format
    # (max_tokens, capped, becomes max_output_tokens).
    options: Mapping[str, Any] = field(default_factory=dict)
    timeout: float | None = None  # seconds this attempt may take (set by llm.policy)
    # Whether the caller streams the answer (set by llm.policy). Only then does a provider ask
    # its API for a stream: a drained answer is one JSON body, not an event per token.
    stream: bool = False


@dataclass
class Result:
    """What a provider answered: the text (the response's ``summary``), the typed ``data``
    (None when the provider only wrote text and the pipeline should shape it), the model
    that answered and the token counts the provider reported (None: it did not say, which
    is unknown, not 0)."""

    text: str
    data: Any
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    provider: str | None = None  # the provider that answered (set by the pipeline: fallback)


def add_tokens(a: int | None, b: int | None) -> int | None:
    """Counts of two calls spent on one answer; unknown if either is."""
    return None if a is None or b is None else a + b


class Provider(abc.ABC):
    """One LLM backend. Subclasses set the class attributes and implement ``stream``."""

    name: ClassVar[str]
    needs_key: ClassVar[bool] = False
    key_setting: ClassVar[str | None] = None  # the setting that holds the key, for error messages
    # What a chat request may ask of this provider beyond its messages (the OpenAI-compatible
    # API refuses the rest with 422 PARAMETER_NOT_SUPPORTED): sampling options, max_tokens and
    # response formats (json_object, json_schema).
    chat_options: ClassVar[frozenset[str]] = frozenset()
    free: ClassVar[bool] = False  # runs locally at no cost (usage.cost_usd is 0, not unknown)
    # Config key → the setting the registry reads it from (api_key, model, models, base_url).
    settings_map: ClassVar[Mapping[str, str]] = {}

    def __init__(self, settings: Any, **config: Any) -> None:
        self.settings = settings
        self.config = config

    @property
    def default_model(self) -> str:
        return self.config.get("model", self.name)

    @property
    def supports(self) -> frozenset[str]:
        """The processing types this provider can do: every type and a chat, for a language
        model."""
        from flaskllm.llm import processing

        return frozenset((*processing.names(), processing.CHAT))

    @abc.abstractmethod
    def stream(self, task: Task) -> AsyncIterator[str | Result]:
        """Yield text deltas as they are written, then one final ``Result`` (whose ``text``
        is the deltas joined, or the JSON of a typed answer). With ``task.stream`` off the
        answer may come as one delta (the API asked without streaming), as simonw/llm's
        ``execute(stream=...)`` does."""

    async def complete(self, task: Task) -> Result:
        """The whole answer: the stream, drained."""
        result = None
        stream = self.stream(task)
        try:
            async for piece in stream:
                if isinstance(piece, Result):
                    result = piece
        finally:
            await stream.aclose()
        if result is None:
            from flaskllm.llm.policy import UpstreamMalformed

            raise UpstreamMalformed("the stream ended without a result")
        return result

    async def aclose(self) -> None:
        """Release clients and connections."""
