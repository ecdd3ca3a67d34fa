"""GET /api/v1/examples: usage examples generated from the examples in the spec itself (walked
by flaskllm/openapi.py, like the reference page)."""

from __future__ import annotations

import json
import shlex
from typing import Any, Iterator

from flaskllm import openapi, state
from flaskllm.responses import json_response


# How the token is sent: X-API-Token, or a bearer token where that is the only scheme (/v1).
TOKEN_HEADERS = {"ApiKeyAuth": "X-API-Token: $FLASKLLM_TOKEN",
                 "BearerAuth": "Authorization: Bearer $FLASKLLM_TOKEN"}


def _curl(method: str, path: str, body: Any, token_header: str | None) -> str:
    parts = ["curl", "-sS"]
    if method != "get":
        parts += ["-X", method.upper()]
    parts.append(f"http://127.0.0.1:8000{path}")
    if token_header:
        parts += ["-H", token_header]
    if body is not None:
        parts += ["-H", "Content-Type: application/json",
                  "-d", json.dumps(body, ensure_ascii=False)]
    # Keep $FLASKLLM_TOKEN expandable by the shell: double-quote that one header.
    return " ".join(f'"{p}"' if p == token_header else shlex.quote(p) for p in parts)


def _token_header(security: list) -> str | None:
    """The header of the operation's first security scheme (None: no token needed)."""
    schemes = [name for requirement in security for name in requirement]
    return TOKEN_HEADERS.get(schemes[0]) if schemes else None


def _filled(path: str, parameters: list[dict]) -> str:
    """The path with each path parameter's example in its place."""
    for param in parameters:
        if param.get("in") == "path" and "example" in param:
            path = path.replace("{" + param["name"] + "}", str(param["example"]))
    return path


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
                "curl": _curl(op.method, _filled(op.path, op.parameters()), request,
                              _token_header(op.node.get("security", spec.get("security", [])))),
            }


async def search(user: str):
    return json_response({"examples": list(build(state.get().spec))})
