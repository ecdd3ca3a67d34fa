"""Units of flaskllm.llm.typed (schemas from the spec, checks) and flaskllm.llm.policy
(Retry-After, back-off, deadlines, what is retried)."""

from __future__ import annotations

import email.utils
import time

import pytest

from flaskllm.llm import policy, typed

TEXT = "Jane met Jane Smith in Paris; Jane Smith left."


@pytest.fixture
def spec(app):
    return app.state.spec


@pytest.mark.parametrize("raw, reason", [
    ("not json", "not JSON"),
    ('{"keywords": []}', '"data"'),
    ("[1, 2]", '"data"'),
])
def test_unwrap_refuses_what_is_not_the_envelope(raw, reason):
    with pytest.raises(typed.BadOutput, match=reason) as caught:
        typed.unwrap(raw, {})
    assert caught.value.raw == raw


def test_check_lists_what_is_wrong(spec):
    schema = typed.data_schema(spec, "sentiment")
    with pytest.raises(typed.BadOutput) as caught:
        typed.check("sentiment", {"label": "great", "score": 3}, schema, TEXT)
    assert "'great' is not one of" in caught.value.reason and "data['score']" in \
        caught.value.reason


def test_entity_offsets_use_the_nearest_unused_occurrence(spec):
    schema = typed.data_schema(spec, "entities")
    found = typed.check("entities", [
        {"text": "Jane Smith", "type": "PERSON", "start": 40, "end": 50},  # near the second
        {"text": "Jane Smith", "type": "PERSON", "start": 40, "end": 50},  # the other one
        {"text": "Paris", "type": "LOCATION", "start": 23, "end": 28},  # already right
    ], schema, TEXT)
    assert [(e["start"], e["end"]) for e in found] == [(9, 19), (23, 28), (30, 40)]
    assert all(TEXT[e["start"]:e["end"]] == e["text"] for e in found)


def test_strict_mode_makes_optional_properties_nullable_and_unwrap_drops_the_nulls():
    schema = {"type": "object", "additionalProperties": False, "required": ["a"],
              "properties": {"a": {"type": "string", "minLength": 1, "example": "x"},
                             "b": {"type": "integer"}}}
    strict = typed.envelope(schema, strict=True)["properties"]["data"]
    assert strict["required"] == ["a", "b"] and strict["properties"]["b"]["type"] == \
        ["integer", "null"]
    assert strict["properties"]["a"] == {"type": "string"}
    assert typed.unwrap('{"data": {"a": "x", "b": null}}', schema) == {"a": "x"}


def test_openapi_nullable_becomes_a_json_schema_type_union():
    spec = {"components": {"schemas": {
        "TranslationData": {"type": "object", "properties": {
            "note": {"type": "string", "nullable": True, "example": "hi"}}}}}}
    schema = typed.data_schema(spec, "translation")
    assert schema["properties"]["note"] == {"type": ["string", "null"]}


def test_summary_of_typed_data():
    assert typed.summary_of("keywords", [{"text": "a", "score": 1}, {"text": "b", "score": 0}]) \
        == "a, b"
    assert typed.summary_of("sentiment", {"label": "negative", "score": -0.5}) == \
        "negative (-0.50)"


def test_retry_after_in_every_form():
    assert policy.retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert policy.retry_after({"retry-after": "2"}) == 2.0
    soon = email.utils.formatdate(time.time() + 5, usegmt=True)
    assert 3.5 < policy.retry_after({"retry-after": soon}) <= 5
    assert policy.retry_after({"retry-after": "whenever"}) is None
    assert policy.retry_after(None) is None


def test_backoff_grows_with_jitter_and_a_cap():
    for retry in range(1, 8):
        delay = policy.backoff(retry)
        ceiling = min(policy.BACKOFF_MAX, policy.BACKOFF_INITIAL * 2 ** (retry - 1))
        assert ceiling * (1 - policy.JITTER) <= delay <= ceiling


def test_what_is_retried_and_what_falls_back():
    retried = {s for s in (400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 529)
               if policy.UpstreamStatus(s).retryable}
    assert retried == {408, 409, 429, 500, 502, 503, 529}
    assert not policy.UpstreamStatus(429).fallback and policy.UpstreamStatus(503).fallback
    assert policy.UpstreamDisconnect().retryable and not policy.UpstreamRefused().retryable
    assert not policy.UpstreamMalformed().retryable and policy.UpstreamMalformed().fallback


def test_refused_is_found_by_type_in_the_chain():
    try:
        try:
            raise ConnectionRefusedError(111, "whatever the message says")
        except OSError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert policy.refused(outer)
    assert not policy.refused(RuntimeError(ConnectionRefusedError.__name__))


def test_a_deadline_shares_what_remains():
    deadline = policy.Deadline(2.0)
    half = deadline.share(2)
    assert 0.9 < half.remaining() <= 1.0 and half.at < deadline.at
    assert deadline.share(1) is deadline


def test_processing_types_are_the_specs_enum_each_declared_once(monkeypatch):
    from flaskllm.app import load_spec
    from flaskllm.llm import offline, processing
    from flaskllm.settings import Settings

    spec = load_spec(Settings.from_env(environ={}, env_file=None, environment="test"))
    assert processing.names() == tuple(spec["components"]["schemas"]["ProcessingType"]["enum"])
    for kind in processing.catalog().values():  # every schema a record names is the spec's
        assert kind.schema is None or kind.schema in spec["components"]["schemas"]
    # One summary for typed data, whoever wrote it: the offline analyzer and a model alike.
    data = {"label": "positive", "score": 0.72}
    assert typed.summary_of("sentiment", data) == "positive (+0.72)"
    text = "I love this keyboard. The keys feel wonderful."
    result = offline.analyze("sentiment", text)
    assert result.text == typed.summary_of("sentiment", result.data)
    # A record for a type the spec does not list is a start-up error, not a silent extra.
    processing.catalog.cache_clear()
    monkeypatch.setattr(processing, "spec_names", lambda: ("summary", "custom"))
    with pytest.raises(RuntimeError, match="keywords"):
        processing.catalog()
    processing.catalog.cache_clear()
