"""GET /api/v1/health: no token; the state of each dependency: ok, degraded or down.

    database   ok / down (a ping; while it is down tokens and limits seen recently serve)
    usage      ok / degraded: records go to the spool, replayed once the database answers
    redis      ok / down (only with REDIS_URL: its circuit, else a ping)

The answer is 200 while the API can serve (``status`` ok or degraded) and 503 only when it
cannot: ``down`` when every request would be refused, which is the case when the rate
limiter's Redis is down and RATE_LIMIT_FAIL_OPEN is false.
"""

from __future__ import annotations

import asyncio
import time

from flaskllm import __version__, db, redisutil, state
from flaskllm.responses import json_response

CHECK_TIMEOUT = 3.0  # seconds the database may take before it counts as down


async def _timed(check) -> dict:
    started = time.perf_counter()
    outcome = await check()
    outcome["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return outcome


async def _database(app: state.AppState) -> dict:
    try:
        await asyncio.wait_for(asyncio.to_thread(db.ping, app.engine), CHECK_TIMEOUT)
    except Exception as exc:  # a down dependency is the answer here, not an error
        return {"status": "down", "detail": type(exc).__name__}
    return {"status": "ok"}


async def _usage(app: state.AppState) -> dict:
    if "usage" in app.__dict__ and app.usage.down:
        return {"status": "degraded", "detail": "usage records are spooled until the "
                                                "database answers"}
    return {"status": "ok"}


async def _redis(app: state.AppState) -> dict:
    try:
        await redisutil.ping(app.settings.redis_url)
    except Exception as exc:  # a down dependency is the answer here, not an error
        return {"status": "down", "detail": type(exc).__name__}
    return {"status": "ok"}


async def get():
    app = state.get()
    checks = {"database": await _timed(lambda: _database(app)),
              "usage": await _timed(lambda: _usage(app))}
    if app.settings.redis_url:
        checks["redis"] = await _timed(lambda: _redis(app))
    refusing = (checks.get("redis", {}).get("status") == "down" and app.limiter.enabled
                and not app.settings.rate_limit_fail_open)
    if refusing:
        status = "down"
    elif all(c["status"] == "ok" for c in checks.values()):
        status = "ok"
    else:
        status = "degraded"
    body = {"status": status, "version": __version__, "provider": app.settings.llm_provider,
            "checks": checks}
    return json_response(body, 503 if status == "down" else 200)
