"""LLM_SERVERS: OpenAI-compatible servers (Ollama, vLLM, LM Studio, llama.cpp, Groq, …) as
configuration rows, not code.

One row per server; rows are separated by ``;`` or newlines, fields by ``,``::

    LLM_SERVERS="name=ollama,base_url=http://localhost:11434/v1,model=llama3.2;
                 name=groq,base_url=https://api.groq.com/openai/v1,model=llama-3.1-8b-instant,key_setting=GROQ_API_KEY"

    name         the provider name requests and LLM_PROVIDER use   (required)
    base_url     the server's OpenAI-compatible API root            (required)
    model        its default model                                  (required)
    models       other models a request may choose, `|`-separated   (optional)
    key_setting  the variable that holds its API key                (optional; none: no key)

The key itself is never in the row: ``Settings.from_env`` reads the variable that
``key_setting`` names, from the environment or `.env`, like any other setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
SETTING = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
RESERVED = frozenset({"offline", "openai", "anthropic"})
FIELDS = ("name", "base_url", "model", "models", "key_setting")


@dataclass(frozen=True)
class Server:
    name: str
    base_url: str
    model: str
    models: tuple[str, ...] = ()
    key_setting: str | None = None


def parse(raw: str) -> tuple[Server, ...]:
    """The rows of LLM_SERVERS; raises ValueError naming the row and field that is wrong."""
    servers: list[Server] = []
    for number, row in enumerate(re.split(r"[;\n]", raw), start=1):
        if not row.strip():
            continue
        values: dict[str, str] = {}
        for part in row.split(","):
            key, sep, value = part.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or key not in FIELDS:
                raise ValueError(f"row {number}: expected name=…,base_url=…,model=… "
                                 f"(fields: {', '.join(FIELDS)}), got {part.strip()!r}")
            values[key] = value
        missing = [f for f in ("name", "base_url", "model") if not values.get(f)]
        if missing:
            raise ValueError(f"row {number}: missing {', '.join(missing)}")
        name = values["name"]
        if not NAME.fullmatch(name) or name in RESERVED:
            raise ValueError(f"row {number}: name {name!r} must be lowercase letters, digits, "
                             f"- or _ and not one of {', '.join(sorted(RESERVED))}")
        if any(s.name == name for s in servers):
            raise ValueError(f"row {number}: the name {name!r} is used twice")
        if not re.match(r"https?://[^\s/]", values["base_url"]):
            raise ValueError(f"row {number}: base_url must start with http:// or https://")
        key_setting = values.get("key_setting") or None
        if key_setting and not SETTING.fullmatch(key_setting):
            raise ValueError(f"row {number}: key_setting must be a variable name such as "
                             f"GROQ_API_KEY")
        models = tuple(m.strip() for m in values.get("models", "").split("|") if m.strip())
        servers.append(Server(name, values["base_url"].rstrip("/"), values["model"], models,
                              key_setting))
    return tuple(servers)
