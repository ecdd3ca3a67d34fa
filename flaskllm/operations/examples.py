"""GET /api/v1/examples: usage examples generated from the examples in the spec itself."""

from __future__ import annotations

import json
import shlex
from typing import Any, Iterator

from flaskllm import state
from flaskllm.responses import json_response

METHODS = ("get", "post", "put", "patch", "delete")


def _first_example(content: dict) -> Any:
    media = content.get("application/json") or {}
    if "example" in media:
        return media["example"]
    examples = media.get("examples") or {}
    return next((e.get("value") for e in examples.values()), None)


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
    default_security = spec.get("security", [])
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            secured = bool(op.get("security", default_security))
            ok = next((r for code, r in op.get("responses", {}).items()
                       if str(code).startswith("2")), {})
            ok_content = (ok.get("content") or {}).get("application/json") or {}
            responses = ok_content.get("examples") or {}
            fallback = _first_example(ok.get("content") or {})
            body = ((op.get("requestBody") or {}).get("content") or {}).get("application/json")
            named = (body or {}).get("examples") or {}
            if not named:
                named = {"default": {"summary": op.get("summary", ""), "value": None}}
            for name, example in named.items():
                request = example.get("value")
                response = responses.get(name, {}).get("value", fallback)
                yield {
                    "operation_id": op["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "name": name,
                    "summary": example.get("summary") or op.get("summary", ""),
                    "request": request,
                    "response": response,
                    "curl": _curl(method, path, request, secured),
                }


async def search(user: str):
    return json_response({"examples": list(build(state.get().spec))})
