"""GET /dashboard: the admin dashboard, a static page. It holds no data and needs no token;
its script asks for an admin token and reads GET /api/v1/admin/usage with it.

The page's script and style are inline and carry a per-response nonce, and its
Content-Security-Policy allows nothing else: no other site's code, no requests but to this
server, no framing. The admin token it holds stays in that tab's sessionStorage."""

from __future__ import annotations

import secrets

from flaskllm.web import page


async def get():
    nonce = secrets.token_urlsafe(16)
    response = page("dashboard.html", title="Dashboard", nonce=nonce)
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'")
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
