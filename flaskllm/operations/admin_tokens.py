"""/api/v1/admin/tokens and /api/v1/admin/audit: token management over HTTP, admin scope only.
The work is flaskllm/tokenadmin.py's, which ``flaskllm tokens`` calls too."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flaskllm import state, tokenadmin
from flaskllm.responses import json_response
from flaskllm.security import require_admin


def _limits(body: dict) -> dict[str, Any]:
    """The body's ``limits`` as budgets.set_limits takes them (null clears one)."""
    given = body.get("limits") or {}
    return {name: (Decimal(str(value)) if name.endswith("_usd") and value is not None
                   else value) for name, value in given.items()}


async def search(user: str, token_info: dict):
    require_admin(token_info)
    return json_response({"tokens": await tokenadmin.listing(state.get())})


async def create(user: str, token_info: dict, body: dict):
    require_admin(token_info)
    created = await tokenadmin.create(state.get(), user, body["name"],
                                      admin=body.get("admin", False), limits=_limits(body))
    return json_response(created, 201)


async def update(user: str, token_info: dict, name: str, body: dict):
    require_admin(token_info)
    changed = await tokenadmin.update(state.get(), user, name, admin=body.get("admin"),
                                      limits=_limits(body))
    return json_response(changed)


async def delete(user: str, token_info: dict, name: str, purge: bool = False):
    require_admin(token_info)
    return json_response(await tokenadmin.revoke(state.get(), user, name, purge=purge))


async def audit(user: str, token_info: dict, limit: int = tokenadmin.AUDIT_LIMIT,
                token: str | None = None):
    require_admin(token_info)
    return json_response({"entries": await tokenadmin.audit(state.get(), limit, token)})
