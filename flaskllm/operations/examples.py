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


def _filled(path: str, op: dict) -> str:
    """The path with each path parameter's example in its place."""
    for param in op.get("parameters", []):
        if param.get("in") == "path" and "example" in param:
            path = path.replace("{" + param["name"] + "}", str(param["example"]))
    return path


def build(spec: dict) -> Iterator[dict]:
    """Every named request example of every operation, with a matching response example."""
    default_security = spec.get("security", [])
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            token_header = _token_header(op.get("security", default_security))
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
                    "curl": _curl(method, _filled(path, op), request, token_header),
                }


async def search(user: str):
    return json_response({"examples": list(build(state.get().spec))})
