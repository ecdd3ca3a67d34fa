"""GET /api/v1/health: no token; checks each configured dependency."""

from __future__ import annotations

import asyncio
import time

from flaskllm import __version__, db, state
from flaskllm.responses import json_response

CHECK_TIMEOUT = 3.0  # seconds a dependency may take before it counts as down


async def _check(fn, *args) -> dict:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.to_thread(fn, *args), CHECK_TIMEOUT)
    except Exception as exc:  # a down dependency is the answer here, not an error
        outcome = {"status": "error", "detail": type(exc).__name__}
    else:
        outcome = {"status": "ok"}
    outcome["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return outcome


async def get():
    app = state.get()
    checks = {"database": await _check(db.ping, app.engine)}
    healthy = all(c["status"] == "ok" for c in checks.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "version": __version__,
        "provider": app.settings.llm_provider,
        "checks": checks,
    }
    return json_response(body, 200 if healthy else 503)
