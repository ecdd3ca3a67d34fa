"""The spec walker (flaskllm/openapi.py): one walk, references followed, shared by the examples
and the reference page, so both list the same operations with the same security."""

from __future__ import annotations

from flaskllm import openapi
from flaskllm.operations import examples
from flaskllm.web import reference

SPEC = {
    "security": [{"ApiKey": []}],
    "components": {
        "parameters": {"Since": {"name": "since", "in": "query", "schema": {"type": "string"}}},
        "responses": {"Problem": {"description": "a problem", "content": {
            "application/problem+json": {"example": {"code": "BAD_REQUEST"}}}}},
        "requestBodies": {"Prompt": {"content": {"application/json": {
            "examples": {"one": {"summary": "One", "value": {"prompt": "hi"}}}}}}},
    },
    "paths": {
        "/things": {
            "parameters": [{"$ref": "#/components/parameters/Since"}],
            "get": {"operationId": "things.search", "security": [], "responses": {
                "200": {"description": "ok", "content": {"application/json": {
                    "example": {"things": []}}}},
                "400": {"$ref": "#/components/responses/Problem"}}},
            "post": {"operationId": "things.create",
                     "requestBody": {"$ref": "#/components/requestBodies/Prompt"},
                     "responses": {"200": {"description": "ok", "content": {"application/json": {
                         "examples": {"one": {"value": {"summary": "hi"}}}}}}}},
        },
    },
}


def test_every_operation_with_references_followed():
    ops = {op.id: op for op in openapi.operations(SPEC)}
    assert list(ops) == ["things.search", "things.create"]
    search, create = ops["things.search"], ops["things.create"]
    assert (search.method, search.path) == ("get", "/things")
    assert not search.secured and create.secured  # its own `security: []`, else the spec's
    assert [p["name"] for p in search.parameters()] == ["since"]  # the path item's, resolved
    assert dict(search.responses())["400"]["description"] == "a problem"
    assert create.body()["application/json"]["examples"]["one"]["value"] == {"prompt": "hi"}
    assert openapi.first_example(create.body()["application/json"]) == {"prompt": "hi"}
    assert openapi.first_example({}) is None


def test_examples_and_reference_walk_the_same_operations(app):
    spec = app.state.spec
    walked = [(op.id, op.method.upper(), op.path, op.secured) for op in openapi.operations(spec)]
    listed = [(o["id"], o["method"], o["path"], o["secured"]) for o in reference.operations(spec)]
    assert listed == walked
    secured = {op.id: op.secured for op in openapi.operations(spec)}
    for example in examples.build(spec):
        # A token in X-API-Token, or as a bearer token on the OpenAI-compatible /v1 operations.
        sends_token = "X-API-Token" in example["curl"] or "Bearer $FLASKLLM_TOKEN" in example["curl"]
        assert sends_token is secured[example["operation_id"]]


def test_the_small_spec_renders_in_both():
    (search, create) = reference.operations(SPEC)
    assert search["parameters"][0]["name"] == "since"
    assert search["responses"][1]["media"][0]["example"] == '{\n  "code": "BAD_REQUEST"\n}'
    built = list(examples.build(SPEC))
    assert [(e["operation_id"], e["name"]) for e in built] == [
        ("things.search", "default"), ("things.create", "one")]
    assert built[0]["response"] == {"things": []}
    assert built[1]["request"] == {"prompt": "hi"} and built[1]["response"] == {"summary": "hi"}
