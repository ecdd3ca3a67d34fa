"""Every error FlaskLLM answers with, as ``application/problem+json``.

    ProblemException (connexion)
     └── APIProblem                      {type, title, status, detail, code}
          ├── 4XX
          │    ├── BadRequest            400 BAD_REQUEST
          │    │    ├── InvalidEncoding  400 INVALID_ENCODING
          │    │    ├── InvalidJSON      400 INVALID_JSON
          │    │    ├── EmptyPrompt      400 EMPTY_PROMPT
          │    │    └── AmbiguousCredentials 400 AMBIGUOUS_CREDENTIALS
          │    ├── Unauthorized          401 UNAUTHORIZED
          │    ├── Forbidden             403 FORBIDDEN
          │    ├── NotFound              404 NOT_FOUND
          │    │    ├── TokenNotFound    404 TOKEN_NOT_FOUND
          │    │    └── ModelNotFound    404 MODEL_NOT_FOUND
          │    ├── RequestTimeout        408 REQUEST_TIMEOUT
          │    ├── TokenExists           409 TOKEN_EXISTS
          │    ├── PayloadTooLarge       413 PAYLOAD_TOO_LARGE
          │    │    └── PromptTooLong    413 PROMPT_TOO_LONG
          │    ├── UnsupportedMediaType  415 UNSUPPORTED_MEDIA_TYPE
          │    ├── TypeNotSupported      422 TYPE_NOT_SUPPORTED
          │    ├── ProviderNotAllowed    422 PROVIDER_NOT_ALLOWED
          │    ├── TemplateNotFound      422 TEMPLATE_NOT_FOUND
          │    ├── ChatNotSupported      422 CHAT_NOT_SUPPORTED
          │    ├── ParameterNotSupported 422 PARAMETER_NOT_SUPPORTED
          │    ├── NoUserMessage         422 NO_USER_MESSAGE
          │    ├── IdempotencyKeyReused  422 IDEMPOTENCY_KEY_REUSED
          │    ├── InvalidRange          422 INVALID_RANGE
          │    ├── RateLimited           429 RATE_LIMITED
          │    ├── BudgetExceeded        429 BUDGET_EXCEEDED
          │    └── ProviderRateLimited   429 PROVIDER_RATE_LIMITED
          └── 5XX
               ├── InternalError         500 INTERNAL_ERROR
               ├── ProviderError         502 PROVIDER_ERROR
               │    ├── ProviderAuth     502 PROVIDER_AUTH
               │    ├── ProviderBadOutput 502 PROVIDER_BAD_OUTPUT
               │    └── ProviderEmptyAnswer 502 PROVIDER_EMPTY_ANSWER
               ├── ServiceUnavailable    503 SERVICE_UNAVAILABLE
               │    ├── ProviderNotConfigured 503 PROVIDER_NOT_CONFIGURED
               │    ├── BudgetsUnavailable 503 BUDGETS_UNAVAILABLE
               │    ├── TokensUnavailable  503 TOKENS_UNAVAILABLE
               │    └── DatabaseUnavailable 503 DATABASE_UNAVAILABLE
               └── ProviderTimeout       504 PROVIDER_TIMEOUT

Provider failures reach this tree only through ``flaskllm.llm.policy``: adapters translate
SDK exceptions (by type and status code) into its internal ``Upstream*`` errors, and
``policy.to_problem`` maps what is left after retries and fallback to the Provider* problems.

Connexion's own problems (validation, security, routing) and Starlette's HTTP errors are
rendered in the same shape by ``problem_response``, with a code derived from the status.
On the OpenAI-compatible /v1 operations the same problems are rendered in OpenAI's error
shape instead (``flaskllm.responses.rendered``): same status and headers, the code as
``error.code``, and a problem's ``param`` extension as ``error.param``.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from connexion.exceptions import ProblemException

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "/docs/errors#"
# Validation messages quote the offending value; a 4,000-character prompt need not come back.
_LONG_QUOTED = re.compile(r"'([^']{80})[^']+'|\"([^\"]{80})[^\"]+\"")

# Codes for problems raised by connexion or starlette rather than by us.
CODES_BY_STATUS = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    408: "REQUEST_TIMEOUT",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    502: "PROVIDER_ERROR",
    503: "SERVICE_UNAVAILABLE",
    504: "PROVIDER_TIMEOUT",
}


class APIProblem(ProblemException):
    """Base of FlaskLLM's problems: a status, a title and a stable machine-readable code."""

    status_code = 500
    title = "Internal Server Error"
    code = "INTERNAL_ERROR"

    def __init__(self, detail: str | None = None, *, headers: dict | None = None, **ext: Any):
        super().__init__(
            status=self.status_code,
            title=self.title,
            detail=detail or self.__doc__,
            type=PROBLEM_TYPE_BASE + self.code,
            headers=headers,
            ext={"code": self.code, **ext},
        )


# 4XX ---------------------------------------------------------------------------------------


class BadRequest(APIProblem):
    """The request could not be understood."""

    status_code, title, code = 400, "Bad Request", "BAD_REQUEST"


class InvalidEncoding(BadRequest):
    """The request body is not valid UTF-8."""

    code = "INVALID_ENCODING"


class InvalidJSON(BadRequest):
    """The request body is not JSON this server accepts (flaskllm/strictjson.py)."""

    code = "INVALID_JSON"


class EmptyPrompt(BadRequest):
    """The prompt has no visible characters."""

    code = "EMPTY_PROMPT"


class AmbiguousCredentials(BadRequest):
    """The request has more than one X-API-Token; send exactly one."""

    code = "AMBIGUOUS_CREDENTIALS"


class Unauthorized(APIProblem):
    """A valid X-API-Token header is required."""

    status_code, title, code = 401, "Unauthorized", "UNAUTHORIZED"


class Forbidden(APIProblem):
    """This token may not use this operation."""

    status_code, title, code = 403, "Forbidden", "FORBIDDEN"


class NotFound(APIProblem):
    """Nothing is here."""

    status_code, title, code = 404, "Not Found", "NOT_FOUND"


class RequestTimeout(APIProblem):
    """The request was not received within REQUEST_READ_TIMEOUT seconds."""

    status_code, title, code = 408, "Request Timeout", "REQUEST_TIMEOUT"


class TokenNotFound(NotFound):
    """No token has this name."""

    code = "TOKEN_NOT_FOUND"


class TokenExists(APIProblem):
    """A token has this name already (a revoked one keeps it until it is purged)."""

    status_code, title, code = 409, "Conflict", "TOKEN_EXISTS"


class ModelNotFound(NotFound):
    """The model is not one of this server's (GET /v1/models lists them)."""

    code = "MODEL_NOT_FOUND"


class PayloadTooLarge(APIProblem):
    """The request body is larger than this server accepts."""

    status_code, title, code = 413, "Payload Too Large", "PAYLOAD_TOO_LARGE"


class PromptTooLong(PayloadTooLarge):
    """The prompt is longer than MAX_PROMPT_LENGTH characters."""

    code = "PROMPT_TOO_LONG"


class UnsupportedMediaType(APIProblem):
    """The request body needs Content-Type: application/json."""

    status_code, title, code = 415, "Unsupported Media Type", "UNSUPPORTED_MEDIA_TYPE"


class TypeNotSupported(APIProblem):
    """The provider cannot do this processing type."""

    status_code, title, code = 422, "Unprocessable Content", "TYPE_NOT_SUPPORTED"


class ProviderNotAllowed(APIProblem):
    """The requested provider or model is not on this server's allow-list."""

    status_code, title, code = 422, "Unprocessable Content", "PROVIDER_NOT_ALLOWED"


class TemplateNotFound(APIProblem):
    """No prompt template has this name."""

    status_code, title, code = 422, "Unprocessable Content", "TEMPLATE_NOT_FOUND"


class ChatNotSupported(APIProblem):
    """The provider cannot hold a conversation; name a processing type in the model."""

    status_code, title, code = 422, "Unprocessable Content", "CHAT_NOT_SUPPORTED"


class ParameterNotSupported(APIProblem):
    """The chosen provider cannot honour this chat parameter (temperature, seed, json_schema…)."""

    status_code, title, code = 422, "Unprocessable Content", "PARAMETER_NOT_SUPPORTED"


class NoUserMessage(APIProblem):
    """A chat completion needs at least one user message with text."""

    status_code, title, code = 422, "Unprocessable Content", "NO_USER_MESSAGE"


class IdempotencyKeyReused(APIProblem):
    """This Idempotency-Key was used before with a different request body."""

    status_code, title, code = 422, "Unprocessable Content", "IDEMPOTENCY_KEY_REUSED"


class InvalidRange(APIProblem):
    """The date range is empty: `from` is after `to`."""

    status_code, title, code = 422, "Unprocessable Content", "INVALID_RANGE"


class RateLimited(APIProblem):
    """Too many requests; retry after the time in Retry-After."""

    status_code, title, code = 429, "Too Many Requests", "RATE_LIMITED"


class BudgetExceeded(RateLimited):
    """This token's budget or quota is spent until it resets."""

    code = "BUDGET_EXCEEDED"


class ProviderRateLimited(RateLimited):
    """The LLM provider is rate limiting this server; retry after the time in Retry-After."""

    code = "PROVIDER_RATE_LIMITED"


# 5XX ---------------------------------------------------------------------------------------


class InternalError(APIProblem):
    """Something went wrong on our side; the request id identifies it in the logs."""


class ProviderError(APIProblem):
    """The LLM provider failed to answer."""

    status_code, title, code = 502, "Bad Gateway", "PROVIDER_ERROR"


class ProviderAuth(ProviderError):
    """The LLM provider rejected this server's credentials (the server's key, not your token)."""

    code = "PROVIDER_AUTH"


class ProviderBadOutput(ProviderError):
    """The LLM provider's answer did not match the schema, even after a repair attempt."""

    code = "PROVIDER_BAD_OUTPUT"


class ProviderEmptyAnswer(ProviderError):
    """The LLM provider's answer had no text and no data (it ran out of tokens or stopped)."""

    code = "PROVIDER_EMPTY_ANSWER"


class ServiceUnavailable(APIProblem):
    """A service this request depends on is unavailable; try again shortly."""

    status_code, title, code = 503, "Service Unavailable", "SERVICE_UNAVAILABLE"


class ProviderNotConfigured(ServiceUnavailable):
    """The provider is not configured on this server."""

    code = "PROVIDER_NOT_CONFIGURED"


class BudgetsUnavailable(ServiceUnavailable):
    """This token has a budget or quota, and the store that counts it cannot be reached."""

    code = "BUDGETS_UNAVAILABLE"
    logged = True  # the outage is logged once a minute (usage/budgets.py), not per request


class TokensUnavailable(ServiceUnavailable):
    """The token database cannot be reached and this token was not seen recently."""

    code = "TOKENS_UNAVAILABLE"
    logged = True  # the outage is logged once a minute (flaskllm/lookups.py)


class DatabaseUnavailable(ServiceUnavailable):
    """This operation needs the database, which does not answer; try again shortly."""

    code = "DATABASE_UNAVAILABLE"
    logged = True  # logged once a minute where it is raised (flaskllm/app.py)


class ProviderTimeout(APIProblem):
    """The LLM provider did not answer within REQUEST_TIMEOUT."""

    status_code, title, code = 504, "Gateway Timeout", "PROVIDER_TIMEOUT"


# Rendering ---------------------------------------------------------------------------------


def shorten(detail: str) -> str:
    """Cut long quoted values out of a message (validation errors quote what they reject)."""
    return _LONG_QUOTED.sub(lambda m: f"'{m.group(1) or m.group(2)}…'", detail)


def problem_body(status: int, title: str | None, detail: Any, code: str | None = None,
                 type: str | None = None, **ext: Any) -> dict:
    """The one problem shape, for problems raised anywhere (ours, connexion's, starlette's)."""
    code = code or CODES_BY_STATUS.get(status, "ERROR")
    if not isinstance(detail, str):
        detail = json.dumps(detail) if detail is not None else None
    if detail and len(detail) > 200:
        detail = shorten(detail)
    return {
        "type": type if type and type != "about:blank" else PROBLEM_TYPE_BASE + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail or HTTPStatus(status).description or HTTPStatus(status).phrase,
        "code": code,
        **ext,
    }


def as_problem(exc: BaseException) -> tuple[dict, dict]:
    """The problem body and headers for any exception; unknown ones become a bare 500."""
    if isinstance(exc, ProblemException):
        ext = dict(exc.ext or {})
        code = ext.pop("code", None)
        body = problem_body(exc.status, exc.title, exc.detail, code, exc.type, **ext)
        return body, dict(exc.headers or {})
    if isinstance(exc, UnicodeDecodeError):
        return as_problem(InvalidEncoding())
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and 400 <= status < 600:  # starlette.exceptions.HTTPException
        body = problem_body(status, None, getattr(exc, "detail", None))
        return body, dict(getattr(exc, "headers", None) or {})
    return as_problem(InternalError())
