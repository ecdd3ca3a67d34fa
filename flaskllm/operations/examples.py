"""GET /api/v1/examples: usage examples generated from the examples in the spec itself (walked
by flaskllm/openapi.py, like the reference page)."""

from __future__ import annotations

import json
import shlex
from typing import Any, Iterator

from flaskllm import openapi, state
from flaskllm.responses import json_response


def _curl(method: str, path: str, body: Any, secured: bool) -> str:
    parts = ["curl", "-sS"]
    if method != "get":
        parts += ["-X", method.upper()]
    parts.append(f"http://127.0.0.1:8000{path}")
    if secured:
        parts += ["-H", "X-API-Token: $FLASKLLM_TOKEN"]
    if body is not None:
        parts += ["-H", "Content-Type: application/json",
                  "-d", json.dumps(body, ensure_ascii=False)]
    # Keep $FLASKLLM_TOKEN expandable by the shell: double-quote that one header.
    return " ".join('"X-API-Token: $FLASKLLM_TOKEN"' if p.startswith("X-API-Token")
                    else shlex.quote(p) for p in parts)


def build(spec: dict) -> Iterator[dict]:
    """Every named request example of every operation, with a matching response example."""
    for op in openapi.operations(spec):
        ok = next((r for status, r in op.responses() if status.startswith("2")), {})
        ok_json = (ok.get("content") or {}).get("application/json")
        responses = (ok_json or {}).get("examples") or {}
        fallback = openapi.first_example(ok_json)
        named = (op.body().get("application/json") or {}).get("examples") or {}
        if not named:
            named = {"default": {"summary": op.node.get("summary", ""), "value": None}}
        for name, example in named.items():
            request = example.get("value")
            response = responses.get(name, {}).get("value", fallback)
            yield {
                "operation_id": op.id,
                "method": op.method.upper(),
                "path": op.path,
                "name": name,
                "summary": example.get("summary") or op.node.get("summary", ""),
                "request": request,
                "response": response,
                "curl": _curl(op.method, op.path, request, op.secured),
            }


async def search(user: str):
    return json_response({"examples": list(build(state.get().spec))})
