"""The OpenAI-compatible API driven by the official ``openai`` SDK: base_url = a live FlaskLLM
(uvicorn in a thread), api_key = a FlaskLLM token, against each provider adapter's fake
upstream (OpenAI, Anthropic, an LLM_SERVERS row) and the offline provider."""

from __future__ import annotations

import asyncio
import json
import re
import time

import openai
import pytest
from openai.types import Model
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from browser import live_server
from fakes import KINDS, fake_for, openai_fake, anthropic_fake  # noqa: F401 (fixtures)
from fakes import provider_config, provider_name
from flaskllm.app import create_app

CONVERSATION = [
    {"role": "system", "content": "You answer briefly."},
    {"role": "user", "content": "Hello there"},
    {"role": "assistant", "content": "Hi! How can I help?"},
    {"role": "user", "content": [{"type": "text", "text": "Sum up "},
                                 {"type": "text", "text": "column B."}]},
    {"role": "user", "content": "Please."},
]
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["label", "score"],
          "properties": {"label": {"type": "string"}, "score": {"type": "number"}}}


@pytest.fixture
def serve(settings):
    """``serve(**overrides)`` → (base_url + "/v1", app, token) of a live FlaskLLM."""
    stack = []

    def start(**overrides):
        app = create_app(settings.replace(rate_limit_enabled=False, **overrides))
        token = app.state.tokens.create(f"sdk-{len(stack)}")
        running = live_server(app)
        url = running.__enter__()
        stack.append(running)
        return url + "/v1", app, token

    yield start
    for running in reversed(stack):
        running.__exit__(None, None, None)


@pytest.fixture
def upstream(serve, fake_for):
    """``upstream(kind, **overrides)`` → (client, fake, app, token) with ``kind`` as the
    default provider against its fake."""

    def start(kind, **overrides):
        fake = fake_for(kind)
        url, app, token = serve(llm_provider=provider_name(kind),
                                **{**provider_config(kind, fake.url), **overrides})
        return openai.OpenAI(base_url=url, api_key=token, max_retries=0), fake, app, token

    return start


def wait_for_records(app, expected: int, **where) -> None:
    deadline = time.monotonic() + 10
    while app.state.usage.count(**where) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.state.usage.count(**where) == expected


def default_model(kind: str) -> str:
    return {"openai": "openai/gpt-test", "anthropic": "anthropic/claude-test",
            "server": "local/llama-test"}[kind]


@pytest.mark.parametrize("kind", KINDS)
def test_chat_completion_through_each_adapter(kind, upstream):
    client, fake, app, token = upstream(kind)
    sampling = {} if kind == "anthropic" else {"temperature": 0.2}  # not in its API
    completion = client.chat.completions.create(model=default_model(kind),
                                                messages=CONVERSATION, max_tokens=50,
                                                stop=["END"], **sampling)
    assert isinstance(completion, ChatCompletion)
    answered = fake.last.answered
    assert completion.choices[0].message.content == answered["content"]
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model == f"{provider_name(kind)}/{answered['model']}"
    sent = fake.last.json
    if kind == "anthropic":
        # One system prompt; alternating turns, the two user messages in a row joined.
        assert sent["system"] == "You answer briefly."
        assert [m["role"] for m in sent["messages"]] == ["user", "assistant", "user"]
        assert sent["messages"][2]["content"] == "Sum up column B.\n\nPlease."
        assert sent["stop_sequences"] == ["END"]
        with pytest.raises(openai.UnprocessableEntityError) as refused:
            client.chat.completions.create(model=default_model(kind), messages=CONVERSATION,
                                           temperature=0.2)
        assert (refused.value.code, refused.value.param) == \
            ("PARAMETER_NOT_SUPPORTED", "temperature")
        usage = answered["usage"]
        assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == \
            (usage["input_tokens"], usage["output_tokens"])
    else:
        assert [m["role"] for m in sent["messages"]] == \
            ["system", "user", "assistant", "user", "user"]
        assert sent["messages"][3]["content"] == "Sum up column B."
        assert sent["stop"] == ["END"]
        usage = answered["usage"]
        assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == \
            (usage["prompt_tokens"], usage["completion_tokens"])
    assert sent.get("temperature") == sampling.get("temperature")
    assert sent.get("max_tokens", sent.get("max_completion_tokens")) == 50
    wait_for_records(app, 1, operation="chat.completions", type="chat", status=200,
                     provider=provider_name(kind))


@pytest.mark.parametrize("kind", KINDS)
def test_streaming_with_usage_through_each_adapter(kind, upstream):
    client, fake, app, _token = upstream(kind)
    chunks = list(client.chat.completions.create(
        model=default_model(kind), messages=CONVERSATION[:2], stream=True,
        stream_options={"include_usage": True}))
    assert all(isinstance(chunk, ChatCompletionChunk) for chunk in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == fake.last.answered["content"]
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage.total_tokens == \
        last.usage.prompt_tokens + last.usage.completion_tokens > 0
    wait_for_records(app, 1, operation="chat.completions", status=200)


@pytest.mark.parametrize("kind", KINDS)
def test_json_schema_response_format(kind, upstream):
    client, fake, _app, _token = upstream(kind)
    completion = client.chat.completions.create(
        model=default_model(kind), messages=[{"role": "user", "content": "I love it"}],
        response_format={"type": "json_schema",
                         "json_schema": {"name": "mood", "schema": SCHEMA, "strict": True}})
    answer = json.loads(completion.choices[0].message.content)
    assert answer["data"]["label"] == "positive"  # the fakes wrap structured data in "data"
    sent = fake.last.json
    if kind == "anthropic":  # a forced tool whose input schema is the request's
        assert sent["tools"][0]["input_schema"] == SCHEMA
        assert sent["tool_choice"] == {"type": "tool", "name": "mood"}
    else:
        assert sent["response_format"]["json_schema"]["schema"] == SCHEMA


def test_async_client_and_models_list(upstream):
    client, fake, _app, token = upstream("openai", openai_models=("gpt-other",),
                                         model_aliases=(("fast", "openai/gpt-other"),
                                                        ("mood", "offline/sentiment")))

    async def run():
        aclient = openai.AsyncOpenAI(base_url=str(client.base_url), api_key=token,
                                     max_retries=0)
        listed = [m async for m in aclient.models.list()]
        completion = await aclient.chat.completions.create(
            model="fast", messages=[{"role": "user", "content": "Hello"}])
        stream = await aclient.chat.completions.create(
            model="openai", messages=[{"role": "user", "content": "Hello again"}],
            stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        one = await aclient.models.retrieve("offline/sentiment")
        await aclient.close()
        return listed, completion, text, one

    listed, completion, text, one = asyncio.run(run())
    assert all(isinstance(m, Model) for m in listed)
    ids = [m.id for m in listed]
    assert {"openai/gpt-test", "openai/gpt-other", "offline/sentiment", "fast",
            "mood"} <= set(ids)
    assert not any(i.startswith("anthropic/") for i in ids)  # no key: not offered
    assert completion.choices[0].message.content == "Summary: Hello"
    assert fake.requests[-2].json["model"] == "gpt-other"  # the alias's model
    assert text == "Summary: Hello again"
    assert fake.last.json["model"] == "gpt-test"  # the provider's default
    assert isinstance(one, Model) and one.owned_by == "offline"


def test_offline_runs_the_type_its_model_names(serve):
    url, app, token = serve()
    client = openai.OpenAI(base_url=url, api_key=token, max_retries=0)
    review = "I love this keyboard. The keys feel great."
    completion = client.chat.completions.create(
        model="offline/sentiment", messages=[{"role": "user", "content": review}])
    assert completion.choices[0].message.content.startswith("positive (")
    as_json = client.chat.completions.create(
        model="offline/sentiment", messages=[{"role": "user", "content": review}],
        response_format={"type": "json_object"})
    assert json.loads(as_json.choices[0].message.content)["label"] == "positive"
    chunks = list(client.chat.completions.create(
        model="offline/keywords", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "The quarterly budget review is on Friday."}]))
    assert "budget" in "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert chunks[-1].usage is not None
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.chat.completions.create(model="offline",
                                       messages=[{"role": "user", "content": review}])
    assert refused.value.code == "CHAT_NOT_SUPPORTED" and refused.value.param == "model"
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.chat.completions.create(model="offline/sentiment", temperature=0.5,
                                       messages=[{"role": "user", "content": review}])
    assert refused.value.code == "PARAMETER_NOT_SUPPORTED"
    assert refused.value.param == "temperature"
    wait_for_records(app, 3, operation="chat.completions", provider="offline", status=200)


def test_errors_raise_the_sdks_own_classes(serve):
    url, app, token = serve()
    client = openai.OpenAI(base_url=url, api_key=token, max_retries=0)
    message = [{"role": "user", "content": "Hello"}]
    with pytest.raises(openai.AuthenticationError) as bad_key:
        openai.OpenAI(base_url=url, api_key="fllm_wrong", max_retries=0).models.list()
    assert bad_key.value.code == "UNAUTHORIZED"
    for model in ("nobody/gpt-9", "offline/translation", "gpt-4o"):
        with pytest.raises(openai.NotFoundError) as unknown:
            client.chat.completions.create(model=model, messages=message)
        assert (unknown.value.code, unknown.value.param) == ("MODEL_NOT_FOUND", "model")
    with pytest.raises(openai.NotFoundError) as no_key:  # not listed: no key here
        client.chat.completions.create(model="openai/gpt-4.1-mini", messages=message)
    assert no_key.value.code == "MODEL_NOT_FOUND" and "OPENAI_API_KEY" in no_key.value.message
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nobody/nothing")
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="offline/summary", messages=message, n=2)
    assert "n" in refused.value.message
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model="offline/summary", messages=message,
            tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}])
    assert "'tools' was unexpected" in refused.value.message
    with pytest.raises(openai.UnprocessableEntityError) as refused:
        client.chat.completions.create(model="offline/summary",
                                       messages=[{"role": "system", "content": "Be kind."}])
    assert (refused.value.code, refused.value.param) == ("NO_USER_MESSAGE", "messages")


def test_a_budget_stops_a_token_as_on_the_webhook(serve):
    import httpx

    url, app, token = serve()
    asyncio.run(app.state.budgets.set_limits("sdk-0", daily_requests=2))
    client = openai.OpenAI(base_url=url, api_key=token, max_retries=0)
    message = [{"role": "user", "content": "The launch moves to March 15."}]
    client.chat.completions.create(model="offline/summary", messages=message)
    webhook = url.removesuffix("/v1") + "/api/v1/webhook"
    assert httpx.post(webhook, json={"prompt": "Hello"},
                      headers={"X-API-Token": token}).status_code == 200
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="offline/summary", messages=message)
    problem = httpx.post(webhook, json={"prompt": "Hello"},
                         headers={"X-API-Token": token}).json()
    assert refused.value.code == problem["code"] == "BUDGET_EXCEEDED"
    assert refused.value.body["message"] == problem["detail"]  # the same refusal
    assert "has made its 2 requests for today" in refused.value.message
    assert refused.value.body["type"] == "rate_limit_error"
    assert int(refused.value.response.headers["retry-after"]) > 0


def test_a_repeated_request_is_a_cache_hit(upstream):
    client, fake, app, _token = upstream("anthropic", cache_ttl=3600)
    ask = dict(model="anthropic/claude-test", messages=CONVERSATION)
    first = client.chat.completions.with_raw_response.create(**ask)
    calls = fake.calls
    again = client.chat.completions.with_raw_response.create(**ask)
    assert (first.headers["x-cache"], again.headers["x-cache"]) == ("MISS", "HIT")
    assert fake.calls == calls  # no upstream call
    assert again.parse().choices[0].message.content == first.parse().choices[0].message.content
    other = client.chat.completions.with_raw_response.create(**ask, stop=["Sincerely"])
    assert other.headers["x-cache"] == "MISS" and fake.calls == calls + 1
    streamed = list(client.chat.completions.create(**ask, stream=True))
    assert fake.calls == calls + 1  # a stream is answered from the same cache
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == \
        first.parse().choices[0].message.content
    wait_for_records(app, 4, operation="chat.completions")
    wait_for_records(app, 2, operation="chat.completions", cached=True)


def test_the_specs_v1_examples_run_as_written(settings, openai_fake):
    """Every /v1 example of the spec (curl lines included: a bearer token) is answered 200,
    by a server whose openai provider has the model the examples name."""
    app = create_app(settings.replace(rate_limit_enabled=False, **{
        **provider_config("openai", openai_fake.url), "openai_model": "gpt-4.1-mini"}))
    token = app.state.tokens.create("examples")
    with app.test_client() as client:
        found = client.get("/api/v1/examples", headers={"X-API-Token": token}).json()
        ran = 0
        for example in found["examples"]:
            if not example["path"].startswith("/v1/"):
                continue
            assert '"Authorization: Bearer $FLASKLLM_TOKEN"' in example["curl"]
            path = re.search(r"http://127\.0\.0\.1:8000(\S+)", example["curl"]).group(1)
            response = client.request(example["method"], path, json=example["request"],
                                      headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, (example["name"], response.text)
            ran += 1
    assert ran == 4  # chat, offline, models.search, models.get


def test_a_failing_provider_falls_back_within_the_deadline(serve, openai_fake, anthropic_fake):
    """openai answers 500 every time: after its retries, the chat goes to the fallback
    (anthropic), and the reply says which provider answered."""
    from fakes import Step

    url, app, token = serve(llm_provider="openai", fallback_providers=("anthropic",),
                            request_timeout=10.0,
                            **provider_config("openai", openai_fake.url),
                            **provider_config("anthropic", anthropic_fake.url))
    openai_fake.always(Step(status=500, body={"error": {"message": "down", "type": "x"}}))
    client = openai.OpenAI(base_url=url, api_key=token, max_retries=0)
    completion = client.chat.completions.create(
        model="openai", messages=[{"role": "user", "content": "Hello fallback"}])
    assert completion.model.startswith("anthropic/")
    assert completion.choices[0].message.content == "Summary: Hello fallback"
    assert openai_fake.calls == 3 and anthropic_fake.calls == 1  # policy.MAX_ATTEMPTS, then one
    wait_for_records(app, 1, operation="chat.completions", provider="anthropic", status=200)



def test_a_stream_that_breaks_midway_ends_with_an_error_the_sdk_raises(serve):
    from test_streaming import GatedStream

    fake = GatedStream(fail_after_first=True)  # the first word, then a reset connection
    try:
        url, app, token = serve(llm_provider="openai",
                                **provider_config("openai", fake.server.url))
        client = openai.OpenAI(base_url=url, api_key=token, max_retries=0)
        received = []
        with pytest.raises(openai.APIError) as failed:
            for chunk in client.chat.completions.create(
                    model="openai", stream=True,
                    messages=[{"role": "user", "content": "Plan the launch."}]):
                received.append(chunk)
    finally:
        fake.stop()
    assert "".join(c.choices[0].delta.content or "" for c in received if c.choices) == "The"
    assert failed.value.code == "PROVIDER_ERROR"  # an event after the start, not a status
    wait_for_records(app, 1, operation="chat.completions", status=502)
