"""POST /v1/chat/completions: OpenAI's chat completions, through FlaskLLM's one pipeline.

The pipeline is used in exactly two places, ``_answer`` (a whole answer) and ``_stream`` (its
deltas, then the result), so that what sits between this module and the providers can change
without touching the translation (flaskllm/openai_wire.py).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, AsyncIterator

from connexion import request
from starlette.responses import StreamingResponse

from flaskllm import model_catalog, openai_wire, pipeline, state, streaming
from flaskllm.cache import no_cache_requested
from flaskllm.responses import json_response
from flaskllm.state import AppState


async def completions(body: dict, user: str):
    app = state.get()
    await app.limiter.hit(user)
    target = model_catalog.resolve(app, body["model"])
    job = openai_wire.job_for(body, target, request_id=state.request_id.get(), token=user,
                              no_cache=no_cache_requested(request.headers.get("cache-control")))
    reply = openai_wire.Reply.for_job(job, body, target)
    if body.get("stream"):
        pieces = await _stream(app, job)  # refusals here are ordinary error responses
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return StreamingResponse(_chunks(reply, pieces, include_usage),
                                 media_type="text/event-stream", headers=streaming.HEADERS)
    result = await _answer(app, job)
    return json_response(reply.completion(result),
                         headers={"X-Cache": "HIT" if result["cached"] else "MISS"})


async def _answer(app: AppState, job: pipeline.Job) -> dict[str, Any]:
    """The whole answer: a ProcessResult."""
    return await pipeline.process(app, job)


async def _stream(app: AppState, job: pipeline.Job) -> AsyncIterator[tuple[str, Any]]:
    """("delta", text) as the provider writes, then ("done", ProcessResult) or ("error",
    Problem). Everything refusable is checked (and raised) before this returns."""
    prepared = await streaming.prepare(app, job)

    async def pieces() -> AsyncIterator[tuple[str, Any]]:
        # streaming.events writes FlaskLLM's own events, one `event:`/`data:` pair each.
        # Closed with this generator: a client that goes away cancels the upstream call.
        async with contextlib.aclosing(streaming.events(app, prepared)) as events:
            async for raw in events:
                head, _, data = raw.decode("utf-8").partition("\ndata: ")
                yield head.removeprefix("event: "), json.loads(data)

    return pieces()


async def _chunks(reply: openai_wire.Reply, pieces: AsyncIterator[tuple[str, Any]],
                  include_usage: bool) -> AsyncIterator[bytes]:
    yield reply.chunk({"role": "assistant", "content": ""})
    async with contextlib.aclosing(pieces):
        async for kind, data in pieces:
            for chunk in reply.chunks_for(kind, data, include_usage):
                yield chunk

