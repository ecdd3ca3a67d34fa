"""The spec as tests read it: its operations, examples and references, for the tests that go
over every operation (test_contract.py, test_generated_client.py, test_schemathesis.py)."""

from __future__ import annotations

import json

import pytest
import yaml

from flaskllm.app import SPEC_PATH

SPEC = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
METHODS = ("get", "put", "post", "patch", "delete")


def walk(node, path=()):
    """Every (path, node) of a JSON document, depth first."""
    yield path, node
    children = node.items() if isinstance(node, dict) else (
        enumerate(node) if isinstance(node, list) else ())
    for key, value in list(children):
        yield from walk(value, (*path, key))


def resolve(ref: str) -> dict:
    node = SPEC
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def operations() -> list[tuple[str, str, dict]]:
    return [(path, method, op) for path, item in SPEC["paths"].items()
            for method, op in item.items() if method in METHODS]


def ids(found) -> list[str]:
    return [op["operationId"] for _, _, op in found]


def secured(op: dict) -> bool:
    return bool(op.get("security", SPEC.get("security", [])))


def token_header(op: dict, token: str) -> dict[str, str]:
    """How ``op`` takes a token: as a bearer token where that is its only scheme (the
    OpenAI-compatible /v1 operations), else in X-API-Token."""
    schemes = [name for requirement in op.get("security", SPEC.get("security", []))
               for name in requirement]
    if schemes == ["BearerAuth"]:
        return {"Authorization": f"Bearer {token}"}
    return {"X-API-Token": token}


def first_example(media: dict):
    if "example" in media:
        return media["example"]
    return next(iter(media.get("examples", {}).values()), {}).get("value")


def first_request(op: dict):
    """The operation's first JSON request example, or None without a body."""
    media = (op.get("requestBody") or {}).get("content", {}).get("application/json")
    return None if media is None else first_example(media)


def parameter_example(param: dict, where: str):
    """A parameter (resolved) and its example. A parameter ``where`` must be filled in (path,
    or required) without one makes the test skip: add an example to the spec."""
    if "$ref" in param:
        param = resolve(param["$ref"])
    example = param.get("example", param.get("schema", {}).get("example"))
    needed = param["in"] == "path" if where == "path" else param.get("required", False)
    if example is None and needed:
        pytest.skip(f"{where} parameter {param['name']} has no example")
    return param, example


def with_long_prompt(example, length: int):
    """The example with its prompt (or first text, or first item's prompt) ``length`` long;
    None when it carries no prompt."""
    if not isinstance(example, dict) or not {"prompt", "texts", "items"} & set(example):
        return None
    body = json.loads(json.dumps(example))
    if "prompt" in body:
        body["prompt"] = "x" * length
    elif "texts" in body:
        body["texts"][0] = "x" * length
    else:
        body["items"][0]["prompt"] = "x" * length
    return body


def prompt_operations() -> list[tuple[str, str, dict]]:
    """The operations whose first request example carries a prompt."""
    return [(path, method, op) for path, method, op in operations()
            if with_long_prompt(first_request(op), 1) is not None]


def first_problem(body) -> dict | None:
    """The first problem object inside a many-prompt answer (an item that failed alone)."""
    return next((node for _, node in walk(body)
                 if isinstance(node, dict) and "code" in node and "status" in node), None)
