"""The HTTP surface of the core: results, errors as problems, request ids, limits, CORS."""

from __future__ import annotations

import json

import pytest

PARAGRAPH = ("The quarterly budget review is on Friday. Finance wants every team to cut cloud "
             "spending by ten percent and to report hiring plans for the third quarter. "
             "The quarterly budget review decides which projects continue next year.")


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= {"type", "title", "status", "detail", "code"}
    assert body["status"] == status
    if code:
        assert body["code"] == code
    assert "Traceback" not in response.text
    return body


def test_keywords_end_to_end(client, auth):
    response = client.post("/api/v1/webhook", json={"prompt": PARAGRAPH, "type": "keywords"},
                           headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "keywords" and body["provider"] == "offline"
    texts = [k["text"].lower() for k in body["data"]]
    assert any("budget" in t for t in texts)
    assert all(0 < k["score"] <= 1 for k in body["data"])
    assert body["usage"]["cost_usd"] == 0
    assert body["usage"]["input_tokens"] > 10
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["cached"] is False


def test_default_type_is_summary(client, auth):
    response = client.post("/api/v1/webhook", json={"prompt": PARAGRAPH}, headers=auth)
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "summary"
    assert body["summary"] and body["data"]["text"] == body["summary"]
    assert len(body["summary"]) <= len(PARAGRAPH)


@pytest.mark.parametrize("headers", [{}, {"X-API-Token": "wrong"}, {"X-API-Token": ""}])
def test_missing_or_unknown_token_is_401(client, headers):
    response = client.post("/api/v1/webhook", json={"prompt": "hi"}, headers=headers)
    assert_problem(response, 401, "UNAUTHORIZED")


def test_revoked_token_is_401(app, client):
    token = app.state.tokens.create("soon-gone")
    assert client.get("/api/v1/examples", headers={"X-API-Token": token}).status_code == 200
    assert app.state.tokens.revoke("soon-gone")
    assert_problem(client.get("/api/v1/examples", headers={"X-API-Token": token}), 401)


def test_env_api_token_works(settings, tmp_path):
    from flaskllm.app import create_app

    app = create_app(settings.replace(api_token="e" * 40))
    with app.test_client() as client:
        response = client.post("/api/v1/webhook", json={"prompt": PARAGRAPH},
                               headers={"X-API-Token": "e" * 40})
        assert response.status_code == 200
        assert_problem(client.post("/api/v1/webhook", json={"prompt": PARAGRAPH},
                                   headers={"X-API-Token": "e" * 39}), 401)


def test_token_never_echoed(client, token):
    response = client.post("/api/v1/webhook", content=b"{bad",
                           headers={"X-API-Token": token, "Content-Type": "application/json"})
    assert_problem(response, 400)
    assert token not in response.text and token not in str(response.headers)


def test_invalid_utf8_is_400(client, auth):
    response = client.post("/api/v1/webhook", content=b'{"prompt": "\xff\xfe"}',
                           headers={**auth, "Content-Type": "application/json"})
    assert_problem(response, 400, "INVALID_ENCODING")


def test_malformed_json_is_400(client, auth):
    response = client.post("/api/v1/webhook", content=b'{"prompt": ',
                           headers={**auth, "Content-Type": "application/json"})
    assert_problem(response, 400, "INVALID_JSON")


def test_wrong_content_type_is_415(client, auth):
    response = client.post("/api/v1/webhook", content=b"prompt=hi",
                           headers={**auth, "Content-Type": "text/plain"})
    assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_unknown_method_is_405_with_allow(client, auth):
    response = client.delete("/api/v1/webhook", headers=auth)
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"


def test_unknown_path_is_404(client):
    assert_problem(client.get("/api/v1/nothing-here"), 404, "NOT_FOUND")


@pytest.mark.parametrize("body, fragment", [
    ({}, "'prompt' is a required property"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": "   "}, "prompt"),
    ({"prompt": "hi", "type": "poem"}, "poem"),
    ({"prompt": "hi", "source": "fax"}, "fax"),
    ({"prompt": "hi", "language": "french"}, "french"),
    ({"prompt": "hi", "colour": "red"}, "colour"),
    ({"prompt": 42}, "42"),
    (["prompt"], "is not of type 'object'"),
])
def test_invalid_bodies_are_400(client, auth, body, fragment):
    response = client.post("/api/v1/webhook", json=body, headers=auth)
    problem = assert_problem(response, 400, "BAD_REQUEST")
    assert fragment in problem["detail"] or fragment in json.dumps(problem)


def test_prompt_over_default_limit_is_rejected_briefly(client, auth):
    response = client.post("/api/v1/webhook", json={"prompt": "x" * 4001}, headers=auth)
    problem = assert_problem(response, 413, "PROMPT_TOO_LONG")
    assert len(response.content) < 1000  # the problem does not echo the whole prompt
    assert "4001 characters" in problem["detail"] and "at most 4000" in problem["detail"]


def test_configured_prompt_limit_is_enforced_and_served(settings):
    from flaskllm.app import create_app

    app = create_app(settings.replace(max_prompt_length=50))
    token = app.state.tokens.create("short")
    with app.test_client() as client:
        spec = client.get("/api/v1/openapi.json").json()
        assert spec["components"]["schemas"]["Prompt"]["properties"]["prompt"]["maxLength"] == 50
        response = client.post("/api/v1/webhook", json={"prompt": "y" * 51},
                               headers={"X-API-Token": token})
        assert_problem(response, 413, "PROMPT_TOO_LONG")
        ok = client.post("/api/v1/webhook", json={"prompt": "Short and sweet text here."},
                         headers={"X-API-Token": token})
        assert ok.status_code == 200


def test_body_over_limit_is_413_by_content_length(settings):
    from flaskllm.app import create_app

    app = create_app(settings.replace(max_body_bytes=1000))
    with app.test_client() as client:
        response = client.post("/api/v1/webhook", content=b"{" + b" " * 2000 + b"}",
                               headers={"Content-Type": "application/json"})
        assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


def test_body_over_limit_is_413_when_streamed(settings):
    from flaskllm.app import create_app

    app = create_app(settings.replace(max_body_bytes=1000))
    token = app.state.tokens.create("chunky")

    def chunks():  # no Content-Length: the bytes are counted as they arrive
        yield b'{"prompt": "'
        for _ in range(50):
            yield b"z" * 100
        yield b'"}'

    with app.test_client() as client:
        response = client.post("/api/v1/webhook", content=chunks(),
                               headers={"Content-Type": "application/json",
                                        "X-API-Token": token})
        assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


def test_request_id_echoed_when_sane_else_generated(client, auth):
    sane = client.get("/api/v1/health", headers={"X-Request-ID": "abc-123"})
    assert sane.headers["x-request-id"] == "abc-123"
    insane = client.get("/api/v1/health", headers={"X-Request-ID": "a b<script>"})
    assert insane.headers["x-request-id"] != "a b<script>"
    assert len(insane.headers["x-request-id"]) == 32
    error = client.post("/api/v1/webhook", json={}, headers={"X-Request-ID": "err-1"})
    assert error.headers["x-request-id"] == "err-1"


def test_cors_preflight_uses_allowed_origins(settings):
    from flaskllm.app import create_app

    app = create_app(settings.replace(allowed_origins=("https://excel.example",)))
    with app.test_client() as client:
        ok = client.options("/api/v1/webhook", headers={
            "Origin": "https://excel.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "X-API-Token, Content-Type"})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == "https://excel.example"
        bad = client.options("/api/v1/webhook", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert "access-control-allow-origin" not in bad.headers


def test_offline_translation_is_422_naming_providers(client, auth):
    response = client.post("/api/v1/webhook", json={"prompt": "Bonjour", "type": "translation",
                                                    "language": "en"}, headers=auth)
    problem = assert_problem(response, 422, "TYPE_NOT_SUPPORTED")
    assert "openai" in problem["detail"]


def test_health_needs_no_token(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["provider"] == "offline"
    assert body["checks"]["database"]["status"] == "ok"


def test_health_reports_a_dead_database(settings, tmp_path):
    from flaskllm.app import create_app

    app = create_app(settings)
    app.state.engine  # built, then broken: point it at a directory it cannot open
    import sqlalchemy as sa
    app.state.engine = sa.create_engine(f"sqlite:///{tmp_path}/missing/dir/db.sqlite")
    with app.test_client() as client:
        response = client.get("/api/v1/health")
        # The API still serves (API_TOKEN, tokens seen recently): degraded, not down.
        assert response.status_code == 200
        assert response.json()["status"] == "degraded"
        assert response.json()["checks"]["database"]["status"] == "down"


def test_examples_come_from_the_spec(client, auth, app):
    response = client.get("/api/v1/examples", headers=auth)
    assert response.status_code == 200
    examples = response.json()["examples"]
    spec_examples = app.state.spec["paths"]["/api/v1/webhook"]["post"]["requestBody"][
        "content"]["application/json"]["examples"]
    webhook = [e for e in examples if e["operation_id"] == "webhook.create"]
    assert {e["name"] for e in webhook} == set(spec_examples)
    for example in webhook:
        assert example["request"] == spec_examples[example["name"]]["value"]
        assert "X-API-Token: $FLASKLLM_TOKEN" in example["curl"]


def test_examples_run_as_written(client, auth):
    """Every request example in the spec is accepted by the server."""
    for example in client.get("/api/v1/examples", headers=auth).json()["examples"]:
        if example["path"].startswith("/v1/"):
            continue  # they name LLM providers: run in test_openai_compat.py, against fakes
        if example["method"] == "POST" and example["request"] is not None:
            response = client.post(example["path"], json=example["request"], headers=auth)
            assert response.status_code == 200, (example["name"], response.text)


def test_swagger_console_is_served(client):
    page = client.get("/api/v1/ui/")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["components"]["securitySchemes"]["ApiKeyAuth"]["name"] == "X-API-Token"
