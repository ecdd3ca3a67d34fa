"""The ``anthropic`` provider: the official SDK's ``AsyncAnthropic`` and the messages API.

Typed types use tool use: one tool whose ``input_schema`` is the spec's schema of ``data``
(wrapped in an object), and ``tool_choice`` forcing the model to call it; the stream then
carries the tool's input as JSON text (``input_json_delta``), a whole answer the tool's
``input``. A call streams when the caller does (``task.stream``); an ``event: error`` inside
the stream is translated by its error type (``overloaded_error`` is a 529). A chat (the
OpenAI-compatible API) with a ``json_schema`` response format is answered the same way with
the request's schema; its messages are sent as alternating turns (``alternating``).
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

from flaskllm.llm import policy, typed
from flaskllm.llm.base import Result, Task
from flaskllm.llm.sdk import SDKProvider

TOOL_DESCRIPTION = "Record the answer. Call this exactly once with the complete answer."
# Anthropic has no JSON mode: a chat's response_format json_object becomes this instruction.
JSON_OBJECT_INSTRUCTION = "Answer with only a JSON object, no prose and no code fences."


class AnthropicProvider(SDKProvider):
    """Messages through ``AsyncAnthropic``; one SDK client per event loop."""

    name = "anthropic"
    sdk = "anthropic"
    default_base_url = "https://api.anthropic.com"
    needs_key = True
    key_setting = "ANTHROPIC_API_KEY"
    settings_map = {"api_key": "ANTHROPIC_API_KEY", "model": "ANTHROPIC_MODEL",
                    "models": "ANTHROPIC_MODELS", "base_url": "ANTHROPIC_BASE_URL"}
    # The messages API (SDK 2.15's MessageCreateParams) has no temperature, top_p or seed.
    chat_options = frozenset({"stop", "max_tokens", "json_object", "json_schema"})

    def new_client(self, **options: Any) -> Any:
        return self._sdk.AsyncAnthropic(api_key=self.config.get("api_key"), **options)

    def _request(self, task: Task) -> dict[str, Any]:
        prompt = task.prompt
        if prompt is None:
            raise ValueError("the anthropic provider needs a rendered prompt")
        options = task.options
        request: dict[str, Any] = {"model": task.model or self.default_model,
                                   "max_tokens": task.max_output_tokens,
                                   "messages": alternating(prompt.conversation()),
                                   "stream": task.stream}
        if "stop" in options:
            request["stop_sequences"] = list(options["stop"])
        system = prompt.system
        response_format = options.get("response_format") or {}
        if response_format.get("type") == "json_object":
            system = f"{system}\n\n{JSON_OBJECT_INSTRUCTION}".strip()
        if system:
            request["system"] = system
        # Structured answers are a forced tool call whose input is the answer: the spec's
        # schema of `data` for typed types, the request's json_schema for a chat.
        tool = None
        if task.schema is not None:
            tool = {"name": f"record_{task.type}", "description": TOOL_DESCRIPTION,
                    "input_schema": typed.envelope(task.schema)}
        elif response_format.get("type") == "json_schema":
            wanted = response_format["json_schema"]
            tool = {"name": wanted["name"],
                    "description": wanted.get("description") or TOOL_DESCRIPTION,
                    "input_schema": wanted.get("schema") or {"type": "object"}}
        if tool is not None:
            request["tools"] = [tool]
            request["tool_choice"] = {"type": "tool", "name": tool["name"]}
        if task.timeout is not None:
            request["timeout"] = task.timeout
        return request

    async def stream(self, task: Task) -> AsyncIterator[str | Result]:
        request = self._request(task)
        if not task.stream:
            with self.translated():
                message = await self.client().messages.create(**request)
            for piece in _whole(message, request):
                yield piece
            return
        # A typed task streams the tool's input: JSON text, as OpenAI's content would be.
        # Prose instead of the tool call is kept aside: it fails validation and gets the repair.
        wanted = "input_json_delta" if "tool_choice" in request else "text_delta"
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


def _whole(message: Any, request: dict[str, Any]) -> list[str | Result]:
    """A whole message: the tool's input as JSON (a forced tool call) or its text, as one
    delta when there is any, then the Result. Prose instead of the tool call is the text (it
    fails validation and gets the repair), as in a stream."""
    content = getattr(message, "content", None)
    if not isinstance(content, list):  # an HTML page (the SDK gives its text), `{}`
        raise policy.UpstreamMalformed("not a message")
    tool = "tool_choice" in request
    parts = [json.dumps(getattr(block, "input", None), ensure_ascii=False)
             for block in content if tool and getattr(block, "type", None) == "tool_use"]
    text = "".join(parts) or "".join(getattr(block, "text", None) or "" for block in content
                                     if getattr(block, "type", None) == "text")
    usage = getattr(message, "usage", None)
    result = Result(text=text, data=None, model=getattr(message, "model", None) or
                    request["model"], input_tokens=_input_tokens(usage),
                    output_tokens=getattr(usage, "output_tokens", None))
    return [*([text] if text else []), result]


def alternating(turns: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    """Messages whose roles alternate, as the messages API wants: consecutive turns of one
    role (two user messages in a row) are joined into one."""
    messages: list[dict[str, str]] = []
    for role, content in turns:
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += "\n\n" + content
        else:
            messages.append({"role": role, "content": content})
    return messages


def _input_tokens(usage: Any) -> int | None:
    """Input tokens including prompt-cache reads and writes, which Anthropic counts apart;
    None when the stream did not say."""
    if usage is None or getattr(usage, "input_tokens", None) is None:
        return None
    return sum(getattr(usage, name, None) or 0 for name in (
        "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
