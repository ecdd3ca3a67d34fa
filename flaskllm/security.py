"""The security handlers connexion calls (the spec's ``x-apikeyInfoFunc`` and
``x-bearerInfoFunc``), and the admin scope. A token is checked against API_TOKEN from the
environment (admin scope, constant-time compare) and then the token store (flaskllm/tokens.py,
hashed). An address that keeps presenting wrong tokens is throttled (flaskllm/ratelimit.py).
"""

from __future__ import annotations

import hmac

from flaskllm import context, errors, state
from flaskllm.ratelimit import client_address
from flaskllm.tokens import ENV_TOKEN_NAME, TokenInfo



def require_admin(token_info: dict | None) -> None:
    """403 unless the caller's token has the admin scope (connexion hands handlers the dict
    check_token returned as ``token_info``; ``{}`` when an optional token was not given)."""
    if not (token_info or {}).get("admin"):
        raise errors.Forbidden("This operation needs a token with the admin scope "
                               "(flaskllm tokens create NAME --admin, the development "
                               "token `dev`, or the server's API_TOKEN).")


def env_token_matches(presented: str, configured: str) -> bool:
    return bool(configured) and hmac.compare_digest(
        presented.encode("utf-8", "surrogatepass"), configured.encode("utf-8"))


async def check_token(apikey: str, required_scopes=None, request=None) -> dict | None:
    """Connexion's x-apikeyInfoFunc: the token's info, or None (connexion answers 401).

    An address over AUTH_FAIL_LIMIT gets 429 before its token is looked at, and each wrong
    token counts against its address (see flaskllm/ratelimit.py)."""
    app = state.get()
    limiter = app.limiter
    address = client_address(request)
    limiter.refuse_blocked(address)
    if env_token_matches(apikey, app.settings.api_token):
        info = TokenInfo(ENV_TOKEN_NAME, admin=True)
    else:
        info = await app.tokens.verify(apikey)
    if info is None:
        await limiter.auth_failed(address)
        return None
    context.current().authenticated(info.name)  # the access line names it, never shows it
    return {"sub": info.name, "admin": info.admin}
