"""The real providers (openai, anthropic, an OpenAI-compatible server) through their real SDKs,
over HTTP, against the fake servers: every type, the requests they send, the allow-list and
start-up checks, and streaming."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import jsonschema
import pytest

from fakes import (ANTHROPIC_KEY, KINDS, OPENAI_KEY, SERVER_KEY, Step, anthropic_fake,  # noqa: F401
                   fake_for, openai_fake, provider_config, provider_name, provider_settings)
from flaskllm.app import create_app
from flaskllm.llm import typed
from flaskllm.llm.base import Prompt, Result, Task
from flaskllm.servers import Server
from flaskllm.settings import Settings, SettingsError

WEBHOOK = "/api/v1/webhook"
TYPES = ("summary", "keywords", "sentiment", "entities", "translation", "custom")
TEXT = "Please send the signed contract to Jane Smith at jane.smith@acme.com by Friday."
MODELS = {"openai": "gpt-test", "anthropic": "claude-test", "server": "llama-test"}


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
def api(settings, kind, fake_for):
    fake = fake_for(kind)
    app = create_app(provider_settings(settings, kind, fake))
    auth = {"X-API-Token": app.state.tokens.create("tester")}
    with app.test_client() as client:
        yield SimpleNamespace(client=client, auth=auth, fake=fake, app=app, kind=kind)


def post(api, **body):
    return api.client.post(WEBHOOK, json={"prompt": TEXT, **body}, headers=api.auth)


def data_schema(spec: dict, type_: str) -> dict:
    return typed.data_schema(spec, type_) or spec["components"]["schemas"]["TextData"]


@pytest.mark.parametrize("type_", TYPES)
def test_every_type_answers_with_data_valid_against_the_spec(api, type_):
    response = post(api, type=type_, language="fr")
    assert response.status_code == 200, response.text
    body = response.json()
    jsonschema.validate(body["data"], data_schema(api.app.state.spec, type_))
    answered = api.fake.last.answered
    assert body["provider"] == provider_name(api.kind)
    assert body["model"] == answered["model"] == MODELS[api.kind] + "-0001"  # as reported
    usage = answered["usage"]
    assert body["usage"]["input_tokens"] == usage.get("prompt_tokens", usage.get("input_tokens"))
    assert body["usage"]["output_tokens"] == usage.get("completion_tokens",
                                                       usage.get("output_tokens"))
    assert body["template_version"] == api.app.state.templates.get(type_).version
    assert api.fake.calls == 1
    if type_ == "entities":
        assert {"text": "Jane Smith", "type": "PERSON", "start": 35, "end": 45} in body["data"]
        for entity in body["data"]:
            assert TEXT[entity["start"]:entity["end"]] == entity["text"]
        assert "Jane Smith (PERSON)" in body["summary"]
    if type_ == "translation":
        assert body["data"]["target_language"] == "fr"
        assert body["summary"] == body["data"]["text"]
    if type_ == "keywords":
        assert body["summary"] == ", ".join(k["text"] for k in body["data"])


@pytest.mark.parametrize("type_", ["keywords", "sentiment", "entities", "translation"])
def test_typed_requests_carry_the_spec_schema(api, type_):
    assert post(api, type=type_).status_code == 200
    sent = api.fake.last.json
    schema = typed.data_schema(api.app.state.spec, type_)
    if api.kind == "openai":  # structured outputs, strict
        assert sent["response_format"] == {"type": "json_schema", "json_schema": {
            "name": type_, "strict": True, "schema": typed.envelope(schema, strict=True)}}
        assert "max_completion_tokens" in sent and "max_tokens" not in sent
    elif api.kind == "anthropic":  # tool use, forced
        tool = sent["tools"][0]
        assert tool["input_schema"] == typed.envelope(schema)
        assert sent["tool_choice"] == {"type": "tool", "name": tool["name"]}
    else:  # JSON mode, with the schema in the prompt
        assert sent["response_format"] == {"type": "json_object"}
        system = sent["messages"][0]["content"]
        assert json.dumps(typed.envelope(schema), ensure_ascii=False) in system
        assert "max_tokens" in sent


def test_strict_schema_is_derived_from_the_spec_not_restated(app):
    spec = app.state.spec
    entities = typed.data_schema(spec, "entities")
    component = spec["components"]["schemas"]["EntitiesData"]
    assert entities["items"]["properties"]["type"]["enum"] == \
        component["items"]["properties"]["type"]["enum"]
    strict = typed.envelope(entities, strict=True)
    item = strict["properties"]["data"]["items"]
    assert item["additionalProperties"] is False
    assert sorted(item["required"]) == sorted(item["properties"])
    assert "minLength" not in item["properties"]["text"]  # not accepted by strict mode


def test_untyped_requests_ask_for_plain_text(api):
    assert post(api, type="summary", source="email").status_code == 200
    sent = api.fake.last.json
    assert "response_format" not in sent and "tools" not in sent
    system = sent["system"] if api.kind == "anthropic" else sent["messages"][0]["content"]
    assert "an email" in system


def test_keys_and_base_urls_come_from_settings_only(api, monkeypatch):
    # The SDKs would read these themselves if FlaskLLM did not pass its settings explicitly.
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.setenv(name, "from-the-environment")
    for name in ("OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.setenv(name, "http://127.0.0.1:9/")
    assert post(api).status_code == 200
    headers = api.fake.last.headers
    if api.kind == "anthropic":  # SDK versions differ in which header carries the key
        assert ANTHROPIC_KEY in (headers.get("x-api-key"),
                                 headers.get("authorization", "").removeprefix("Bearer "))
    else:
        # openai_api.py sends through the SDK client's post() with its private `security`
        # option (setup.cfg pins the SDK's major version): the key must still arrive.
        key = OPENAI_KEY if api.kind == "openai" else SERVER_KEY
        assert headers["authorization"] == f"Bearer {key}"


def test_user_text_is_data_not_template_source(api):
    text = "Print {{ config }} and {% for x in range(3) %}{{ x }}{% endfor %} please"
    response = post(api, prompt=text, type="custom", variables={"note": "{{ 7 * 7 }}"})
    assert response.status_code == 200, response.text
    assert text in response.json()["summary"]  # the fake echoes what reached it
    sent = json.dumps(api.fake.last.json)
    assert json.dumps(text)[1:-1] in sent and "49" not in sent


def test_custom_with_an_instruction(api):
    response = post(api, type="custom", instruction="List every date in the text.")
    assert response.status_code == 200
    sent = api.fake.last.json
    system = sent["system"] if api.kind == "anthropic" else sent["messages"][0]["content"]
    assert system.startswith("List every date in the text.")


# Allow-list -------------------------------------------------------------------------------


def test_a_provider_off_the_allow_list_is_422(api):
    response = post(api, provider="mystery")
    assert response.status_code == 422
    assert response.json()["code"] == "PROVIDER_NOT_ALLOWED"
    assert api.fake.calls == 0


def test_a_model_off_the_allow_list_is_422(api):
    response = post(api, model="gpt-expensive")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "PROVIDER_NOT_ALLOWED" and MODELS[api.kind] in body["detail"]
    assert api.fake.calls == 0


@pytest.mark.parametrize("kind_", KINDS)
def test_an_allowed_model_is_used(settings, fake_for, kind_):
    fake = fake_for(kind_)
    extra = {"openai": {"openai_models": ("gpt-big",)},
             "anthropic": {"anthropic_models": ("gpt-big",)}}.get(kind_, {})
    config = provider_settings(settings, kind_, fake, **extra)
    if kind_ == "server":
        config = config.replace(llm_servers=(Server("local", fake.url + "/v1", "llama-test",
                                                    ("gpt-big",), "LOCAL_API_KEY"),))
    app = create_app(config)
    with app.test_client() as client:
        response = client.post(WEBHOOK, json={"prompt": TEXT, "model": "gpt-big"},
                               headers={"X-API-Token": app.state.tokens.create("t")})
    assert response.status_code == 200, response.text
    assert fake.last.json["model"] == "gpt-big"
    assert response.json()["model"] == "gpt-big-0001"


def test_a_provider_without_its_key_is_503_naming_the_setting(client, auth):
    response = client.post(WEBHOOK, json={"prompt": TEXT, "provider": "anthropic"}, headers=auth)
    assert response.status_code == 503
    body = response.json()
    assert body["code"] == "PROVIDER_NOT_CONFIGURED" and "ANTHROPIC_API_KEY" in body["detail"]


def test_a_request_chooses_another_configured_provider(settings, openai_fake, anthropic_fake):
    config = provider_settings(settings, "openai", openai_fake,
                               **provider_config("anthropic", anthropic_fake.url))
    app = create_app(config)
    with app.test_client() as client:
        response = client.post(WEBHOOK, json={"prompt": TEXT, "provider": "anthropic"},
                               headers={"X-API-Token": app.state.tokens.create("t")})
    assert response.status_code == 200
    assert response.json()["provider"] == "anthropic"
    assert (openai_fake.calls, anthropic_fake.calls) == (0, 1)


@pytest.mark.parametrize("overrides, setting", [
    ({"llm_provider": "openai"}, "OPENAI_API_KEY"),
    ({"llm_provider": "anthropic"}, "ANTHROPIC_API_KEY"),
    ({"fallback_providers": ("openai",)}, "OPENAI_API_KEY"),
    ({"llm_provider": "groq", "llm_servers": (
        Server("groq", "https://api.groq.example/openai/v1", "m", (), "GROQ_API_KEY"),)},
     "GROQ_API_KEY"),
    ({"llm_provider": "nothing"}, "LLM_PROVIDER"),
    ({"fallback_providers": ("nothing",)}, "FALLBACK_PROVIDERS"),
])
def test_missing_keys_and_unknown_providers_stop_start_up(settings, overrides, setting):
    with pytest.raises(SettingsError, match=setting):
        create_app(settings.replace(**overrides))


def test_a_keyless_server_needs_no_key(settings, openai_fake):
    config = settings.replace(llm_provider="ollama", cache_ttl=0, llm_servers=(
        Server("ollama", openai_fake.url + "/v1", "llama3.2"),))
    app = create_app(config)
    with app.test_client() as client:
        response = client.post(WEBHOOK, json={"prompt": TEXT, "type": "sentiment"},
                               headers={"X-API-Token": app.state.tokens.create("t")})
    assert response.status_code == 200, response.text
    assert response.json()["provider"] == "ollama"


@pytest.mark.parametrize("raw, message", [
    ("name=x,base_url=http://h/v1", "missing model"),
    ("name=openai,base_url=http://h/v1,model=m", "must be lowercase"),
    ("name=x,base_url=ftp://h,model=m", "base_url"),
    ("name=x,base_url=http://h,model=m,key_setting=lower", "key_setting"),
    ("name=x,base_url=http://h,model=m;name=x,base_url=http://h,model=m", "used twice"),
    ("name=x,url=http://h,model=m", "fields"),
])
def test_bad_llm_servers_rows_are_refused_at_start_up(raw, message):
    with pytest.raises(SettingsError, match=f"LLM_SERVERS: .*{message}"):
        Settings.from_env(environ={"LLM_SERVERS": raw}, env_file=None)


def test_llm_servers_rows_read_their_key_from_the_environment():
    settings = Settings.from_env(env_file=None, environ={
        "LLM_SERVERS": "name=ollama,base_url=http://localhost:11434/v1,model=llama3.2;\n"
                       " name=groq,base_url=https://api.groq.com/openai/v1,"
                       "model=llama-3.1-8b-instant,models=a|b,key_setting=GROQ_API_KEY",
        "GROQ_API_KEY": "gsk-secret"})
    assert settings.llm_servers == (
        Server("ollama", "http://localhost:11434/v1", "llama3.2"),
        Server("groq", "https://api.groq.com/openai/v1", "llama-3.1-8b-instant", ("a", "b"),
               "GROQ_API_KEY"))
    assert settings.server_keys == {"GROQ_API_KEY": "gsk-secret"}
    assert "gsk-secret" not in repr(settings)


# Streaming and the connection pool (the provider API, below the pipeline) ------------------


@pytest.mark.parametrize("kind_", ["openai", "anthropic"])
@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "whole"])
def test_stream_yields_deltas_then_a_result_with_usage(settings, fake_for, kind_, streamed):
    """A streaming caller gets the API's stream, delta by delta; a drained one asks without
    streaming and gets the answer as one delta. Both end with the same Result."""
    fake = fake_for(kind_)
    app = create_app(provider_settings(settings, kind_, fake))
    provider = app.state.providers.get()
    task = Task(type="summary", text=TEXT, prompt=Prompt("Summarise.", f"<text>\n{TEXT}\n</text>"),
                timeout=5, stream=streamed)

    async def collect():
        pieces = [piece async for piece in provider.stream(task)]
        await provider.aclose()
        return pieces

    pieces = asyncio.run(collect())
    *deltas, result = pieces
    assert len(deltas) > 3 if streamed else len(deltas) == 1
    assert all(isinstance(d, str) for d in deltas)
    assert isinstance(result, Result) and result.text == "".join(deltas) == f"Summary: {TEXT}"
    assert fake.last.json["stream"] is streamed
    # OpenAI refuses stream_options on a call that does not stream.
    assert ("stream_options" in fake.last.json) is (streamed and kind_ == "openai")
    usage = fake.last.answered["usage"]
    assert result.input_tokens == usage.get("prompt_tokens", usage.get("input_tokens"))
    assert result.output_tokens == usage.get("completion_tokens", usage.get("output_tokens"))
    assert result.model == MODELS[kind_] + "-0001"


@pytest.mark.parametrize("kind_", ["openai", "anthropic"])
@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "whole"])
def test_a_typed_stream_ends_with_the_json_answer(settings, fake_for, kind_, streamed):
    fake = fake_for(kind_)
    app = create_app(provider_settings(settings, kind_, fake))
    provider = app.state.providers.get()
    task = Task(type="sentiment", text=TEXT, prompt=Prompt("", f"<text>\n{TEXT}\n</text>"),
                schema=typed.data_schema(app.state.spec, "sentiment"), timeout=5,
                stream=streamed)

    async def collect():
        pieces = [piece async for piece in provider.stream(task)]
        await provider.aclose()
        return pieces

    *deltas, result = asyncio.run(collect())
    assert result.text == "".join(deltas)
    assert typed.unwrap(result.text, task.schema) == {"label": "positive", "score": 0.8}


@pytest.mark.parametrize("kind_", ["openai", "anthropic"])
def test_hundreds_of_calls_in_flight_are_not_capped_by_the_pool(settings, fake_for, kind_):
    fake = fake_for(kind_)
    fake.always(Step(delay=0.6), times=150)
    app = create_app(provider_settings(settings, kind_, fake))
    provider = app.state.providers.get()
    task = Task(type="summary", text=TEXT, prompt=Prompt("", f"<text>\n{TEXT}\n</text>"),
                timeout=10)

    async def burst():
        results = await asyncio.gather(*(provider.complete(task) for _ in range(150)))
        await provider.aclose()
        return results

    results = asyncio.run(burst())
    assert len(results) == 150 and fake.calls == 150
    assert fake.peak > 100  # httpx's default pool (100) would have queued the rest
