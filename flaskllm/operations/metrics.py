"""GET /metrics: Prometheus text format, for an admin token (X-API-Token, or the bearer token
Prometheus sends) or for anyone with METRICS_PUBLIC=true. The spec declares the token optional
(``security: [ApiKeyAuth, BearerAuth, {}]``) so that a public scrape needs none; whether one
is required is decided here."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.responses import Response

from flaskllm import errors, state
from flaskllm.security import require_admin


async def get(token_info: dict | None = None, **_: Any):
    app = state.get()
    if not app.settings.metrics_public:
        if not token_info:  # no token, or one check_token did not accept
            raise errors.Unauthorized("GET /metrics needs an admin token, in X-API-Token or as "
                                      "a bearer token (or METRICS_PUBLIC=true on the server).")
        require_admin(token_info)
    # In multiprocess mode this reads every worker's files: off the event loop.
    body, content_type = await asyncio.to_thread(app.metrics.exposition)
    return Response(body, media_type=content_type)
