"""The ``anthropic`` provider: the official SDK's ``AsyncAnthropic`` and the messages API.

Typed types use tool use: one tool whose ``input_schema`` is the spec's schema of ``data``
(wrapped in an object), and ``tool_choice`` forcing the model to call it. A chat (the
OpenAI-compatible API) with a ``json_schema`` response format is answered the same way with
the request's schema; its messages are sent as alternating turns (``alternating``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import weakref
from typing import TYPE_CHECKING, Any, AsyncIterator

from flaskllm.llm import policy, typed
from flaskllm.llm.base import Provider, Result, Task

if TYPE_CHECKING:
    import anthropic

DEFAULT_BASE_URL = "https://api.anthropic.com"
TOOL_DESCRIPTION = "Record the answer. Call this exactly once with the complete answer."
# Anthropic has no JSON mode: a chat's response_format json_object becomes this instruction.
JSON_OBJECT_INSTRUCTION = "Answer with only a JSON object, no prose and no code fences."


def translated_errors() -> contextlib.AbstractContextManager[None]:
    """SDK exceptions → ``policy.Upstream*`` (see ``policy.sdk_errors``)."""
    # Not imported at module level: loading flaskllm.llm must not cost every server the
    # import of SDKs it never uses (about a second each). Cached after the first time.
    import anthropic

    return policy.sdk_errors(anthropic)


class AnthropicProvider(Provider):
    """Messages through ``AsyncAnthropic``; one SDK client per event loop."""

    name = "anthropic"
    needs_key = True
    key_setting = "ANTHROPIC_API_KEY"
    settings_map = {"api_key": "ANTHROPIC_API_KEY", "model": "ANTHROPIC_MODEL",
                    "models": "ANTHROPIC_MODELS", "base_url": "ANTHROPIC_BASE_URL"}
    # The messages API (SDK 2.15's MessageCreateParams) has no temperature, top_p or seed.
    chat_options = frozenset({"stop", "max_tokens", "json_object", "json_schema"})

    def __init__(self, settings: Any, **config: Any) -> None:
        super().__init__(settings, **config)
        self.name = config.get("name") or type(self).name
        # Load the SDK when the provider is built: the registry builds the default and the
        # fallbacks at start-up, so no request pays the import inside its deadline.
        import anthropic  # noqa: F401
        # An SDK client is bound to the event loop it first ran in (see openai_api).
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _client(self) -> "anthropic.AsyncAnthropic":
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            import anthropic

            limits = type(anthropic.DEFAULT_CONNECTION_LIMITS)(
                max_connections=policy.POOL_MAX_CONNECTIONS,
                max_keepalive_connections=policy.POOL_MAX_KEEPALIVE)
            client = self._clients[loop] = anthropic.AsyncAnthropic(
                api_key=self.config.get("api_key"),
                base_url=self.config.get("base_url") or DEFAULT_BASE_URL,
                max_retries=0,  # llm.policy retries, within the request's deadline
                # The SDK's aiohttp transport: httpx's own pool scans every connection on each
                # request and release, which costs most of the CPU at hundreds in flight.
                http_client=anthropic.DefaultAioHttpClient(limits=limits),
            )
        return client

    def _request(self, task: Task) -> dict[str, Any]:
        prompt = task.prompt
        if prompt is None:
            raise ValueError("the anthropic provider needs a rendered prompt")
        options = task.options
        request: dict[str, Any] = {"model": task.model or self.default_model,
                                   "max_tokens": task.max_output_tokens,
                                   "messages": alternating(prompt.conversation())}
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

    async def complete(self, task: Task) -> Result:
        request = self._request(task)
        with translated_errors():
            message = await self._client().messages.create(**request)
        content = getattr(message, "content", None)
        from anthropic.types import Message

        if not isinstance(message, Message) or not isinstance(content, list):
            # An HTML page with status 200 arrives as a str, `{}` as an empty model.
            raise policy.UpstreamMalformed("no content in the body")
        words = "".join(getattr(block, "text", "") or "" for block in content
                        if getattr(block, "type", None) == "text")
        if "tool_choice" in request:
            # The tool's input is the answer; no tool call leaves the prose, which fails
            # validation and gets the repair attempt.
            tool_input = next((block.input for block in content
                               if getattr(block, "type", None) == "tool_use"), None)
            text = json.dumps(tool_input, ensure_ascii=False) if tool_input is not None \
                else words
        else:
            text = words.strip()
            if not text:
                raise policy.UpstreamMalformed("an empty answer")
        usage = message.usage
        return Result(text=text, data=None, model=message.model or request["model"],
                      input_tokens=_input_tokens(usage),
                      output_tokens=(usage.output_tokens or 0) if usage else 0)

    async def stream(self, task: Task) -> AsyncIterator[str | Result]:
        request = self._request(task)
        request["stream"] = True
        # A typed task streams the tool's input: JSON text, as OpenAI's content would be.
        wanted = "input_json_delta" if "tool_choice" in request else "text_delta"
        parts: list[str] = []
        model, usage_in, output_tokens = request["model"], None, 0
        with translated_errors():
            events = await self._client().messages.create(**request)
            async for event in events:
                if event.type == "message_start":
                    model = event.message.model or model
                    usage_in = event.message.usage
                elif event.type == "content_block_delta" and event.delta.type == wanted:
                    piece = event.delta.text if wanted == "text_delta" \
                        else event.delta.partial_json
                    parts.append(piece)
                    yield piece
                elif event.type == "message_delta" and event.usage:
                    output_tokens = event.usage.output_tokens or 0
        yield Result(text="".join(parts), data=None, model=model,
                     input_tokens=_input_tokens(usage_in), output_tokens=output_tokens)

    async def aclose(self) -> None:
        try:
            client = self._clients.pop(asyncio.get_running_loop(), None)
        except RuntimeError:  # no running loop: nothing of ours can be closed from here
            client = None
        if client is not None:
            await client.close()
        self._clients.clear()


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


def _input_tokens(usage: Any) -> int:
    """Input tokens including prompt-cache reads and writes, which Anthropic counts apart."""
    if usage is None:
        return 0
    return sum(getattr(usage, name, None) or 0 for name in (
        "input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
