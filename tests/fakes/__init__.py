"""Fake LLM servers for tests, and fixtures that start them.

    from fakes import openai_fake, anthropic_fake, provider_settings  # noqa: F401 (fixtures)

``openai_fake`` / ``anthropic_fake`` are real HTTP servers on 127.0.0.1 (a free port each);
``provider_settings(settings, "openai", fake)`` points a provider at one. See ``server.py``
for the behaviour queue (``fake.push(Step(status=500), ...)``) and the counters.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from fakes import anthropic_server, openai_server
from fakes.server import HTML_ERROR_PAGE, FakeServer, Step  # noqa: F401 (re-exported)
from flaskllm.servers import Server
from flaskllm.settings import Settings

OPENAI_KEY = "sk-test-0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-test-0123456789abcdef"
SERVER_KEY = "local-test-key-0123456789"
KINDS = ("openai", "anthropic", "server")  # every transport: a server is OpenAI in JSON mode


@pytest.fixture
def openai_fake():
    server = openai_server.start()
    yield server
    server.stop()


@pytest.fixture
def anthropic_fake():
    server = anthropic_server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_for(openai_fake, anthropic_fake):
    """The fake that speaks a kind's API."""
    return lambda kind: anthropic_fake if kind == "anthropic" else openai_fake


def provider_config(kind: str, url: str, name: str | None = None) -> dict[str, Any]:
    """Settings overrides that configure provider ``kind`` against the server at ``url``."""
    if kind == "openai":
        return {"openai_api_key": OPENAI_KEY, "openai_base_url": url + "/v1",
                "openai_model": "gpt-test"}
    if kind == "anthropic":
        return {"anthropic_api_key": ANTHROPIC_KEY, "anthropic_base_url": url,
                "anthropic_model": "claude-test"}
    name = name or "local"
    return {"llm_servers": (Server(name, url + "/v1", "llama-test", (), "LOCAL_API_KEY"),),
            "server_keys": {"LOCAL_API_KEY": SERVER_KEY}}


def provider_name(kind: str) -> str:
    return "local" if kind == "server" else kind


def provider_settings(settings: Settings, kind: str, fake: FakeServer,
                      **overrides: Any) -> Settings:
    """``settings`` with ``kind`` as the default provider against ``fake``: no cache and no
    rate limit, so every request reaches the fake."""
    return settings.replace(llm_provider=provider_name(kind), cache_ttl=0,
                            rate_limit_enabled=False,
                            **{**provider_config(kind, fake.url), **overrides})


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
