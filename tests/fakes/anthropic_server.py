"""A fake of the Anthropic messages API: text and tool use, plain and streamed.

The stream is Anthropic's (https://docs.anthropic.com/en/docs/build-with-claude/streaming):
``message_start``, ``content_block_start``, ``content_block_delta``s (``text_delta``, or
``input_json_delta`` for a tool's input), ``content_block_stop``, ``message_delta`` (stop
reason, output tokens), ``message_stop``. A failure inside it is ``event: error`` with
``{"type": "error", "error": {"type": "overloaded_error", "message": ...}}``
(https://docs.anthropic.com/en/api/errors), which the SDK raises as an APIStatusError with
the stream's 200 status (anthropic/_streaming.py). Without ``stream`` the same failure is the
HTTP status of its error type (that page's table) with the error body, and the whole message
carries the step's stop reason and (or no) usage.
"""

from __future__ import annotations

import json

from fakes import answers
from fakes.server import FakeServer, Request, Step, json_answer, sse


def _text(content) -> str:
    if isinstance(content, list):
        return "".join(block.get("text", "") for block in content if isinstance(block, dict))
    return content or ""


def error_body(message: str, kind: str = "api_error") -> dict:
    return {"type": "error", "error": {"type": kind, "message": message}}


# An error type's HTTP status (https://docs.anthropic.com/en/api/errors).
STATUSES = {"api_error": 500, "overloaded_error": 529, "rate_limit_error": 429,
            "invalid_request_error": 400}


def answer(request: Request, step: Step):
    body = request.json or {}
    if not request.path.endswith("/messages"):
        return json_answer(404, error_body("Unknown path", "not_found_error"))
    system = _text(body.get("system"))
    messages = body.get("messages") or []
    users = [_text(m.get("content")) for m in messages if m.get("role") == "user"]
    text = answers.user_text(users[0] if users else "")
    tools = body.get("tools") or []
    model = f"{body.get('model', 'unknown')}-0001"
    if tools:
        tool = tools[0]
        data = step.answer if step.answer is not None else answers.data_for(
            answers.kind(tool["input_schema"]), text, system)
        block = {"type": "tool_use", "id": "toolu_fake", "name": tool["name"],
                 "input": {"data": data}}
        written, stop = json.dumps(block["input"]), "tool_use"
    else:
        written = step.answer if step.answer is not None else answers.plain(text)
        block, stop = {"type": "text", "text": written}, "end_turn"
    into = [system] + [_text(m.get("content")) for m in messages]
    input_tokens, output_tokens = answers.usage_for(into, written)
    usage = {"input_tokens": input_tokens, "output_tokens": output_tokens}
    request.answered = {"content": written, "usage": usage, "model": model}
    if body.get("stream"):
        return 200, {"Content-Type": "text/event-stream"}, sse(_events(model, block, written,
                                                                         usage, step))
    if step.stream_error is not None:
        return json_answer(STATUSES[step.stream_error],
                           error_body(f"upstream says {step.stream_error}", step.stream_error))
    return json_answer(200, {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
        "content": [block] if written else [], "stop_reason": step.stop or stop,
        "stop_sequence": None, **({"usage": usage} if step.usage else {}),
    })


def _events(model: str, block: dict, text: str, usage: dict, step: Step | None = None):
    step = step or Step()
    yield "message_start", {"type": "message_start", "message": {
        "id": "msg_fake", "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1}}}
    tool = block["type"] == "tool_use"  # its input arrives as JSON text in pieces
    start = {**block, "input": {}} if tool else {"type": "text", "text": ""}
    yield "content_block_start", {"type": "content_block_start", "index": 0,
                                  "content_block": start}
    cut = step.stream_error is not None or step.reset
    for i, word in enumerate(text.split(" ")):
        if cut and i == step.deltas:
            break
        piece = word if i == 0 else " " + word
        delta = {"type": "input_json_delta", "partial_json": piece} if tool else {
            "type": "text_delta", "text": piece}
        yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
    if step.stream_error is not None:
        yield "error", error_body(f"upstream says {step.stream_error}", step.stream_error)
    if cut:
        return
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    stop = step.stop or ("tool_use" if tool else "end_turn")
    yield "message_delta", {"type": "message_delta",
                            "delta": {"stop_reason": stop,
                                      "stop_sequence": None},
                            "usage": {"output_tokens": usage["output_tokens"]}}
    yield "message_stop", {"type": "message_stop"}


def start() -> FakeServer:
    return FakeServer(answer).start()
