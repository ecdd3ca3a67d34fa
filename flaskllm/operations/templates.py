"""GET /api/v1/templates: the prompt templates a request may name."""

from __future__ import annotations

from flaskllm import state
from flaskllm.responses import json_response


async def search(user: str):
    return json_response({"templates": [t.info() for t in state.get().templates.list()]})
