"""A fake of the OpenAI chat-completions API: plain text, JSON schema / JSON mode, streaming.

The stream is OpenAI's (https://platform.openai.com/docs/api-reference/chat-streaming): one
``data:`` line per ``chat.completion.chunk``, the role first, a ``finish_reason`` chunk, the
usage chunk with ``stream_options.include_usage`` (``choices: []``), then ``data: [DONE]``. A
failure inside it is an ``data: {"error": {"message", "type", "param", "code"}}`` line, which
the openai SDK raises as ``openai.APIError`` (openai/_streaming.py). Without ``stream`` the
same failure is the HTTP status of its error type with the error body, and the whole
completion carries the step's refusal, finish reason and (or no) usage.
"""

from __future__ import annotations

import json
import time
from typing import Any

from fakes import answers
from fakes.server import FakeServer, Request, Step, json_answer, sse


def _content(message: dict) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):  # content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content


def error_body(message: str, kind: str = "server_error") -> dict:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


# An error type's HTTP status (https://platform.openai.com/docs/guides/error-codes).
STATUSES = {"server_error": 500, "rate_limit_error": 429, "invalid_request_error": 400}


def answer(request: Request, step: Step):
    body = request.json or {}
    if not request.path.endswith("/chat/completions"):
        return json_answer(404, error_body("Unknown path", "invalid_request_error"))
    messages = body.get("messages") or []
    system = "\n".join(_content(m) for m in messages if m.get("role") in ("system", "developer"))
    users = [_content(m) for m in messages if m.get("role") == "user"]
    text = answers.user_text(users[0] if users else "")
    response_format = body.get("response_format") or {}
    schema = None
    if response_format.get("type") == "json_schema":
        schema = response_format["json_schema"].get("schema") or {}
    elif response_format.get("type") == "json_object":
        schema = answers.schema_in(system)
    if schema is not None:
        data = step.answer if step.answer is not None else answers.data_for(
            answers.kind(schema), text, system)
        content = json.dumps({"data": data})
    else:
        content = step.answer if step.answer is not None else answers.plain(text)
    model = f"{body.get('model', 'unknown')}-0001"
    prompt_tokens, completion_tokens = answers.usage_for([_content(m) for m in messages],
                                                         content)
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
             "total_tokens": prompt_tokens + completion_tokens}
    request.answered = {"content": content, "usage": usage, "model": model}
    if body.get("stream"):
        include_usage = (body.get("stream_options") or {}).get("include_usage") and step.usage
        return 200, {"Content-Type": "text/event-stream"}, sse(
            _chunks(model, content, usage if include_usage else None, step))
    if step.stream_error is not None:
        return json_answer(STATUSES[step.stream_error],
                           error_body(f"upstream says {step.stream_error}", step.stream_error))
    refused = step.refusal is not None
    return json_answer(200, {
        "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "finish_reason": step.stop or "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": None if refused else content,
                                 "refusal": step.refusal}}],
        **({"usage": usage} if step.usage else {}),
    })


def _chunks(model: str, content: str, usage: dict | None, step: Step | None = None):
    step = step or Step()

    def chunk(delta: dict, finish: str | None = None, **extra: Any) -> tuple[None, dict]:
        choices = [] if delta is None else [{"index": 0, "delta": delta,
                                             "finish_reason": finish, "logprobs": None}]
        return None, {"id": "chatcmpl-fake", "object": "chat.completion.chunk",
                      "created": int(time.time()), "model": model, "choices": choices,
                      **extra}

    yield chunk({"role": "assistant", "content": ""})
    written = step.refusal if step.refusal is not None else content
    field = "refusal" if step.refusal is not None else "content"
    cut = step.stream_error is not None or step.reset
    for i, word in enumerate(written.split(" ")):
        if cut and i == step.deltas:
            break
        yield chunk({field: word if i == 0 else " " + word})
    if step.stream_error is not None:
        yield None, error_body(f"upstream says {step.stream_error}", step.stream_error)
    if cut:
        return
    yield chunk({}, step.stop or "stop")
    if usage:
        yield chunk(None, usage=usage)
    yield None, "[DONE]"


def start() -> FakeServer:
    return FakeServer(answer).start()
