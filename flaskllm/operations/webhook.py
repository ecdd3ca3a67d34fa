"""POST /api/v1/webhook: process one prompt."""

from __future__ import annotations

from flaskllm import pipeline, state
from flaskllm.responses import json_response


async def create(body: dict, user: str):
    app = state.get()
    job = pipeline.Job.from_body(body, request_id=state.request_id.get(), token=user)
    return json_response(await pipeline.process(app, job))
