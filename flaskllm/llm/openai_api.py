"""The ``openai`` provider (the official SDK's ``AsyncOpenAI``), and every OpenAI-compatible
server of LLM_SERVERS: the same class, configured by a row instead of OPENAI_* settings.

Typed types ask for JSON: OpenAI gets strict structured outputs (``response_format`` with the
JSON schema); compatible servers, whose support for that varies, get JSON mode with the schema
written into the system prompt. Either way the pipeline validates what comes back.

A streamed call (``task.stream``) asks for the usage chunk; a drained one gets the whole
completion as one JSON body. A server that sends no usage (llama.cpp's) leaves the token
counts unknown (None), never 0. A refusal (``refusal`` instead of ``content``) is the answer's
text. The SDK's answers are read as the JSON it parsed (``cast_to=object``), not as its
pydantic models: building a ``ChatCompletionChunk`` per token was most of a streamed call's
CPU, and ``choices[0]``'s text and the usage are all this provider reads.
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
                                   "stream": task.stream}
        if task.stream:  # OpenAI refuses stream_options on a call that does not stream
            request["stream_options"] = {"include_usage": True}
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
        error types and stream decoder (an error event raises ``APIError``), but not
        ``chat.completions.create()``'s parameter transform, a third of the call's CPU
        (bench/sdk_call.py: 0.86 → 0.55 ms a call), which changes nothing in a body of
        strings, numbers and one JSON schema; ``cast_to=object`` returns the parsed JSON (the
        SDK README's "undocumented requests"). ``post()`` and the ``security`` option are the
        SDK's internals: setup.cfg pins its major version and tests/test_providers.py checks
        the Authorization header that reaches the server."""
        from openai import AsyncStream

        options: dict[str, Any] = {"security": {"bearer_auth": True}}  # as create() asks
        if timeout is not None:
            options["timeout"] = timeout
        return await self.client().post(
            "/chat/completions", body=request, options=options,  # type: ignore[arg-type]
            cast_to=object, stream=request["stream"], stream_cls=AsyncStream[object])

    async def stream(self, task: Task) -> AsyncIterator[str | Result]:
        request = self._request(task)
        model = request["model"]
        with self.translated():
            answer = await self._post(request, task.timeout)
            if not request["stream"]:
                for piece in _whole(answer, model):
                    yield piece
                return
            parts: list[str] = []
            usage, chunks = None, 0
            try:
                async for chunk in answer:
                    chunks += 1
                    if not isinstance(chunk, dict):
                        raise policy.UpstreamMalformed("a chunk that is not a JSON object")
                    model = _str(chunk.get("model")) or model
                    usage = chunk.get("usage") or usage
                    piece = _text(_first(chunk.get("choices")), "delta")
                    if piece:
                        parts.append(piece)
                        yield piece
            finally:
                await answer.close()
        if not chunks:  # an HTML page, `{}`, a truncated body: no event at all
            raise policy.UpstreamMalformed("no chunks: not the API's stream")
        yield _result("".join(parts), model, usage)


def _text(choice: Any, field: str) -> str | None:
    """A choice's ``message`` (or stream ``delta``) text: its content, or a refusal written
    instead of content."""
    message = choice.get(field) if isinstance(choice, dict) else None
    if not isinstance(message, dict):
        return None
    text = message.get("content") or message.get("refusal")
    return text if isinstance(text, str) else None


def _whole(answer: Any, model: str) -> list[str | Result]:
    """A chat completion's JSON: its text as one delta (when it has any), then the Result."""
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list):  # an HTML page (the SDK gives its text), `{}`
        raise policy.UpstreamMalformed("not a chat completion")
    text = _text(_first(choices), "message") or ""
    return [*([text] if text else []), _result(text, _str(answer.get("model")) or model,
                                               answer.get("usage"))]


def _first(choices: Any) -> Any:
    return choices[0] if isinstance(choices, list) and choices else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _result(text: str, model: str, usage: Any) -> Result:
    usage = usage if isinstance(usage, dict) else {}
    return Result(text=text, data=None, model=model, input_tokens=_count(usage, "prompt_tokens"),
                  output_tokens=_count(usage, "completion_tokens"))


def _count(usage: dict, name: str) -> int | None:
    value = usage.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
