"""A small real HTTP server for fake LLM APIs, with a programmable queue of behaviours.

Each request takes the next ``Step`` from the queue (or the API's normal answer when the queue
is empty), so a test scripts faults in order: ``fake.push(Step(status=500), Step(status=500))``
then a normal answer. Counters (``calls``, ``peak``) let tests check retries and concurrency.

It is the stdlib ``ThreadingHTTPServer`` in a daemon thread on 127.0.0.1 and a free port:
the real SDKs talk to it over HTTP, so their parsing and error paths run for real.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable

HTML_ERROR_PAGE = (b"<html><head><title>502 Bad Gateway</title></head><body><center>"
                   b"<h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>")


@dataclass
class Step:
    """One scripted answer. ``body=None`` means: the API's normal answer for this request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # dict/list → JSON, str/bytes → as is, None → the normal answer
    content_type: str | None = None
    delay: float = 0.0  # seconds to wait before answering
    hang: bool = False  # never answer (until the server stops)
    reset: bool = False  # send the headers and half the body, then reset the connection;
    # a stream: its opening events and `deltas` text deltas, then the reset
    answer: Any = None  # for a normal answer: this data instead of the fake's own choice
    # Streams (the API's own event formats: see openai_server.py, anthropic_server.py):
    stream_error: str | None = None  # after `deltas` deltas, the API's error event of this type
    deltas: int = 0  # text deltas sent before a stream_error or a reset
    usage: bool = True  # False: no usage at all (llama.cpp's server sends none)
    refusal: str | None = None  # OpenAI: the model refuses (delta.refusal), no content
    stop: str | None = None  # the finish / stop reason (e.g. "length", "max_tokens")


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    json: Any
    answered: Any = None  # what the fake's normal answer said (usage, content), for asserts


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default 5 drops connects when hundreds arrive at once


Answer = Callable[[Request, Step], "tuple[int, dict[str, str], bytes | Iterable[bytes]]"]


class FakeServer:
    """Serve ``answer(request, step)`` on 127.0.0.1:<free port> until ``stop()``."""

    def __init__(self, answer: Answer):
        self._answer = answer
        self.queue: deque[Step] = deque()
        self.requests: list[Request] = []
        self.calls = 0
        self.in_flight = 0
        self.peak = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FakeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def push(self, *steps: Step) -> None:
        self.queue.extend(steps)

    def always(self, step: Step, times: int = 50) -> None:
        """The same step for (practically) every request of one test."""
        self.queue.extend(Step(**vars(step)) for _ in range(times))

    @property
    def last(self) -> Request:
        return self.requests[-1]

    def _next(self, request: Request) -> Step:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.requests.append(request)
            return self.queue.popleft() if self.queue else Step()

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers then body wait ~40 ms for an ACK

            def log_message(self, *_args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                request = Request(self.path, {k.lower(): v for k, v in self.headers.items()},
                                  body)
                step = fake._next(request)
                try:
                    self._serve(request, step)
                finally:
                    fake._done()

            def _serve(self, request: Request, step: Step) -> None:
                if step.delay and fake._stopping.wait(step.delay):
                    return
                if step.hang:
                    fake._stopping.wait()
                    self.close_connection = True
                    return
                if step.body is None:
                    status, headers, payload = fake._answer(request, step)
                else:
                    status, headers, payload = step.status, {}, _encode(step.body)
                    headers["Content-Type"] = (step.content_type or (
                        "application/json" if isinstance(step.body, (dict, list))
                        else "text/html; charset=utf-8"))
                headers.update(step.headers)
                if isinstance(payload, (bytes, bytearray)):
                    self._send_whole(status, headers, bytes(payload), step.reset)
                else:
                    self._send_stream(status, headers, payload, step.reset)

            def _send_whole(self, status: int, headers: dict, payload: bytes,
                            reset: bool) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if not reset:
                    self.wfile.write(payload)
                    return
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self._reset()

            def _send_stream(self, status: int, headers: dict, chunks: Iterable[bytes],
                             reset: bool = False) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for chunk in chunks:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                if reset:  # the events so far, then a TCP RST instead of the last chunk
                    self._reset()
                    return
                self.wfile.write(b"0\r\n\r\n")

            def _reset(self) -> None:
                # SO_LINGER 0: close() sends a TCP RST instead of a clean FIN.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            def finish(self) -> None:
                try:
                    super().finish()
                except OSError:  # the connection was reset on purpose
                    pass

        return Handler


def _encode(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def json_answer(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, _encode(body)


def sse(events: Iterable[tuple[str | None, Any]], delay: float = 0.0) -> Iterable[bytes]:
    """Server-sent events: (event name or None, data) pairs; data "[DONE]" is sent as is."""
    for name, data in events:
        if delay:
            time.sleep(delay)
        text = data if isinstance(data, str) else json.dumps(data)
        head = f"event: {name}\n" if name else ""
        yield f"{head}data: {text}\n\n".encode("utf-8")
