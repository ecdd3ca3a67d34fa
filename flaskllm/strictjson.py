"""The one parse of a JSON request body, strict enough that no byte sequence reaches a
handler (or a usage record) as something it cannot take.

    value = strictjson.loads(raw)    400 INVALID_ENCODING / INVALID_JSON, never anything else

Refused, each with its own message: bytes that are not UTF-8 (RFC 8259 §8.1), a lone UTF-16
surrogate written as an escape (``"\\ud800"``: it cannot be encoded again, so it used to pass
here and fail later with a 500), nesting deeper than MAX_DEPTH (counted before parsing, so a
10,000-deep array never reaches the recursive parser), a number longer than MAX_DIGITS
characters (int() of a long digit string is quadratic), NaN and Infinity (not JSON), a key
twice in one object (which one would count?), and anything else the parser rejects.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flaskllm import errors

MAX_DEPTH = 64
MAX_DIGITS = 100
# Any \uD800-\uDFFF escape: only then is the parsed value walked for lone surrogates.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_NESTING = re.compile(rb'[\[\]{}"\\]')


def loads(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.InvalidEncoding(
            f"The request body is not valid UTF-8 (byte {exc.start}).") from None
    if text.startswith("\ufeff"):
        raise errors.InvalidJSON("The request body starts with a byte order mark; JSON "
                                 "must not (RFC 8259).")
    _check_depth(raw)
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise errors.InvalidJSON(f"The request body is not valid JSON: {exc.msg} (line "
                                 f"{exc.lineno}, column {exc.colno}).") from None
    if _SURROGATE_ESCAPE.search(raw):
        _check_surrogates(value)
    return value


def _check_depth(raw: bytes) -> None:
    """The deepest nesting of arrays and objects, outside strings, without recursion."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:  # the usual body: nothing to count
        return
    depth = 0
    in_string = False
    escaped_at = -1  # the position of the character a backslash escapes
    for match in _NESTING.finditer(raw):
        at = match.start()
        if at == escaped_at:
            continue
        char = match.group()
        if in_string:
            if char == b"\\":
                escaped_at = at + 1
            elif char == b'"':
                in_string = False
        elif char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise errors.InvalidJSON(f"The request body nests arrays and objects deeper "
                                         f"than {MAX_DEPTH} levels.")
        elif char in (b"]", b"}"):
            depth -= 1


def _check_surrogates(value: Any) -> None:
    # Recursion is bounded: the depth was checked before parsing.
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise errors.InvalidEncoding(
                "The request body has a lone UTF-16 surrogate escape (such as \\ud800) in a "
                "string; pair it or remove it.") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_surrogates(key)
            _check_surrogates(item)
    elif isinstance(value, list):
        for item in value:
            _check_surrogates(item)


def _number(text: str) -> str:
    if len(text) > MAX_DIGITS:
        raise errors.InvalidJSON(f"The request body has a number of {len(text)} characters; "
                                 f"at most {MAX_DIGITS} are accepted.")
    return text


def _int(text: str) -> int:
    return int(_number(text))


def _float(text: str) -> float:
    return float(_number(text))


def _constant(name: str) -> Any:
    raise errors.InvalidJSON(f"The request body has {name}, which is not JSON.")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise errors.InvalidJSON(f"The request body has the key {twice[:80]!r} twice in one "
                                 f"object.")
    return value


_DECODER = json.JSONDecoder(object_pairs_hook=_pairs, parse_int=_int, parse_float=_float,
                            parse_constant=_constant)


PARSED = "flaskllm.json"  # scope["extensions"] key: (the body's bytes, its parsed value)


def parsed_body(scope: Scope, raw: bytes) -> tuple[bool, object]:
    """(True, value) when RequestBodyMiddleware (flaskllm/middleware.py) parsed exactly these bytes."""
    kept = scope.get("extensions", {}).get(PARSED)
    if kept is not None and kept[0] == raw:
        return True, kept[1]
    return False, None
