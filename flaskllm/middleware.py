"""ASGI middleware around connexion: the request context (app state, X-Request-ID) and the
request body size limit, enforced before the body is parsed."""

from __future__ import annotations

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
                    await problem_response(exc, scope.get("path", ""))(
                        scope, receive, send_with_id)
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
