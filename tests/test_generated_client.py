"""A Python client generated from spec/openapi.yaml by openapi-python-client (a generator nobody
here wrote), used against a live `flaskllm serve` (offline provider): every operation in the
spec, and the error answers 401, 413 and 429, each response parsed into the model the spec
declares for it. The operations come from the spec, so a new one is covered without a change
here (its first request example is what is sent)."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flaskllm.app import SPEC_PATH
from servers import clean_env, cli, serve_processes
from spec_tools import (SPEC, first_example, first_problem, ids, operations, parameter_example,
                        prompt_operations, resolve, secured, token_header, with_long_prompt)

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "flaskllm_client"
ADMIN = "generated-client-admin-token"
RATE_LIMIT = 40  # a minute, per token: the whole module stays under it with the admin token


def snake(name: str) -> str:
    """openapi-python-client's module names: camelCase and punctuation become snake_case."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()


def component(ref: str) -> str:
    assert ref.startswith("#/components/schemas/"), ref
    return ref.rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def client_pkg(tmp_path_factory):
    """The generated package, imported (generation must print no warning)."""
    out = tmp_path_factory.mktemp("generated")
    config = out / "config.yaml"
    # No post hooks: they would run ruff from PATH, which is not what is tested here.
    config.write_text(f"post_hooks: []\npackage_name_override: {PACKAGE}\n")
    done = subprocess.run([str(GENERATOR), "generate", "--path", str(SPEC_PATH), "--meta", "none",
                           "--output-path", str(out / PACKAGE), "--config", str(config)],
                          capture_output=True, text=True, timeout=300)
    printed = done.stdout + done.stderr
    assert done.returncode == 0, printed
    assert "warning" not in printed.lower(), printed
    sys.path.insert(0, str(out))
    try:
        importlib.import_module(PACKAGE + ".models")  # also makes it the package's attribute
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A live server and a second, ordinary token (for the 429)."""
    tmp = tmp_path_factory.mktemp("server")
    env = clean_env(ENVIRONMENT="test", LLM_PROVIDER="offline", API_TOKEN=ADMIN,
                    DATABASE_URL=f"sqlite:///{tmp}/client.db", RATE_LIMIT=f"{RATE_LIMIT}/minute")
    limited = cli(env, "tokens", "create", "limited", cwd=tmp).strip().splitlines()[-1].strip()
    with serve_processes(env, 1, tmp) as urls:
        yield {"url": urls[0], "limited": limited}


def clients(pkg, server: dict, token: str | None = ADMIN, op: dict | None = None):
    if token is None:
        return pkg.Client(base_url=server["url"], raise_on_unexpected_status=True)
    # The /v1 operations take the token as a bearer token (the client's default prefix).
    bearer = op is not None and "Authorization" in token_header(op, token)
    return pkg.AuthenticatedClient(base_url=server["url"], token=token,
                                   prefix="Bearer" if bearer else "",
                                   auth_header_name="Authorization" if bearer else "X-API-Token",
                                   raise_on_unexpected_status=True)


def module_for(pkg, op: dict):
    tag, operation_id = snake(op["tags"][0]), snake(op["operationId"])
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation_id}")


def model(pkg, schema: dict, value):
    """``value`` as the generated model of ``schema`` (a $ref, or a oneOf of $refs)."""
    if "$ref" in schema:
        name = component(schema["$ref"])
        if "oneOf" in SPEC["components"]["schemas"][name]:  # a Union, not a model
            return model(pkg, SPEC["components"]["schemas"][name], value)
        return getattr(pkg.models, name).from_dict(value)
    for variant in schema["oneOf"]:
        try:
            return model(pkg, variant, value)
        except (KeyError, TypeError, ValueError):
            continue
    raise AssertionError(f"{value!r} is none of {schema}")


def request_body(op: dict) -> tuple[dict, object] | None:
    content = (op.get("requestBody") or {}).get("content", {}).get("application/json")
    if content is None:
        return None
    return content["schema"], first_example(content)


def required_parameters(op: dict) -> dict:
    """The operation's required parameters, from their examples (skips without one)."""
    found = {}
    for param in op.get("parameters", []):
        param, example = parameter_example(param, "required")
        if param.get("required"):
            name = snake(param["name"])
            found[name + "_" if name in ("from", "type", "id", "format") else name] = example
    return found


def call(pkg, server: dict, op: dict, *, token: str | None = ADMIN, body=None, **params):
    found = request_body(op)
    kwargs = {**required_parameters(op), **params}
    if found is not None:
        schema, example = found
        kwargs["body"] = model(pkg, schema, example if body is None else body)
    client = clients(pkg, server, token if secured(op) else None, op)
    return module_for(pkg, op).sync_detailed(client=client, **kwargs)


def declared(op: dict, status: int, content_type: str = "") -> tuple[str, dict]:
    """The declared media type and its object: the only one, or the one answered (a chat
    completion's 200 is JSON, or with `stream: true` an event stream)."""
    response = op["responses"][str(status)]
    if "$ref" in response:
        response = resolve(response["$ref"])
    content = response["content"]
    if len(content) > 1:
        media_type = content_type.split(";")[0].strip()
        return media_type, content[media_type]
    (media_type, media), = content.items()
    return media_type, media


def assert_parsed(pkg, op: dict, response) -> None:
    """The parsed response is the declared model (or text), and holds what was sent."""
    media_type, media = declared(op, response.status_code,
                                 response.headers.get("content-type", ""))
    schema = media["schema"]
    if "$ref" in schema and SPEC["components"]["schemas"][component(schema["$ref"])].get(
            "type") == "string":  # a named string (EventStream): the client reads text
        schema = SPEC["components"]["schemas"][component(schema["$ref"])]
    where = f"{op['operationId']} {response.status_code}"
    if schema.get("type") == "string":
        assert isinstance(response.parsed, str), where
        return
    names = [component(s["$ref"]) for s in schema.get("anyOf", [schema])]
    assert isinstance(response.parsed, tuple(getattr(pkg.models, n) for n in names)), where
    sent = json.loads(response.content)
    assert same_instants(response.parsed.to_dict()) == same_instants(sent), where


def same_instants(value):
    """``value`` with date-times spelt as the client's ``isoformat()`` spells them
    (``+00:00`` for the server's ``Z``): the same instant, another spelling."""
    if isinstance(value, dict):
        return {k: same_instants(v) for k, v in value.items()}
    if isinstance(value, list):
        return [same_instants(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", value):
        return value[:-1] + "+00:00"
    return value


def parse_event_stream(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def test_generation_names_every_component(client_pkg):
    """Every object and enum component is a model of the same name."""
    for name, schema in SPEC["components"]["schemas"].items():
        if schema.get("type") == "object" or "enum" in schema or "allOf" in schema:
            assert hasattr(client_pkg.models, name), f"no generated model for {name}"


@pytest.mark.parametrize("path,method,op", operations(), ids=ids(operations()))
def test_every_operation_answers_into_its_model(client_pkg, server, path, method, op):
    response = call(client_pkg, server, op)
    if not any(code.startswith("2") for code in op["responses"]):  # GET /: a 308 to /docs
        assert str(response.status_code) in op["responses"], response.status_code
        assert response.headers["location"] == "/docs"
        return
    assert 200 <= response.status_code < 300, (response.status_code, response.content[:500])
    assert_parsed(client_pkg, op, response)
    media_type, media = declared(op, response.status_code,
                                 response.headers.get("content-type", ""))
    if media_type == "text/event-stream":
        events = parse_event_stream(response.parsed)
        assert [name for name, _ in events][-1] == "done", events
        assert {name for name, _ in events[:-1]} <= {"delta"}, events
        for name, data in events:
            parsed = model(client_pkg, media["x-events"][name], data)
            assert parsed.to_dict() == data, name


SECURED = [o for o in operations() if secured(o[2])]


@pytest.mark.parametrize("path,method,op", SECURED, ids=ids(SECURED))
def test_401_without_a_token(client_pkg, server, path, method, op):
    response = call(client_pkg, server, op, token=None)
    assert response.status_code == 401, response.content[:300]
    if path.startswith("/v1/"):
        # The documented exception: /v1 answers errors in OpenAI's shape (ErrorResponse).
        assert isinstance(response.parsed, client_pkg.models.ErrorResponse)
        assert response.parsed.error.code == "UNAUTHORIZED"
        return
    assert isinstance(response.parsed, client_pkg.models.Problem)
    assert response.parsed.code == client_pkg.models.ProblemCode.UNAUTHORIZED


@pytest.mark.parametrize("path,method,op", prompt_operations(), ids=ids(prompt_operations()))
def test_413_for_a_too_long_prompt(client_pkg, server, path, method, op):
    schema, example = request_body(op)
    response = call(client_pkg, server, op, body=with_long_prompt(example, 4001))
    if response.status_code == 200:  # many prompts: the item fails alone, with its problem
        assert_parsed(client_pkg, op, response)
        problem = first_problem(response.parsed.to_dict())
        assert problem and problem["status"] == 413, response.content[:300]
        assert problem["code"] == "PROMPT_TOO_LONG"
        return
    assert response.status_code == 413, response.content[:300]
    assert isinstance(response.parsed, client_pkg.models.Problem)
    assert response.parsed.code == client_pkg.models.ProblemCode.PROMPT_TOO_LONG


def test_429_beyond_the_rate_limit(client_pkg, server):
    """A batch of more items than the token's limit allows at once: 429 with Retry-After."""
    op = SPEC["paths"]["/api/v1/webhook/batch"]["post"]
    body = {"texts": [f"text {n}" for n in range(RATE_LIMIT + 1)], "type": "keywords"}
    response = call(client_pkg, server, op, token=server["limited"], body=body)
    assert response.status_code == 429, response.content[:300]
    models = client_pkg.models
    assert isinstance(response.parsed, (models.Problem, models.BudgetProblem))
    assert response.parsed.code == client_pkg.models.ProblemCode.RATE_LIMITED
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-RateLimit-Limit"] == str(RATE_LIMIT)
