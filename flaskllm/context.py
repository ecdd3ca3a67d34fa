"""What one request has learned about itself on the way: a typed ``RequestContext`` in one
context variable. It is a leaf (it imports nothing of FlaskLLM), so any layer may write to it.

    begin(request_id)           RequestContextMiddleware, once per HTTP request
    current()                   anyone: this request's context (outside a request, a detached
                                one whose writes go nowhere, so background work needs no check)

Writers call methods, one per fact, each named for who knows it:

    ctx.authenticated(name)                         flaskllm/security.py: the token's name
    ctx.operation = "webhook.create"                flaskllm/logs.py, from connexion's routing
    ctx.refused(code)                               the problem handlers: the problem's code
    ctx.used(type=…, provider=…, model=…, cached=…,
             input_tokens=…, output_tokens=…, cost_usd=…, upstream_seconds=…,
             status=…, code=…, prompt=…)            the metering of one item (flaskllm/usage)
    ctx.batch_done(items=…, failed=…, input_tokens=…, output_tokens=…, cost_usd=…)
                                                    a batch, once, with its totals
    ctx.set_header(name, value)                     a header for this response (X-RateLimit-*)

flaskllm/logs.py reads the attributes for the access line; the middleware writes
``response_headers`` out. Nothing here holds a secret: the token is kept by name, and the
prompt is only logged with LOG_PROMPTS=true.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass
class RequestContext:
    request_id: str = "-"
    token: str | None = None  # the token's name, never the token
    operation: str | None = None  # the spec's operationId
    code: str | None = None  # the problem's code, when the answer (or an item) is a problem
    # One item's outcome (the pipeline, through the meter): what the access line reports.
    type: str | None = None
    provider: str | None = None
    model: str | None = None
    cache: str | None = None  # "HIT" or "MISS"
    input_tokens: int | None = None  # None: not known (a server that reports no usage)
    output_tokens: int | None = None
    cost_usd: float | None = None  # None: not known (an unpriced model)
    upstream_ms: float | None = None
    # The item's status; for a stream that ended in an `error` event it differs from the HTTP
    # status (already 200), and the error-rate alert counts this one.
    outcome: int | None = None
    prompt: str | None = None  # logged only with LOG_PROMPTS=true
    items: int | None = None  # a batch: its item count
    failed: int | None = None  # a batch: how many of its items failed
    response_headers: dict[str, str] = field(default_factory=dict)

    def authenticated(self, token_name: str) -> None:
        self.token = token_name

    def refused(self, code: str) -> None:
        self.code = code

    def used(self, *, type: str, provider: str, model: str, cached: bool,
             input_tokens: int | None, output_tokens: int | None,
             cost_usd: Decimal | float | None, upstream_seconds: float | None, status: int,
             code: str | None = None, prompt: str | None = None) -> None:
        """One item was answered (or refused after it reached the meter)."""
        self.type, self.provider, self.model = type, provider, model
        self.cache = "HIT" if cached else "MISS"
        self.input_tokens, self.output_tokens = input_tokens, output_tokens
        self.cost_usd = None if cost_usd is None else float(cost_usd)
        self.upstream_ms = None if upstream_seconds is None else round(upstream_seconds * 1000, 1)
        self.outcome, self.prompt = status, prompt
        if code:
            self.code = code

    def batch_done(self, *, items: int, failed: int, input_tokens: int | None,
                   output_tokens: int | None, cost_usd: float | None) -> None:
        """A batch's totals, logged once for the whole request (items log nothing here)."""
        self.items, self.failed = items, failed
        self.input_tokens, self.output_tokens, self.cost_usd = input_tokens, output_tokens, cost_usd

    def set_header(self, name: str, value: str) -> None:
        self.response_headers[name] = value


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("flaskllm_request")


def begin(request_id: str) -> RequestContext:
    """A fresh context for a request that starts now, current from here on in this task."""
    ctx = RequestContext(request_id=request_id)
    _current.set(ctx)
    return ctx


def current() -> RequestContext:
    """This request's context; outside any request, a new detached one (writes are dropped)."""
    ctx = _current.get(None)
    return RequestContext() if ctx is None else ctx
