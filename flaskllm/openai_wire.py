"""OpenAI's chat-completions wire format, both ways: a validated request body → a pipeline
Job; the pipeline's result → a ``chat.completion`` or its ``chat.completion.chunk`` events.

Shapes follow OpenAI's published definitions (github.com/openai/openai-openapi, openapi.yaml:
CreateChatCompletionRequest, CreateChatCompletionResponse, CreateChatCompletionStreamResponse);
the spec declares the subset served. Errors in OpenAI's shape are rendered by
``flaskllm.responses`` (they concern every /v1 response, refusals by connexion included).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Mapping

from flaskllm import errors, pipeline
from flaskllm.llm.base import MAX_OUTPUT_TOKENS
from flaskllm.llm.processing import CHAT
from flaskllm.model_catalog import Target
from flaskllm.responses import openai_error

OPERATION = "chat.completions"  # the spec's operationId, in usage records and metrics
DONE = b"data: [DONE]\n\n"
SAMPLING = ("temperature", "top_p", "seed")  # passed on under their OpenAI names


def text_of(content: str | list[Mapping[str, str]]) -> str:
    """A message's content: a string, or text parts (the spec admits only text parts)."""
    if isinstance(content, str):
        return content
    return "".join(part["text"] for part in content)


def messages_of(body: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """(role, content) pairs; ``developer`` (OpenAI's newer name for system) is ``system``."""
    messages = tuple(("system" if m["role"] == "developer" else m["role"], text_of(m["content"]))
                     for m in body["messages"])
    if not any(role == "user" and content.strip() for role, content in messages):
        raise errors.NoUserMessage("messages needs at least one user message with text.",
                                   param="messages")
    return messages


def options_of(body: Mapping[str, Any]) -> dict[str, Any]:
    """The request's options by OpenAI name (what changes the answer; all in the cache key)."""
    options = {name: body[name] for name in SAMPLING if body.get(name) is not None}
    stop = body.get("stop")
    if stop is not None:
        options["stop"] = (stop,) if isinstance(stop, str) else tuple(stop)
    wanted = body.get("max_completion_tokens") or body.get("max_tokens")
    if wanted is not None:
        # An upper bound: capped at what this server lets one answer write (and budgets hold).
        options["max_tokens"] = min(wanted, MAX_OUTPUT_TOKENS)
    response_format = body.get("response_format") or {"type": "text"}
    if response_format["type"] != "text":
        options["response_format"] = response_format
    return options


def features(options: Mapping[str, Any]) -> list[str]:
    """What the options ask of a provider, in the names of ``Provider.chat_options``."""
    named = [name for name in options if name != "response_format"]
    if "response_format" in options:
        named.append(options["response_format"]["type"])
    return named


def check_logprobs(body: Mapping[str, Any]) -> None:
    """No provider's log probabilities are passed on: ``logprobs: true`` is refused."""
    if body.get("logprobs"):
        raise errors.ParameterNotSupported(
            "This server does not return log probabilities; leave logprobs out or send false.",
            param="logprobs")


def check_features(target: Target, options: Mapping[str, Any]) -> None:
    for feature in features(options):
        if feature not in target.provider.chat_options:
            param = "response_format" if feature.startswith("json_") else feature
            raise errors.ParameterNotSupported(
                f"The {target.provider.name} provider cannot honour {feature}; leave it out "
                f"or choose another model (GET /v1/models).", param=param)


def job_for(body: Mapping[str, Any], target: Target, *, request_id: str, token: str,
            no_cache: bool) -> pipeline.Job:
    """The Job of one chat completion. A provider that cannot chat runs the processing type
    its model names on the last user message; its options only shape the reply."""
    messages = messages_of(body)
    check_logprobs(body)
    options = options_of(body)
    check_features(target, options)
    common = dict(request_id=request_id, token=token, no_cache=no_cache,
                  operation=OPERATION, provider=target.provider.name, model=target.model)
    if target.type != CHAT:
        last = next(content for role, content in reversed(messages)
                    if role == "user" and content.strip())
        return pipeline.Job(type=target.type, text=last, **common)
    text = "\n\n".join(f"{role}: {content}" for role, content in messages)
    return pipeline.Job(type=CHAT, text=text, messages=messages, options=options, **common)


@dataclass(frozen=True)
class Reply:
    """How one request's answer is written: its id, time and model label, and whether the
    content is the typed data as JSON (json_object from a provider that ran a type)."""

    id: str
    created: int
    model: str
    data_as_json: bool = False

    @classmethod
    def for_job(cls, job: pipeline.Job, body: Mapping[str, Any], target: Target) -> "Reply":
        response_format = (body.get("response_format") or {}).get("type")
        label = f"{target.provider.name}/{target.model or target.provider.default_model}"
        return cls(id=f"chatcmpl-{job.request_id}", created=int(time.time()), model=label,
                   data_as_json=job.type != CHAT and response_format == "json_object")

    def content(self, result: Mapping[str, Any]) -> str:
        if self.data_as_json:
            return json.dumps(result["data"], ensure_ascii=False)
        return result["summary"]

    def completion(self, result: Mapping[str, Any]) -> dict[str, Any]:
        """The ``chat.completion`` for a ProcessResult."""
        return {
            "id": self.id, "object": "chat.completion", "created": self.created,
            "model": f"{result['provider']}/{result['model']}",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": self.content(result),
                                     "refusal": None}}],
            "usage": usage(result),
        }

    def chunk(self, delta: dict[str, Any] | None, finish: str | None = None,
              **extra: Any) -> bytes:
        """One ``chat.completion.chunk`` event; ``delta=None`` is the usage chunk (no choices)."""
        choices = [] if delta is None else [{"index": 0, "delta": delta,
                                             "finish_reason": finish, "logprobs": None}]
        return event({"id": self.id, "object": "chat.completion.chunk",
                      "created": self.created, "model": self.model, "choices": choices,
                      **extra})


    def chunks_for(self, kind: str, data: Any, include_usage: bool) -> list[bytes]:
        """The chunks for one of FlaskLLM's stream events (delta, done or error)."""
        if kind == "delta":
            return [] if self.data_as_json else [self.chunk({"content": data["text"]})]
        if kind == "error":  # after the stream started: OpenAI's SDKs raise on this event
            return [event(openai_error(data))]
        chunks = []  # done
        if self.data_as_json:  # typed data as JSON: whole, once the result is known
            chunks.append(self.chunk({"content": self.content(data)}))
        chunks.append(self.chunk({}, "stop"))
        if include_usage:
            chunks.append(self.chunk(None, usage=usage(data)))
        return chunks + [DONE]


@dataclass(frozen=True)
class ChunkWire:
    """A reply's stream as a ``streaming.Wire``: the pipeline's events as OpenAI's chunks."""

    reply: Reply
    include_usage: bool

    def delta(self, text: str) -> list[bytes]:
        return self.reply.chunks_for("delta", {"text": text}, self.include_usage)

    def done(self, body: dict[str, Any]) -> list[bytes]:
        return self.reply.chunks_for("done", body, self.include_usage)

    def error(self, problem: dict[str, Any]) -> list[bytes]:
        return self.reply.chunks_for("error", problem, self.include_usage)


def usage(result: Mapping[str, Any]) -> dict[str, int]:
    used = result["usage"]
    # OpenAI's usage is integers: counts a provider did not report (None) are given as 0.
    prompt, completion = used["input_tokens"] or 0, used["output_tokens"] or 0
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def event(data: Any) -> bytes:
    return b"data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode() \
        + b"\n\n"
