"""The ``openai`` provider (the official SDK's ``AsyncOpenAI``), and every OpenAI-compatible
server of LLM_SERVERS: the same class, configured by a row instead of OPENAI_* settings.

Typed types ask for JSON: OpenAI gets strict structured outputs (``response_format`` with the
JSON schema); compatible servers, whose support for that varies, get JSON mode with the schema
written into the system prompt. Either way the pipeline validates what comes back.

Every call streams (``stream=True`` with the usage chunk asked for); a server that sends no
usage chunk (llama.cpp's) leaves the token counts unknown (None), never 0. A refusal
(``delta.refusal``) is the answer's text.
"""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

from flaskllm.llm import policy, typed
from flaskllm.llm.base import Result, Task
from flaskllm.llm.sdk import SDKProvider

# The SDK refuses to start without a key; keyless servers such as Ollama ignore this one.
NO_KEY = "no-key"
CHAT_PASSED = ("temperature", "top_p", "stop", "seed", "response_format")
JSON_MODE_INSTRUCTION = ("Answer with only a JSON object, no prose and no code fences, that "
                         "matches this JSON schema:\n<schema>\n{schema}\n</schema>")


class OpenAIProvider(SDKProvider):
    """Chat completions through ``AsyncOpenAI``; one SDK client per event loop."""

    name = "openai"
    sdk = "openai"
    default_base_url = "https://api.openai.com/v1"
    preload = (*SDKProvider.preload, "openai.types.chat")
    needs_key = True
    key_setting = "OPENAI_API_KEY"
    # Where the registry finds this provider's configuration (config key → setting).
    settings_map = {"api_key": "OPENAI_API_KEY", "model": "OPENAI_MODEL",
                    "models": "OPENAI_MODELS", "base_url": "OPENAI_BASE_URL"}
    chat_options = frozenset({"temperature", "top_p", "stop", "seed", "max_tokens",
                              "json_object", "json_schema"})

    def __init__(self, settings: Any, **config: Any) -> None:
        super().__init__(settings, **config)
        # Servers from LLM_SERVERS: JSON mode, and the older `max_tokens` parameter that
        # compatible servers understand (OpenAI itself wants `max_completion_tokens`).
        self.json_mode = bool(config.get("json_mode"))
        self.max_tokens_param = "max_tokens" if self.json_mode else "max_completion_tokens"

    def new_client(self, **options: Any) -> Any:
        return self._sdk.AsyncOpenAI(api_key=self.config.get("api_key") or NO_KEY, **options)

    def _request(self, task: Task) -> dict[str, Any]:
        prompt = task.prompt
        if prompt is None:
            raise ValueError("the openai provider needs a rendered prompt")
        system = prompt.system
        request: dict[str, Any] = {"model": task.model or self.default_model,
                                   self.max_tokens_param: task.max_output_tokens,
                                   "stream": True, "stream_options": {"include_usage": True}}
        if task.schema is not None and self.json_mode:
            schema = json.dumps(typed.envelope(task.schema), ensure_ascii=False)
            system = f"{system}\n\n{JSON_MODE_INSTRUCTION.format(schema=schema)}"
            request["response_format"] = {"type": "json_object"}
        elif task.schema is not None:
            request["response_format"] = {"type": "json_schema", "json_schema": {
                "name": task.type, "strict": True,
                "schema": typed.envelope(task.schema, strict=True)}}
        messages = [{"role": "system", "content": system}] if system else []
        messages += [{"role": role, "content": content}
                     for role, content in prompt.conversation()]
        request["messages"] = messages
        # A chat's options carry OpenAI's own names and shapes (response_format included).
        request.update({name: list(value) if name == "stop" else value
                        for name, value in task.options.items() if name in CHAT_PASSED})
        return request

    async def _post(self, request: dict[str, Any], timeout: float | None) -> Any:
        """``POST /chat/completions`` through the SDK client: its transport, auth, timeout,
        error types and response models, but not ``chat.completions.create()``'s parameter
        transform, a third of the call's CPU (bench/sdk_call.py: 0.86 → 0.55 ms a call), which
        changes nothing in a body of strings, numbers and one JSON schema. ``post()`` and the
        ``security`` option are the SDK's internals: setup.cfg pins its major version and
        tests/test_providers.py checks the Authorization header that reaches the server."""
        from openai import AsyncStream
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        options: dict[str, Any] = {"security": {"bearer_auth": True}}  # as create() asks
        if timeout is not None:
            options["timeout"] = timeout
        return await self.client().post(
            "/chat/completions", body=request, options=options,  # type: ignore[arg-type]
            cast_to=ChatCompletion, stream=True, stream_cls=AsyncStream[ChatCompletionChunk])

    async def stream(self, task: Task) -> AsyncIterator[str | Result]:
        request = self._request(task)
        parts: list[str] = []
        model, usage, chunks = request["model"], None, 0
        with self.translated():
            events = await self._post(request, task.timeout)
            try:
                async for chunk in events:
                    chunks += 1
                    model = getattr(chunk, "model", None) or model
                    usage = getattr(chunk, "usage", None) or usage
                    choices = getattr(chunk, "choices", None)
                    delta = getattr(choices[0], "delta", None) if choices else None
                    # A refusal is written instead of content: it is the answer.
                    piece = delta and (delta.content or getattr(delta, "refusal", None))
                    if piece:
                        parts.append(piece)
                        yield piece
            finally:
                await events.close()
        if not chunks:  # an HTML page, `{}`, a truncated body: no event at all
            raise policy.UpstreamMalformed("no chunks: not the API's stream")
        yield Result(text="".join(parts), data=None, model=model,
                     input_tokens=getattr(usage, "prompt_tokens", None),
                     output_tokens=getattr(usage, "completion_tokens", None))
