"""The contract's own rules (spec/openapi.yaml), checked over whatever operations it has:
references only to components, `type` with every `nullable`, the problem codes equal to those of
flaskllm/errors.py, the document served with its `$ref`s, the headers a response sends declared
on it, and one answer for a too-long prompt from every operation that takes one."""

from __future__ import annotations

import inspect
import json
from http import HTTPStatus

import pytest

from flaskllm import errors
from flaskllm.app import load_spec
from spec_tools import (SPEC, first_problem, first_request, ids, operations, parameter_example,
                        prompt_operations, resolve, secured, token_header, walk,
                        with_long_prompt)

# The headers the server adds, and where they must then be declared.
TRACKED_HEADERS = ("X-Request-ID", "X-Cache", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                   "X-RateLimit-Reset", "Retry-After", "Idempotent-Replayed")


def test_refs_name_components_only():
    """A $ref is `#/components/<kind>/<name>`, never into another schema's properties: the
    generators name their models from it."""
    for path, node in walk(SPEC):
        if isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            parts = ref.split("/")
            where = "/".join(map(str, path))
            assert parts[:2] == ["#", "components"] and len(parts) == 4, f"{where}: {ref}"
            resolve(ref)  # and it exists


def test_every_nullable_has_a_type():
    for path, node in walk(SPEC):
        if isinstance(node, dict) and node.get("nullable") is True:
            assert "type" in node, "/".join(map(str, path))


def error_codes() -> set[str]:
    """Every code flaskllm/errors.py can answer with: its classes' codes, the codes it gives
    connexion's and starlette's problems by status, and the fallback for any other status."""
    classes = {cls.code for _, cls in inspect.getmembers(errors, inspect.isclass)
               if issubclass(cls, errors.APIProblem)}
    other = next(s for s in HTTPStatus if s >= 400 and s not in errors.CODES_BY_STATUS)
    fallback = errors.problem_body(other, None, None)["code"]
    return classes | set(errors.CODES_BY_STATUS.values()) | {fallback}


def test_problem_codes_are_the_codes_of_errors_py():
    declared = set(SPEC["components"]["schemas"]["ProblemCode"]["enum"])
    answered = error_codes()
    missing = sorted(answered - declared)
    assert not missing, (f"flaskllm/errors.py answers with {missing}: add them to the enum of "
                         "components.schemas.ProblemCode in spec/openapi.yaml")
    stale = sorted(declared - answered)
    assert not stale, (f"spec/openapi.yaml ProblemCode lists {stale}, which flaskllm/errors.py "
                       "never answers with: remove them, or add their problem class")
    problem = SPEC["components"]["schemas"]["Problem"]["properties"]["code"]
    assert problem == {"$ref": "#/components/schemas/ProblemCode"}


def test_served_document_keeps_its_refs_and_the_servers_limits(client, settings):
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    document = served.json()
    assert document == json.loads(json.dumps(load_spec(settings), default=str))
    body = document["paths"]["/api/v1/webhook"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"] == {"$ref": "#/components/schemas/Prompt"}
    prompt = document["components"]["schemas"]["Prompt"]["properties"]["prompt"]
    assert prompt["maxLength"] == settings.max_prompt_length


def test_served_document_carries_a_path_prefix(app):
    """Behind a prefix (ASGI root_path, as a proxy mounting the app sets it) the server URL has
    it, so a generated client calls the right place."""
    from starlette.testclient import TestClient

    with TestClient(app, root_path="/flaskllm") as client:
        document = client.get("/api/v1/openapi.json").json()
    assert document["servers"][0]["url"] == "/flaskllm/"


@pytest.mark.parametrize("path,method,op", prompt_operations(), ids=ids(prompt_operations()))
def test_a_too_long_prompt_is_413_prompt_too_long_everywhere(client, auth, settings, path,
                                                             method, op):
    """The same answer from single, stream, batch (the item's result) and any other operation
    that takes prompts: 413 PROMPT_TOO_LONG, as the spec's 413 response says."""
    example = first_request(op)
    response = client.request(method.upper(), path, headers=auth,
                              json=with_long_prompt(example, settings.max_prompt_length + 1))
    body = response.json()
    if response.status_code == 200:  # many prompts: the item fails alone, with its problem
        problem = first_problem(body)
        assert problem is not None, body
    else:
        assert response.status_code == 413, body
        assert response.headers["content-type"] == errors.PROBLEM_JSON
        problem = body
    assert problem["code"] == "PROMPT_TOO_LONG" and problem["status"] == 413, problem
    assert f"at most {settings.max_prompt_length}" in problem["detail"]
    # At the limit exactly, the prompt is accepted.
    ok = client.request(method.upper(), path, headers=auth,
                        json=with_long_prompt(example, settings.max_prompt_length))
    assert ok.status_code == 200, ok.text[:300]
    if ok.headers["content-type"].startswith("application/json"):
        assert "results" not in ok.json() or ok.json()["results"][0]["status"] == 200


def declared_headers(op: dict, status: int) -> set[str]:
    response = op["responses"].get(str(status))
    assert response is not None, f"{op['operationId']} answered {status}, not in the spec"
    if "$ref" in response:
        response = resolve(response["$ref"])
    return set(response.get("headers", {}))


def assert_headers_declared(op: dict, response) -> None:
    sent = {name for name in TRACKED_HEADERS if name.lower() in response.headers}
    missing = sent - declared_headers(op, response.status_code)
    assert not missing, (f"{op['operationId']} {response.status_code} sends {sorted(missing)}; "
                         "declare them on that response in spec/openapi.yaml")
    assert "X-Request-ID" in sent


def path_with_examples(path: str, op: dict) -> str:
    """``path`` with each path parameter replaced by its example."""
    for param in op.get("parameters", []):
        param, example = parameter_example(param, "path")
        if param["in"] == "path":
            path = path.replace("{" + param["name"] + "}", str(example))
    return path


@pytest.mark.parametrize("path,method,op", operations(), ids=ids(operations()))
def test_headers_sent_are_declared(app, client, path, method, op):
    """Each operation's answer (with its example, and without a token) sends only headers its
    response declares; a rate-limited token's 429 declares Retry-After and X-RateLimit-*."""
    token = app.state.tokens.create("headers", admin=True)
    path = path_with_examples(path, op)
    body = first_request(op)
    kwargs = {"json": body} if body is not None else {}
    answered = client.request(method.upper(), path, headers=token_header(op, token),
                              follow_redirects=False, **kwargs)
    assert answered.status_code < 400, answered.text[:300]  # GET / is a 308 to /docs
    assert_headers_declared(op, answered)
    if secured(op):
        assert_headers_declared(op, client.request(method.upper(), path, follow_redirects=False,
                                                   **kwargs))


def test_rate_limit_and_replay_headers_are_declared(settings):
    from flaskllm.app import create_app

    app = create_app(settings.replace(rate_limit="2/minute"))
    op = SPEC["paths"]["/api/v1/webhook/batch"]["post"]
    headers = {"X-API-Token": app.state.tokens.create("limited"), "Idempotency-Key": "k-1"}
    body = {"texts": ["A short text to process."]}
    with app.test_client() as client:
        first = client.post("/api/v1/webhook/batch", json=body, headers=headers)
        assert first.headers["X-RateLimit-Limit"] == "2"
        assert_headers_declared(op, first)
        replay = client.post("/api/v1/webhook/batch", json=body, headers=headers)
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert_headers_declared(op, replay)
        refused = client.post("/api/v1/webhook/batch", json={"texts": ["one", "two", "three"]},
                              headers={"X-API-Token": headers["X-API-Token"]})
        assert refused.status_code == 429 and "retry-after" in refused.headers
        assert_headers_declared(op, refused)
