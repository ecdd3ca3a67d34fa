"""``create_app(settings=None)``: the connexion AsyncApp, its middleware and error handlers.

Routes, schemas and the security scheme all come from ``spec/openapi.yaml``; this module only
loads it (setting MAX_PROMPT_LENGTH and BATCH_MAX_ITEMS into the served copy) and wires the app
around it. The document is served by its own operation (GET /api/v1/openapi.json,
flaskllm/operations/spec.py) with its ``$ref``s, not by connexion, which serves its inlined copy.
"""

from __future__ import annotations

import contextlib
import logging
import time
from pathlib import Path
from typing import Any, Mapping

from connexion import AsyncApp, ConnexionMiddleware
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import RelativeResolver
from starlette.middleware.cors import CORSMiddleware

from flaskllm import context, db, errors, logs, resources, speedups, state, validation
from flaskllm.clientip import ClientAddressMiddleware
from flaskllm.middleware import (AllowHeaderMiddleware, RequestBodyMiddleware,
                                 RequestContextMiddleware)
from flaskllm.responses import dumps, rendered
from flaskllm.settings import Settings

SPEC_PATH = resources.path("spec/openapi.yaml")
DB_LOG_SECONDS = 60.0
DB_RETRY_AFTER = 5
PROVIDER_FAILURES = (errors.ProviderError, errors.ProviderTimeout)
log = logging.getLogger("flaskllm")


def load_spec(settings: Settings, path: Path = SPEC_PATH) -> dict[str, Any]:
    """The spec as this server serves and enforces it."""
    spec = resources.yaml_file(path)
    prompt = spec["components"]["schemas"]["Prompt"]["properties"]["prompt"]
    prompt["maxLength"] = settings.max_prompt_length
    schemas = spec["components"]["schemas"]  # a chat message's text is bounded the same way
    schemas["ChatCompletionRequestMessage"]["properties"]["content"]["oneOf"][0]["maxLength"] = \
        settings.max_prompt_length
    schemas["ChatCompletionTextPart"]["properties"]["text"]["maxLength"] = \
        settings.max_prompt_length
    for variant in ("BatchItems", "BatchTexts"):
        listed = spec["components"]["schemas"][variant]["properties"]
        listed["items" if variant == "BatchItems" else "texts"]["maxItems"] = \
            settings.batch_max_items
    # A text over MAX_PROMPT_LENGTH fails alone (413 as its result); none can outgrow the body.
    spec["components"]["schemas"]["BatchTexts"]["properties"]["texts"]["items"]["maxLength"] = \
        settings.max_body_bytes
    return spec


def _problem_handler(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    if not isinstance(exc, ProblemException) and db.unreachable(exc):
        exc = _database_unavailable(exc)
    body, headers = errors.as_problem(exc)
    context.current().refused(body["code"])  # for the access line, metrics, error-rate alert
    # A problem whose cause is logged where it is noticed (a Redis outage, once a minute:
    # flaskllm.redisutil) says so with ``logged = True`` and is not logged per request.
    if body["status"] >= 500 and not getattr(exc, "logged", False):
        if isinstance(exc, PROVIDER_FAILURES):
            # The provider's failure, not ours (a refused connection, a 5xx): one line that
            # names it. Its traceback is the SDK's and the transport's, ~200 lines of them.
            log.warning("%s: %s", body["code"], body["detail"])
        else:
            log.error("%s: %s", body["code"], body["detail"], exc_info=exc)
    shown, media_type = rendered(body, _request.url.path)  # OpenAI's shape on /v1
    return ConnexionResponse(status_code=body["status"], content_type=media_type,
                             body=dumps(shown), headers=headers)


_db_logged = [float("-inf")]


def _database_unavailable(exc: Exception) -> errors.DatabaseUnavailable:
    """An operation that needs the database while it is away (a usage report, an admin
    change): 503, not 500; logged once a minute, without a traceback (the cause is known)."""
    now = time.monotonic()
    if now - _db_logged[0] >= DB_LOG_SECONDS:
        _db_logged[0] = now
        log.warning("the database does not answer (%s); requests that need it get 503 "
                    "DATABASE_UNAVAILABLE", db.reason(exc))
    return errors.DatabaseUnavailable(
        "The database does not answer; try again shortly.",
        headers={"Retry-After": str(DB_RETRY_AFTER)})


def create_app(settings: Settings | Mapping[str, Any] | None = None) -> AsyncApp:
    """Build the app. ``settings`` may be a Settings, a mapping of typed overrides on top of
    the environment, or None for the environment alone."""
    if settings is None:
        settings = Settings.from_env()
    elif not isinstance(settings, Settings):
        settings = Settings.from_env(**settings)
    logs.configure(settings)
    speedups.install()  # connexion's per-request re-decoration, done once
    spec = load_spec(settings)
    app_state = state.AppState(settings, spec)
    app_state.providers.check()
    app_state.templates  # compiles every prompt template: a broken one stops start-up here

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        app_state.usage.start()  # drains a journal that a killed worker left
        yield
        await app_state.aclose()

    app = AsyncApp(
        __name__,
        lifespan=lifespan,
        middlewares=list(ConnexionMiddleware.default_middlewares),
        swagger_ui_options=SwaggerUIOptions(
            swagger_ui_path="/api/v1/ui",
            serve_spec=False,  # GET /api/v1/openapi.json is an operation of the spec itself
            spec_path="/api/v1/openapi.json",
            # tryItOutEnabled stays off: with it on, Swagger UI fills the request editor with a
            # schema sample (random provider/template values: 422) instead of the first example.
            swagger_ui_config={"persistAuthorization": True},
        ),
    )
    # Outermost: every step below (logs, limits) sees the client behind a trusted proxy.
    app.add_middleware(ClientAddressMiddleware, MiddlewarePosition.BEFORE_EXCEPTION,
                       settings=settings)
    app.add_middleware(RequestContextMiddleware, MiddlewarePosition.BEFORE_EXCEPTION,
                       app_state=app_state)
    app.add_middleware(CORSMiddleware, MiddlewarePosition.BEFORE_ROUTING,
                       allow_origins=list(settings.allowed_origins),
                       allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
                       allow_headers=["Content-Type", "X-API-Token", "Authorization",
                                      "X-Request-ID",
                                      "Idempotency-Key", "Cache-Control"],
                       expose_headers=["X-Request-ID", "Retry-After", "X-Cache",
                                       "X-RateLimit-Limit", "X-RateLimit-Remaining",
                                       "X-RateLimit-Reset", "Idempotent-Replayed"])
    app.add_middleware(AllowHeaderMiddleware, MiddlewarePosition.BEFORE_EXCEPTION, spec=spec)
    app.add_middleware(RequestBodyMiddleware, MiddlewarePosition.BEFORE_ROUTING,
                       max_bytes=settings.max_body_bytes,
                       read_timeout=settings.request_read_timeout)
    app.add_api(
        spec,
        resolver=RelativeResolver("flaskllm.operations"),
        strict_validation=True,
        validate_responses=settings.environment == "test",
        validator_map=validation.validator_map(),  # compiled once; a long prompt is a 413
    )
    for exc_class in (Exception, UnicodeDecodeError):
        app.add_error_handler(exc_class, _problem_handler)
    from starlette.exceptions import HTTPException

    app.add_error_handler(ProblemException, _problem_handler)
    app.add_error_handler(HTTPException, _problem_handler)
    app.state = app_state  # for tests and the CLI
    return app
