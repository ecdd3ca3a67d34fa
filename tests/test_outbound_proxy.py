"""On a PythonAnywhere free account every outbound request must go through the proxy named in
`https_proxy`: the providers' HTTP clients honour it (docs/deploy-pythonanywhere.md)."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from flaskllm.llm import Registry
from flaskllm.llm.base import Prompt, Task


@pytest.fixture
def proxy(monkeypatch):
    """A 'proxy' that notes each request line and refuses it with 502."""
    seen: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                seen.append(conn.recv(4096).split(b"\r\n")[0])
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n"
                             b"Connection: close\r\n\r\n")

    threading.Thread(target=serve, daemon=True).start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    yield seen
    server.close()


@pytest.mark.parametrize("provider, host", [("openai", b"api.openai.example:443"),
                                            ("anthropic", b"api.anthropic.example:443")])
def test_providers_go_through_the_https_proxy(settings, proxy, provider, host):
    registry = Registry(settings.replace(
        llm_provider=provider, openai_api_key="sk-test", anthropic_api_key="sk-ant-test",
        openai_base_url="https://api.openai.example/v1",
        anthropic_base_url="https://api.anthropic.example"))
    task = Task(type="summary", text="hi", prompt=Prompt(system="s", user="u", version="1"))

    async def call():
        try:
            await registry.get(provider).complete(task)
        except Exception:
            pass  # the proxy refused: what matters is that it was asked
        finally:
            await registry.aclose()

    asyncio.run(call())
    assert proxy and all(line == b"CONNECT " + host + b" HTTP/1.1" for line in proxy), proxy
