"""ASGI middleware around connexion: the request context (app state, X-Request-ID), and the
request's bytes (one token header, Content-Type, size, read deadline, strict JSON), checked
before connexion parses anything."""

from __future__ import annotations

import asyncio
import re
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flaskllm import context, errors, ids, logs, state, strictjson
from flaskllm.strictjson import PARSED
from flaskllm.responses import problem_response

SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
CLIENT_DISCONNECTED = "CLIENT_DISCONNECTED"


class RequestContextMiddleware:
    """Makes the app's state reachable from handlers, starts the request's ``RequestContext``
    (its response headers are added to the response), and gives every response an X-Request-ID
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
        rid = incoming if SANE_REQUEST_ID.fullmatch(incoming) else ids.new_id()
        state.current.set(self.app_state)
        ctx = context.begin(rid)
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
                for name, value in ctx.response_headers.items():
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
                    ctx.refused(errors.as_problem(exc)[0]["code"])
                    await problem_response(exc, scope.get("path", ""))(
                        scope, receive, send_with_id)
        finally:
            logs.request_finished(self.app_state, scope, ctx, status, time.perf_counter() - began)


class RequestBodyMiddleware:
    """Everything about the request's bytes, checked once, before connexion sees them:

    - one X-API-Token: two headers (or one that a WSGI server joined with a comma) are
      400 AMBIGUOUS_CREDENTIALS, so every server reads the same token or none;
    - a body needs a Content-Type (415 without one);
    - the body arrives within REQUEST_READ_TIMEOUT (408, and the connection is closed) and
      within MAX_BODY_BYTES (413: by Content-Length at once, else counted as it streams in);
    - a JSON body is parsed here, strictly (flaskllm/strictjson.py: 400 INVALID_ENCODING or
      INVALID_JSON); connexion's validator takes the parsed value (speedups.py) instead of
      parsing the bytes again;
    - a client that goes away mid-body ends the request quietly: no response, no handler,
      logged as 499 CLIENT_DISCONNECTED (an INFO access line, not an error).

    The body is handed on in one message with its Content-Length (connexion needs that to see
    that a chunked upload has a body at all). The head's own deadline is the server's
    (flaskllm/deadlines.py under ``flaskllm serve``)."""

    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout: float):
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = content_type = None
        tokens = 0
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = value
            elif key == b"content-type":
                content_type = value
            elif key == b"x-api-token":
                tokens += 2 if b"," in value else 1
        if tokens > 1:
            raise errors.AmbiguousCredentials(
                "The request has more than one X-API-Token (two headers, or one with a "
                "comma); send exactly one.")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise errors.BadRequest("The Content-Length header is not a number.")
            if declared > self.max_bytes:
                raise self._too_large()
            if declared == 0:
                await self.app(scope, receive, send)
                return
        elif scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        if not (content_type or b"").strip():
            raise errors.UnsupportedMediaType(
                "The request has a body but no Content-Type; send Content-Type: "
                "application/json.")
        try:
            async with asyncio.timeout(self.read_timeout):
                body = await self._read(receive)
        except TimeoutError:
            raise errors.RequestTimeout(
                f"The request body did not arrive within {self.read_timeout:g} seconds "
                f"(REQUEST_READ_TIMEOUT).", headers={"Connection": "close"}) from None
        if body is None:
            context.current().refused(CLIENT_DISCONNECTED)
            return  # RequestContextMiddleware logs the 499: nothing was answered
        if _is_json(content_type):
            scope.setdefault("extensions", {})[PARSED] = (body, strictjson.loads(body))
        scope = dict(scope)
        scope["headers"] = [*(h for h in scope["headers"] if h[0] != b"content-length"),
                            (b"content-length", str(len(body)).encode())]
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None when the client disconnected first."""
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            received += len(chunk)
            if received > self.max_bytes:
                raise self._too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _too_large(self) -> errors.PayloadTooLarge:
        return errors.PayloadTooLarge(
            f"The request body is larger than {self.max_bytes} bytes (MAX_BODY_BYTES).",
            headers={"Connection": "close"})


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or media.endswith(b"+json")





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
