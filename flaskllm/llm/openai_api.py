"""The ``openai`` provider (the official SDK's ``AsyncOpenAI``), and every OpenAI-compatible
server of LLM_SERVERS: the same class, configured by a row instead of OPENAI_* settings.

Typed types ask for JSON: OpenAI gets strict structured outputs (``response_format`` with the
JSON schema); compatible servers, whose support for that varies, get JSON mode with the schema
written into the system prompt. Either way the pipeline validates what comes back.
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
    import openai

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# The SDK refuses to start without a key; keyless servers such as Ollama ignore this one.
NO_KEY = "no-key"
CHAT_PASSED = ("temperature", "top_p", "stop", "seed", "response_format")
JSON_MODE_INSTRUCTION = ("Answer with only a JSON object, no prose and no code fences, that "
                         "matches this JSON schema:\n<schema>\n{schema}\n</schema>")


def translated_errors() -> contextlib.AbstractContextManager[None]:
    """SDK exceptions → ``policy.Upstream*`` (see ``policy.sdk_errors``)."""
    # Not imported at module level: loading flaskllm.llm must not cost every server the
    # import of SDKs it never uses (about a second each). Cached after the first time.
    import openai

    return policy.sdk_errors(openai)


class OpenAIProvider(Provider):
    """Chat completions through ``AsyncOpenAI``; one SDK client per event loop."""

    name = "openai"
    needs_key = True
    key_setting = "OPENAI_API_KEY"
    # Where the registry finds this provider's configuration (config key → setting).
    settings_map = {"api_key": "OPENAI_API_KEY", "model": "OPENAI_MODEL",
                    "models": "OPENAI_MODELS", "base_url": "OPENAI_BASE_URL"}
    chat_options = frozenset({"temperature", "top_p", "stop", "seed", "max_tokens",
                              "json_object", "json_schema"})

    def __init__(self, settings: Any, **config: Any) -> None:
        super().__init__(settings, **config)
        self.name = config.get("name") or type(self).name
        # Load the SDK when the provider is built: the registry builds the default and the
        # fallbacks at start-up, so no request pays the import inside its deadline.
        import openai  # noqa: F401
        # Servers from LLM_SERVERS: JSON mode, and the older `max_tokens` parameter that
        # compatible servers understand (OpenAI itself wants `max_completion_tokens`).
        self.json_mode = bool(config.get("json_mode"))
        self.max_tokens_param = "max_tokens" if self.json_mode else "max_completion_tokens"
        # An SDK client is bound to the event loop it first ran in; the test client, a2wsgi
        # and uvicorn each run their own, so keep one per loop (gone with the loop).
        self._clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def _client(self) -> "openai.AsyncOpenAI":
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            import openai

            limits = type(openai.DEFAULT_CONNECTION_LIMITS)(
                max_connections=policy.POOL_MAX_CONNECTIONS,
                max_keepalive_connections=policy.POOL_MAX_KEEPALIVE)
            client = self._clients[loop] = openai.AsyncOpenAI(
                api_key=self.config.get("api_key") or NO_KEY,
                base_url=self.config.get("base_url") or DEFAULT_BASE_URL,
                max_retries=0,  # llm.policy retries, within the request's deadline
                # The SDK's aiohttp transport: httpx's own pool scans every connection on each
                # request and release, which costs most of the CPU at hundreds in flight.
                http_client=openai.DefaultAioHttpClient(limits=limits),
            )
        return client

    def _request(self, task: Task) -> dict[str, Any]:
        prompt = task.prompt
        if prompt is None:
            raise ValueError("the openai provider needs a rendered prompt")
        system = prompt.system
        request: dict[str, Any] = {"model": task.model or self.default_model,
                                   self.max_tokens_param: task.max_output_tokens}
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
        if task.timeout is not None:
            request["timeout"] = task.timeout
        return request

    async def _post(self, request: dict[str, Any], stream: bool = False) -> Any:
        """``POST /chat/completions`` through the SDK client: its transport, auth, timeout,
        error types and response models, but not ``chat.completions.create()``'s parameter
        transform, a third of the call's CPU (bench/sdk_call.py: 0.86 → 0.55 ms a call), which
        changes nothing in a body of strings, numbers and one JSON schema."""
        from openai import AsyncStream
        from openai.types.chat import ChatCompletion, ChatCompletionChunk

        options: dict[str, Any] = {"security": {"bearer_auth": True}}  # as create() asks
        if "timeout" in request:
            options["timeout"] = request.pop("timeout")
        return await self._client().post(
            "/chat/completions", body=request, options=options,  # type: ignore[arg-type]
            cast_to=ChatCompletion, stream=stream,
            stream_cls=AsyncStream[ChatCompletionChunk])

    async def complete(self, task: Task) -> Result:
        request = self._request(task)
        with translated_errors():
            completion = await self._post(request)
        choices = getattr(completion, "choices", None)
        from openai.types.chat import ChatCompletion

        if not isinstance(completion, ChatCompletion) or not choices \
                or getattr(choices[0], "message", None) is None:
            # An HTML page with status 200 arrives as a str, `{}` as an empty model.
            raise policy.UpstreamMalformed("no choices in the body")
        message = choices[0].message
        text = message.content or ""
        if task.schema is None:
            text = (text or message.refusal or "").strip()
            if not text:
                raise policy.UpstreamMalformed("an empty answer")
        usage = completion.usage
        return Result(text=text, data=None, model=completion.model or request["model"],
                      input_tokens=(usage.prompt_tokens or 0) if usage else 0,
                      output_tokens=(usage.completion_tokens or 0) if usage else 0)

    async def stream(self, task: Task) -> AsyncIterator[str | Result]:
        request = self._request(task)
        request.update(stream=True, stream_options={"include_usage": True})
        parts: list[str] = []
        model, input_tokens, output_tokens = request["model"], 0, 0
        with translated_errors():
            chunks = await self._post(request, stream=True)
            async for chunk in chunks:
                model = chunk.model or model
                if chunk.usage:
                    input_tokens = chunk.usage.prompt_tokens or 0
                    output_tokens = chunk.usage.completion_tokens or 0
                delta = chunk.choices[0].delta.content if chunk.choices else None
                if delta:
                    parts.append(delta)
                    yield delta
        yield Result(text="".join(parts), data=None, model=model,
                     input_tokens=input_tokens, output_tokens=output_tokens)

    async def aclose(self) -> None:
        try:
            client = self._clients.pop(asyncio.get_running_loop(), None)
        except RuntimeError:  # no running loop: nothing of ours can be closed from here
            client = None
        if client is not None:
            await client.close()
        self._clients.clear()  # clients of other (finished) loops are dropped, not closed
