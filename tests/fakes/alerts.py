"""Stand-ins for alert receivers: an Alerter double that remembers calls, a webhook receiver
(a real HTTP server on 127.0.0.1) and an SMTP server (aiosmtpd) that keep what they get."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeAlerts:
    """Records fire/resolve calls instead of sending anything."""

    def __init__(self):
        self.fired: list[tuple[str, str, str, dict]] = []
        self.resolved: list[tuple[str, str, str, dict]] = []

    def fire(self, kind, key, message, **details):
        self.fired.append((kind, key, message, details))
        return True

    def resolve(self, kind, key, message, **details):
        self.resolved.append((kind, key, message, details))
        return True

    def kinds(self, which="fired"):
        return [call[0] for call in getattr(self, which)]


class Receiver:
    """A webhook receiver that answers ``status`` and keeps every JSON body it was sent."""

    def __init__(self, status: int = 200):
        self.status = status
        self.received: list[dict] = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append(json.loads(body))
                receiver.paths.append(self.path)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MailBox:
    """aiosmtpd on 127.0.0.1: keeps each message; with ``password``, requires that login."""

    def __init__(self, user: str | None = None, password: str | None = None):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list = []
        self.logins: list[str] = []
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                from email import message_from_bytes

                box.messages.append(message_from_bytes(envelope.content))
                return "250 OK"

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login.decode() == user and auth_data.password.decode() == password
            if ok:
                box.logins.append(user)
            return AuthResult(success=ok)

        self.port = free_port()
        options = {}
        if password is not None:
            options = {"authenticator": authenticator, "auth_require_tls": False,
                       "auth_required": True}
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     **options)

    def __enter__(self) -> "MailBox":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
