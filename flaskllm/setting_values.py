"""How a setting's text becomes its value: the parsers that rows of ``settings.FIELDS`` name,
and the error every one of them raises. A leaf: it imports nothing of FlaskLLM, so the modules
that check values of their own (the rate limiter's limits, the client address's proxies and
header) use the same rules as the settings.

A parser takes the variable's raw text and returns the value, or raises ``ValueError`` (the
settings add the variable's name to the message) or ``SettingsError`` (already worded).
"""

from __future__ import annotations

import ipaddress
from typing import Callable, Iterable

from limits import RateLimitItem, parse_many


class SettingsError(ValueError):
    """A setting has a bad value; the message names the variable."""


def boolean(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError("expected true or false")


def comma_list(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("expected a whole number of at least 1")
    return value


def non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("expected a whole number of at least 0")
    return value


def positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0:
        raise ValueError("expected a number above 0")
    return value


def choice(*options: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return value

    return parse


def stripped(raw: str) -> str:
    return raw.strip()


def parse_limits(value: str, setting: str) -> list[RateLimitItem]:
    """``60`` (a minute, the seed's meaning) or ``limits`` notation such as
    ``100/minute;2000/day``, as RateLimitItems, shortest window first (RATE_LIMIT,
    AUTH_FAIL_LIMIT; flaskllm/ratelimit.py counts them)."""
    text = value.strip()
    if text.isdigit():
        text += "/minute"
    try:
        items = parse_many(text)
    except ValueError:
        items = []
    if not items:
        raise SettingsError(f"{setting}: expected requests a minute (60) or limits such as "
                            f"100/minute;2000/day (got {value!r})")
    if any(item.amount < 1 for item in items):
        raise SettingsError(f"{setting}: every limit must allow at least 1 request "
                            f"(set RATE_LIMIT_ENABLED=false to turn limits off)")
    return sorted(items, key=lambda item: item.get_expiry())


Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNIX = "unix"  # the TRUSTED_PROXIES entry for connections over a Unix socket


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """TRUSTED_PROXIES as networks (a bare address is a network of one); ``unix`` is left out
    here (see ClientAddressMiddleware)."""
    found = []
    for entry in entries:
        if entry.lower() == UNIX:
            continue
        try:
            found.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise SettingsError(f"TRUSTED_PROXIES: {entry!r} is not an address or a CIDR "
                                f"such as 10.0.0.0/8") from None
    return tuple(found)


def header_key(name: str) -> bytes:
    """CLIENT_IP_HEADER as the ASGI scope spells header names."""
    key = name.strip().lower()
    if not key or any(not (c.isalnum() or c in "-_") for c in key):
        raise SettingsError(f"CLIENT_IP_HEADER: expected a header name such as X-Real-IP "
                            f"(got {name!r})")
    return key.encode("latin-1")


def aliases(raw: str) -> tuple[tuple[str, str], ...]:
    """``fast=openai/gpt-4.1-mini,smart=anthropic/claude-sonnet-4-5`` → (alias, target) pairs."""
    pairs = []
    for item in comma_list(raw):
        alias, sep, target = (part.strip() for part in item.partition("="))
        if not (sep and alias and "/" in target):
            raise ValueError(f"expected alias=provider/model, got {item!r}")
        pairs.append((alias, target))
    return tuple(pairs)
