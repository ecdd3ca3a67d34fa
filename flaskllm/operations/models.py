"""GET /v1/models and /v1/models/{model}: the models of the OpenAI-compatible API."""

from __future__ import annotations

from flaskllm import model_catalog, state
from flaskllm.responses import json_response


async def search(user: str):
    app = state.get()
    await app.limiter.hit(user)
    return json_response({"object": "list", "data": model_catalog.listing(app)})


async def get(model: str, user: str):
    app = state.get()
    await app.limiter.hit(user)
    return json_response(model_catalog.find(app, model))
