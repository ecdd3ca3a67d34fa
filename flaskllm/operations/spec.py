"""GET /api/v1/openapi.json: this document as the server enforces it, with its ``$ref``s.

Connexion resolves every reference for its own routing and validation, and would serve that
inlined copy; generators need the components by name (``Prompt``, ``ProcessResult``...), so
the server serves the loaded document instead (MAX_PROMPT_LENGTH and BATCH_MAX_ITEMS set in
it by ``flaskllm.app.load_spec``). Behind a path prefix (ASGI ``root_path``) the server URLs
carry the prefix, so a client built from the document calls the right place.
"""

from __future__ import annotations

from connexion import request

from flaskllm import state
from flaskllm.responses import json_response


async def get():
    spec = state.get().spec
    root = (request.scope.get("root_path") or "").rstrip("/")
    if root:
        servers = [{**server, "url": root + server["url"]} for server in spec["servers"]]
        spec = {**spec, "servers": servers}
    return json_response(spec)
