"""POST /v1/chat/completions: OpenAI's chat completions, through FlaskLLM's one pipeline.

A single answer drains ``pipeline.answer``; a stream is ``pipeline.run`` encoded by
``streaming.encode`` with OpenAI's chunks (``openai_wire.ChunkWire``). The translation both
ways is flaskllm/openai_wire.py; cache, budget, retries and metering are the pipeline's.
"""

from __future__ import annotations

from typing import AsyncIterator

from connexion import request
from starlette.responses import StreamingResponse

from flaskllm import context, model_catalog, openai_wire, pipeline, state, streaming
from flaskllm.cache import no_cache_requested
from flaskllm.responses import json_response


async def completions(body: dict, user: str):
    app = state.get()
    await app.limiter.hit(user)
    target = model_catalog.resolve(app, body["model"])
    job = openai_wire.job_for(body, target, request_id=context.current().request_id,
                              token=user,
                              no_cache=no_cache_requested(request.headers.get("cache-control")))
    reply = openai_wire.Reply.for_job(job, body, target)
    if body.get("stream"):
        events = pipeline.run(app, job, streaming=True)
        await events.admit()  # refusals here are ordinary error responses
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(_chunks(reply, events, include_usage),
                                 media_type="text/event-stream", headers=streaming.HEADERS)
    result = await pipeline.answer(app, job)
    return json_response(reply.completion(result),
                         headers={"X-Cache": "HIT" if result["cached"] else "MISS"})


async def _chunks(reply: openai_wire.Reply, events: pipeline.Run,
                  include_usage: bool) -> AsyncIterator[bytes]:
    """The opening chunk (the assistant's role), then the events as chunks. The events are
    closed with this generator, even before they started: the budget hold is settled and a
    client that goes away cancels the upstream call."""
    chunks = streaming.encode(events, openai_wire.ChunkWire(reply, include_usage))
    try:
        yield reply.chunk({"role": "assistant", "content": ""})
        async for chunk in chunks:
            yield chunk
    finally:
        await chunks.aclose()
        await events.aclose()
