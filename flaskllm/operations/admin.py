"""GET /api/v1/admin/usage: every token's usage, for tokens with the admin scope (the
dashboard reads it too)."""

from __future__ import annotations

from typing import Any

from flaskllm import state
from flaskllm.operations.usage import date_range, report_body
from flaskllm.responses import json_response
from flaskllm.security import require_admin


async def usage(user: str, token_info: dict, **query: Any):
    require_admin(token_info)
    first, last = date_range(query)
    token = query.get("token")
    body = await report_body(state.get(), first, last, token)
    if token is not None and body["totals"]["requests"]:
        # The report skips by_token for one token; its one line is the totals, by name.
        body["by_token"] = [{**body["totals"], "key": token}]
    return json_response(body)
