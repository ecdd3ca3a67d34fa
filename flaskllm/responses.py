"""Response helpers shared by handlers and middleware: compact JSON with an explicit type.

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


def problem_response(exc: BaseException) -> Response:
    body, headers = as_problem(exc)
    return json_response(body, body["status"], headers, PROBLEM_JSON)
