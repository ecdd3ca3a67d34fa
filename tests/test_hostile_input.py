"""Every byte sequence gets a 4xx problem, never a 500, and none of them is metered
(issue 14, items 3 and 6): flaskllm/strictjson.py, middleware.RequestBodyMiddleware, and the
visible-prompt check of pipeline.check_length."""

from __future__ import annotations

import logging

import pytest

from flaskllm import strictjson
from test_core import assert_problem

WEBHOOK = "/api/v1/webhook"
JSON = {"Content-Type": "application/json"}

# (name, body bytes, headers beyond the token, status, code)
BAD = [
    ("empty content type", b'{"prompt": "hi"}', {"Content-Type": ""}, 415,
     "UNSUPPORTED_MEDIA_TYPE"),
    ("no content type", b'{"prompt": "hi"}', {}, 415, "UNSUPPORTED_MEDIA_TYPE"),
    ("lone surrogate", b'{"prompt": "x\\ud800y"}', JSON, 400, "INVALID_ENCODING"),
    ("lone low surrogate", b'{"prompt": "x\\udc00y", "type": "keywords"}', JSON, 400,
     "INVALID_ENCODING"),
    ("surrogate in a key", b'{"prompt": "x", "\\ud800": 1}', JSON, 400, "INVALID_ENCODING"),
    ("not UTF-8", b'{"prompt": "caf\xe9"}', JSON, 400, "INVALID_ENCODING"),
    ("10,000-deep array", b'{"prompt": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", JSON, 400,
     "INVALID_JSON"),
    ("5,000-digit number", b'{"prompt": "x", "options": {"n": ' + b"9" * 5000 + b"}}", JSON,
     400, "INVALID_JSON"),
    ("long float", b'{"prompt": "x", "n": 1.' + b"5" * 200 + b"}", JSON, 400, "INVALID_JSON"),
    ("NaN", b'{"prompt": "x", "n": NaN}', JSON, 400, "INVALID_JSON"),
    ("duplicate keys", b'{"prompt": "first", "prompt": "second"}', JSON, 400, "INVALID_JSON"),
    ("byte order mark", b'\xef\xbb\xbf{"prompt": "x"}', JSON, 400, "INVALID_JSON"),
    # No visible character: the spec's pattern refuses these (the server checks the same
    # pattern again after NFKC normalisation: test_visible_is_the_spec_pattern_after_nfkc).
    ("zero-width prompt", '{"prompt": "\u200b\u200c\u200d\u2060"}'.encode(), JSON, 400,
     "BAD_REQUEST"),
    ("spaces and controls", b'{"prompt": " \\t\\n\\u0000\\u0087\\u3000\\ufeff"}', JSON,
     400, "BAD_REQUEST"),
    ("hangul filler", '{"prompt": "\u3164\u3164"}'.encode(), JSON, 400, "BAD_REQUEST"),
]


@pytest.mark.parametrize("name, body, headers, status, code", BAD, ids=[b[0] for b in BAD])
def test_each_hostile_body_is_a_4xx_problem_and_not_metered(app, client, auth, caplog, name,
                                                            body, headers, status, code):
    with caplog.at_level(logging.INFO):
        response = client.post(WEBHOOK, content=body, headers={**auth, **headers})
    assert_problem(response, status, code)
    assert app.state.usage.count(token="tester") == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_the_same_checks_hold_for_the_batch_and_the_stream(app, client, auth):
    for path in (WEBHOOK + "/batch", WEBHOOK + "/stream"):
        response = client.post(path, content=b'{"a": 1, "a": 2}', headers={**auth, **JSON})
        assert_problem(response, 400, "INVALID_JSON")
    response = client.post(WEBHOOK + "/stream", json={"prompt": "\u200b"}, headers=auth)
    assert_problem(response, 400, "BAD_REQUEST")
    assert app.state.usage.count(token="tester") == 0


def test_two_token_headers_are_ambiguous(app, client, token):
    # httpx sends a list of pairs as repeated headers, as curl -H twice does.
    for second in (token, "wrong"):
        response = client.post(WEBHOOK, json={"prompt": "hello"},
                               headers=[("X-API-Token", token), ("X-API-Token", second)])
        assert_problem(response, 400, "AMBIGUOUS_CREDENTIALS")
    # What a WSGI server makes of two headers: one value, joined with a comma.
    response = client.post(WEBHOOK, json={"prompt": "hello"},
                           headers={"X-API-Token": f"{token},wrong"})
    assert_problem(response, 400, "AMBIGUOUS_CREDENTIALS")
    assert app.state.usage.count(token="tester") == 0


def test_good_bodies_still_pass(app, client, auth):
    deep = {"prompt": "The quarterly review is on Friday.", "type": "keywords"}
    nested = b'{"prompt": "a [bracket] {brace} \\"quote\\" \\\\", "type": "summary"}'
    assert client.post(WEBHOOK, json=deep, headers=auth).status_code == 200
    assert client.post(WEBHOOK, content=nested, headers={**auth, **JSON}).status_code == 200
    paired = '{"prompt": "emoji \\ud83d\\ude00 and caf\u00e9"}'.encode()
    response = client.post(WEBHOOK, content=paired,
                           headers={**auth, "Content-Type": "application/json; charset=utf-8"})
    assert response.status_code == 200, response.text


def test_visible_is_the_spec_pattern_after_nfkc(app):
    from flaskllm import errors
    from flaskllm.pipeline import Job, check_length, visible

    for invisible in ("\u200b\u2060", " \t\u3000", "\u0087\u00ad", "\uffa0\u3164",
                      "\ufe0f\u180e"):
        assert not visible(app.state, invisible), repr(invisible)
    for shown in ("x", "\u00e9", "\u65e5\u672c", "\U0001f600", "\u200bx"):
        assert visible(app.state, shown), repr(shown)
    # What the pipeline checks for every item (batch, stream, single), before metering.
    with pytest.raises(errors.EmptyPrompt):
        check_length(app.state, Job(type="summary", text="\u200b", request_id="r"))


def test_strict_loads_limits():
    assert strictjson.loads(b"[" * 64 + b"]" * 64) is not None
    with pytest.raises(Exception, match="deeper than 64"):
        strictjson.loads(b"[" * 65 + b"]" * 65)
    # Brackets inside strings are text, not nesting; an escaped quote does not end a string.
    text = b'["' + b"[" * 100 + b'\\"' + b"{" * 100 + b'"]'
    assert strictjson.loads(text) == ["[" * 100 + '"' + "{" * 100]
    assert strictjson.loads(b"1" * 100) == int("1" * 100)
    with pytest.raises(Exception, match="101 characters"):
        strictjson.loads(b"1" * 101)
