"""POST /api/v1/webhook: one prompt; /batch: many; /stream: one, as Server-Sent Events."""

from __future__ import annotations

from connexion import request
from starlette.responses import StreamingResponse

from flaskllm import batch as batch_module
from flaskllm import context, pipeline, state, streaming
from flaskllm.cache import no_cache_requested
from flaskllm.responses import json_response


async def create(body: dict, user: str):
    app = state.get()
    await app.limiter.hit(user)
    job = pipeline.Job.from_body(body, request_id=context.current().request_id, token=user,
                                 no_cache=no_cache_requested(request.headers.get("cache-control")))
    result = await pipeline.answer(app, job)
    return json_response(result, headers={"X-Cache": "HIT" if result["cached"] else "MISS"})


async def batch(body: dict, user: str):
    app = state.get()
    _label, items = batch_module.items_of(body)
    no_cache = no_cache_requested(request.headers.get("cache-control"))
    key = request.headers.get("idempotency-key")
    digest = batch_module.body_digest(body) if key else ""
    if key:
        stored = await batch_module.replayed(app, user, key, digest)
        if stored is not None:
            return json_response(stored, headers={"Idempotent-Replayed": "true"})
    await app.limiter.hit(user, cost=len(items))
    response = await batch_module.run(app, body, request_id=context.current().request_id,
                                      token=user, no_cache=no_cache)
    if key:
        await batch_module.remember(app, user, key, digest, response)
    return json_response(response)


async def stream(body: dict, user: str):
    app = state.get()
    await app.limiter.hit(user)
    job = pipeline.Job.from_body(body, request_id=context.current().request_id, token=user,
                                 no_cache=no_cache_requested(request.headers.get("cache-control")),
                                 operation="webhook.stream")
    events = pipeline.run(app, job, streaming=True)
    await events.admit()  # refusals here are plain problem responses
    return StreamingResponse(streaming.encode(events), media_type="text/event-stream",
                             headers=streaming.HEADERS)
