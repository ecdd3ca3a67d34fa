"""The ``anthropic`` provider: the official SDK's ``AsyncAnthropic`` and the messages API.

Typed types use tool use: one tool whose ``input_schema`` is the spec's schema of ``data``
(wrapped in an object), and ``tool_choice`` forcing the model to call it; the stream then
carries the tool's input as JSON text (``input_json_delta``). Every call streams; an ``event:
error`` inside it is translated by its error type (``overloaded_error`` is a 529).
"""

from __future__ import annotations

from typing import Any, AsyncIterator

from flaskllm.llm import policy, typed
from flaskllm.llm.base import Result, Task
from flaskllm.llm.sdk import SDKProvider

TOOL_DESCRIPTION = "Record the answer. Call this exactly once with the complete answer."


class AnthropicProvider(SDKProvider):
    """Messages through ``AsyncAnthropic``; one SDK client per event loop."""

    name = "anthropic"
    sdk = "anthropic"
    default_base_url = "https://api.anthropic.com"
    needs_key = True
    key_setting = "ANTHROPIC_API_KEY"
    settings_map = {"api_key": "ANTHROPIC_API_KEY", "model": "ANTHROPIC_MODEL",
                    "models": "ANTHROPIC_MODELS", "base_url": "ANTHROPIC_BASE_URL"}

    def new_client(self, **options: Any) -> Any:
        return self._sdk.AsyncAnthropic(api_key=self.config.get("api_key"), **options)

    def _request(self, task: Task) -> dict[str, Any]:
        prompt = task.prompt
        if prompt is None:
            raise ValueError("the anthropic provider needs a rendered prompt")
        messages = [{"role": "user", "content": prompt.user}]
        messages += [{"role": role, "content": content} for role, content in prompt.turns]
        request: dict[str, Any] = {"model": task.model or self.default_model,
                                   "max_tokens": task.max_output_tokens, "messages": messages,
                                   "stream": True}
        if prompt.system:
            request["system"] = prompt.system
        if task.schema is not None:
            tool = f"record_{task.type}"
            request["tools"] = [{"name": tool, "description": TOOL_DESCRIPTION,
                                 "input_schema": typed.envelope(task.schema)}]
            request["tool_choice"] = {"type": "tool", "name": tool}
        if task.timeout is not None:
            request["timeout"] = task.timeout
        return request

    async def stream(self, task: Task) -> AsyncIterator[str | Result]:
        request = self._request(task)
        # A typed task streams the tool's input: JSON text, as OpenAI's content would be.
        # Prose instead of the tool call is kept aside: it fails validation and gets the repair.
        wanted = "text_delta" if task.schema is None else "input_json_delta"
        parts: list[str] = []
        prose: list[str] = []
        model, usage_in, output_tokens, events_seen = request["model"], None, None, 0
        with self.translated():
            events = await self.client().messages.create(**request)
            try:
                async for event in events:
                    events_seen += 1
                    kind = getattr(event, "type", None)
                    if kind == "message_start":
                        model = getattr(event.message, "model", None) or model
                        usage_in = getattr(event.message, "usage", None)
                    elif kind == "content_block_delta":
                        delta = event.delta
                        if delta.type == wanted:
                            piece = delta.text if wanted == "text_delta" else delta.partial_json
                            if piece:
                                parts.append(piece)
                                yield piece
                        elif delta.type == "text_delta":
                            prose.append(delta.text)
                    elif kind == "message_delta" and getattr(event, "usage", None):
                        output_tokens = getattr(event.usage, "output_tokens", None)
            finally:
                await events.close()
        if not events_seen:  # an HTML page, `{}`, a truncated body: no event at all
            raise policy.UpstreamMalformed("no events: not the API's stream")
        if not parts and prose:
            parts.append("".join(prose))
            yield parts[0]
        yield Result(text="".join(parts), data=None, model=model,
                     input_tokens=_input_tokens(usage_in), output_tokens=output_tokens)


def _input_tokens(usage: Any) -> int | None:
    """Input tokens including prompt-cache reads and writes, which Anthropic counts apart;
    None when the stream did not say."""
    if usage is None or getattr(usage, "input_tokens", None) is None:
        return None
    return sum(getattr(usage, name, None) or 0 for name in (
        "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
