"""Logging: JSON lines in production, readable lines in development, and one access line
per request.

    configure(settings)      at app creation (and by ``flaskllm serve``); LOG_FORMAT and LOG_LEVEL
    request_finished(...)    at the end of every request (RequestContextMiddleware): the access
                             line, the HTTP metrics, refusals, and the error-rate alert's input

The access line (logger ``flaskllm.access``) has the request's id, method, path, status and
latency, and what the request's steps recorded in its ``RequestContext`` (flaskllm/context.py):

    token          the token's name (never the token): flaskllm/security.py
    operation      the spec's operationId: read here from connexion's routing
    code           the problem's code, for a problem answer: the app's problem handler
    type, provider, model, cache ("HIT"/"MISS"), input_tokens, output_tokens, cost_usd,
    upstream_ms    the pipeline, for one item
    items, failed  a batch: its item count and how many failed (tokens and cost are summed)
    outcome        a stream that ended in an ``error`` event: that problem's status (the HTTP
                   status was already 200); ``code`` is its code
    prompt         the prompt text: logged only with LOG_PROMPTS=true, cut to PROMPT_CHARS

Only these fields are logged, so nothing else a step knows can leak. Headers are never
logged: not X-API-Token, not Authorization, not cookies. Health checks and scrapes of
/metrics that succeed are logged at DEBUG, so they do not drown the requests that matter.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from flaskllm import context
from flaskllm.settings import Settings

if TYPE_CHECKING:
    from starlette.types import Scope

    from flaskllm.state import AppState

access_log = logging.getLogger("flaskllm.access")
log = logging.getLogger("flaskllm")

PROMPT_CHARS = 2000
QUIET_OPERATIONS = {"health.get", "metrics.get"}
# The access line's fields after request_id, method, path, status and latency, in order:
# attributes of the RequestContext (prompt is added last, and only with LOG_PROMPTS=true).
ORDER = ("token", "operation", "code", "type", "provider", "model", "cache", "input_tokens",
         "output_tokens", "cost_usd", "upstream_ms", "items", "failed", "outcome")


class RequestIdFilter(logging.Filter):
    """Every line logged while a request is answered carries that request's id."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = context.current().request_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        out.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """``12:00:01 INFO flaskllm.access [rid] POST /api/v1/webhook 200 12.3ms token=… …``"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
                         datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = "-"
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            shown = {k: v for k, v in fields.items()
                     if k not in ("request_id", "method", "path", "status", "latency_ms")}
            line += "".join(f" {k}={_plain(v)}" for k, v in shown.items())
        return line


def _plain(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (" " in text or not text) else text


def json_lines(settings: Settings) -> bool:
    return settings.log_format == "json" or (settings.log_format == "auto"
                                             and settings.production)


def configure(settings: Settings) -> None:
    """Install FlaskLLM's handler on the root logger, once per process, unless the host set
    up logging already (pytest, an application that embeds FlaskLLM): then theirs is kept."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "flaskllm", False)]
    if root.handlers and not ours:
        return
    handler = ours[0] if ours else logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines(settings) else PlainFormatter())
    if not ours:
        handler.flaskllm = True  # type: ignore[attr-defined]
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    level = settings.log_level.upper()
    # Other libraries stay at WARNING: at INFO some log whole upstream URLs.
    root.setLevel(logging.WARNING)
    for name in ("flaskllm", "uvicorn", "uvicorn.error"):
        logging.getLogger(name).setLevel(level)


def request_finished(app: "AppState", scope: "Scope", ctx: context.RequestContext,
                     status: int, seconds: float) -> None:
    """Everything observed at the end of one request. Never raises: the answer is out."""
    try:
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        # Connexion keeps the resolved function's name; the spec's operationId is its tail.
        operation = (routing.get("operation_id") or "").removeprefix("flaskllm.operations.")
        if operation and ctx.operation is None:
            ctx.operation = operation
        operation = ctx.operation
        app.metrics.observe_http(operation, status, seconds)
        app.metrics.refused(ctx.code, status)
        # The error rate is about answers that reached a provider (or failed on our side); a
        # batch reports its items one by one instead (batch.py).
        if (ctx.provider is not None or status >= 500) and ctx.items is None:
            app.alerts.observe(ctx.outcome or status, code=ctx.code, provider=ctx.provider)
        line: dict[str, Any] = {"request_id": ctx.request_id, "method": scope.get("method"),
                                "path": scope.get("path"), "status": status,
                                "latency_ms": round(seconds * 1000, 1)}
        for key in ORDER:
            value = getattr(ctx, key)
            if value is not None:
                line[key] = value
        if app.settings.log_prompts and ctx.prompt:
            line["prompt"] = ctx.prompt[:PROMPT_CHARS]
        quiet = operation in QUIET_OPERATIONS and status < 400
        access_log.log(logging.DEBUG if quiet else logging.INFO, "%s %s %s %.1fms",
                       line["method"], line["path"], status, line["latency_ms"],
                       extra={"fields": line, "request_id": ctx.request_id})
    except Exception:
        log.exception("the end of request %s was not recorded", ctx.request_id)
