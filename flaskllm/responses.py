"""Response helpers shared by handlers and middleware: compact JSON with an explicit type,
and problems as problem+json (or, on the OpenAI-compatible /v1 operations, OpenAI's shape).

Handlers return Starlette responses themselves: an operation that declares both
application/json and application/problem+json makes connexion refuse a bare dict.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from flaskllm.errors import PROBLEM_JSON, as_problem


def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(body: Any, status: int = 200, headers: dict | None = None,
                  media_type: str = "application/json") -> Response:
    return Response(dumps(body), status_code=status, headers=headers, media_type=media_type)


def problem_response(exc: BaseException, path: str = "") -> Response:
    body, headers = as_problem(exc)
    shown, media_type = rendered(body, path)
    return json_response(shown, body["status"], headers, media_type)


# The OpenAI-compatible operations answer errors as OpenAI does, because OpenAI's clients read
# that shape to raise their own exceptions: {"error": {message, type, param, code}}, with the
# problem's status and headers, and its code as `code`. Everything else gets problem+json.
OPENAI_PREFIX = "/v1/"
OPENAI_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                      403: "permission_error", 404: "not_found_error",
                      429: "rate_limit_error"}


def openai_error(problem: dict) -> dict:
    status = problem["status"]
    kind = OPENAI_ERROR_TYPES.get(status,
                                  "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": problem["detail"], "type": kind,
                      "param": problem.get("param"), "code": problem["code"]}}


def rendered(problem: dict, path: str) -> tuple[dict, str]:
    """A problem's body and media type for a request to ``path``."""
    if path.startswith(OPENAI_PREFIX):
        return openai_error(problem), "application/json"
    return problem, PROBLEM_JSON
