"""The client's address behind a proxy: one trust rule, the same under every server.

    ClientAddressMiddleware(app, settings)   rewrites the ASGI scope's ``client``

A connection from an address in TRUSTED_PROXIES may name the client in CLIENT_IP_HEADER
(``X-Forwarded-For``, or ``X-Real-IP`` as PythonAnywhere's load balancer sets it); from any
other address the header is ignored, so a client cannot pick a fresh address for every guess
of a token. ``X-Forwarded-For`` is a list that each proxy appends to: it is read from the
right, past the trusted proxies, and the first address that is not one of them is the client.
The entry ``unix`` trusts connections over a Unix socket, which have no peer address (uvicorn
``--uds``, as PythonAnywhere's ASGI hosting runs it).
Under uvicorn (``flaskllm serve``) uvicorn's own proxy-header handling is turned off, and under
WSGI (a2wsgi builds the scope from REMOTE_ADDR) there is none: this middleware is the rule.
"""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

from flaskllm.setting_values import UNIX, Network, header_key, parse_networks
from flaskllm.settings import Settings





def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [2001:db8::1]:443
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # 203.0.113.7:5555
        text = text.split(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class ClientAddressMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.trusted = parse_networks(settings.trusted_proxies)
        self.unix = UNIX in (entry.lower() for entry in settings.trusted_proxies)
        self.header = header_key(settings.client_ip_header)
        self.forwarded_for = self.header == b"x-forwarded-for"

    def is_trusted(self, address: object) -> bool:
        return address is not None and any(address in net for net in self.trusted)

    def client(self, peer: str | None, values: list[bytes]) -> str | None:
        """The client's address from a trusted peer's header values (peer None: a Unix
        socket), or None to keep the peer."""
        if not (self.unix if peer is None else self.is_trusted(_address(peer))):
            return None
        if not self.forwarded_for:  # one address, set by the proxy (the last copy wins)
            found = _address(values[-1].decode("latin-1")) if values else None
            return None if found is None else str(found)
        hops = [hop for value in values for hop in value.decode("latin-1").split(",")]
        client = None
        for hop in reversed(hops):
            found = _address(hop)
            if found is None:
                break  # a hop that is not an address: trust nothing further left
            client = str(found)
            if not self.is_trusted(found):
                break
        return client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.trusted or self.unix) and scope["type"] in ("http", "websocket"):
            values = [v for k, v in scope["headers"] if k == self.header]
            peer = scope.get("client")
            client = self.client(peer[0] if peer else None, values) if values else None
            if client is not None:
                scope = {**scope, "client": (client, 0)}
        await self.app(scope, receive, send)
