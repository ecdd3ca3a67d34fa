"""ASGI middleware around connexion: the request context (app state, X-Request-ID) and the
request body size limit, enforced before the body is parsed."""

from __future__ import annotations

import json
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flaskllm import errors, logs, state
from flaskllm.responses import problem_response

SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestContextMiddleware:
    """Makes the app's state reachable from handlers, and gives every response an X-Request-ID
    (a sane incoming one is echoed, otherwise a new one is made). It sits outside connexion's
    exception handling, so error responses carry the id too; anything that escapes below
    becomes a problem response here instead of a bare 500 page. At the end of each request it
    writes the access line and the HTTP metrics (flaskllm/logs.py: request_finished)."""

    def __init__(self, app: ASGIApp, app_state: state.AppState):
        self.app = app
        self.app_state = app_state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            state.current.set(self.app_state)
            await self.app(scope, receive, send)
            return
        incoming = ""
        for key, value in scope["headers"]:
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        state.current.set(self.app_state)
        state.request_id.set(rid)
        extra_headers: dict[str, str] = {}
        state.response_headers.set(extra_headers)
        log_fields: dict = {}
        state.request_log.set(log_fields)
        started = False
        status = 499  # until a response starts: the client went away (nginx's code for it)
        began = time.perf_counter()
        # Connexion's routing writes the operationId into scope["extensions"] of its own copy
        # of the scope; a dict made here is shared by that copy, so the access line sees it.
        scope.setdefault("extensions", {})

        async def send_with_id(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started, status = True, message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = rid
                for name, value in extra_headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        try:
            with self.app_state.metrics.in_flight():
                try:
                    await self.app(scope, receive, send_with_id)
                except Exception as exc:
                    if started:
                        raise
                    log_fields["code"] = errors.as_problem(exc)[0]["code"]
                    await problem_response(exc)(scope, receive, send_with_id)
        finally:
            logs.request_finished(self.app_state, scope, rid, status,
                                  time.perf_counter() - began, log_fields)


class BodyLimitMiddleware:
    """413 for a body over MAX_BODY_BYTES: by Content-Length at once, and by counting the
    bytes as they stream in when there is no Content-Length (a chunked upload). A chunked body
    under the limit is buffered and handed on with its Content-Length, which connexion needs
    to see that there is a body at all."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for key, value in scope["headers"]:
            if key == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    raise errors.BadRequest("The Content-Length header is not a number.")
                if length > self.max_bytes:
                    raise self._too_large()
                await self.app(scope, receive, send)
                return
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        body = await self._read_counted(receive)
        scope = dict(scope)
        scope["headers"] = [*scope["headers"], (b"content-length", str(len(body)).encode())]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read_counted(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _too_large(self) -> errors.PayloadTooLarge:
        return errors.PayloadTooLarge(
            f"The request body is larger than {self.max_bytes} bytes (MAX_BODY_BYTES).")


class OwnServerMiddleware:
    """The served spec (``spec_path``) names this server in ``servers``: its own URL, as the
    request reached it, so the Swagger console's server list has it. Connexion rewrites that
    block to the bare base path (``""``), which leaves the list with one empty entry."""

    def __init__(self, app: ASGIApp, spec_path: str):
        self.app = app
        self.spec_path = spec_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.spec_path:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def collect(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if start.get("status") == 200:
                spec = json.loads(body)
                spec["servers"] = [{"url": own_url(scope), "description": "this server"}]
                body = json.dumps(spec).encode()
            headers = MutableHeaders(scope=start)
            headers["content-length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, collect)


def own_url(scope: Scope) -> str:
    """scheme://host[:port]/root_path of a request, from its Host header (uvicorn puts the
    scheme a trusted proxy forwards into the scope)."""
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
    if not host and scope.get("server"):
        host = "%s:%d" % tuple(scope["server"])
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}".rstrip("/")


class AllowHeaderMiddleware:
    """A 405's ``Allow`` lists every method the spec declares for the path. Connexion routes
    each operation on its own, so a path with several methods (PATCH and DELETE on
    /api/v1/admin/tokens/{name}) answered a wrong method with only one of them."""

    METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

    def __init__(self, app: ASGIApp, spec: dict):
        self.app = app
        self.paths = [(re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$"),
                       [m.upper() for m in self.METHODS if m in operations])
                      for path, operations in spec.get("paths", {}).items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def fix_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                declared = next((methods for pattern, methods in self.paths
                                 if pattern.match(scope["path"])), [])
                headers = MutableHeaders(scope=message)
                given = [m.strip() for m in headers.get("allow", "").split(",") if m.strip()]
                headers["allow"] = ", ".join(dict.fromkeys(given + declared))
            await send(message)

        await self.app(scope, receive, fix_allow)
