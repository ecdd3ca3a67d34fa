"""The one walk over the loaded OpenAPI document: every operation with its path, method,
security, parameters, request body and responses, references followed. Both things built
from the spec read it through here: the examples (flaskllm/operations/examples.py, GET
/api/v1/examples and /docs/examples) and the reference page (flaskllm/web/reference.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

METHODS = ("get", "post", "put", "patch", "delete")


def ref_name(ref: str) -> str:
    """'#/components/schemas/Prompt' → 'Prompt'."""
    return ref.rsplit("/", 1)[-1]


def resolve(spec: dict, node: Any) -> Any:
    """Follow $refs until a node that is not one (parameters and responses often are)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def first_example(media: dict | None) -> Any:
    """A media type's ``example``, else the value of its first named ``examples``; None."""
    media = media or {}
    if "example" in media:
        return media["example"]
    examples = media.get("examples") or {}
    return next((resolve({}, e).get("value") for e in examples.values()), None)


@dataclass(frozen=True)
class Operation:
    spec: dict
    path: str
    method: str  # lower case, as the spec writes it
    node: dict  # the operation object
    item: dict  # its path item (which may declare parameters for every method)

    @property
    def id(self) -> str:
        return self.node["operationId"]

    @property
    def secured(self) -> bool:
        """Whether a token is asked for (the operation's own security, else the spec's)."""
        return bool(self.node.get("security", self.spec.get("security", [])))

    def parameters(self) -> list[dict]:
        found = self.item.get("parameters", []) + self.node.get("parameters", [])
        return [resolve(self.spec, p) for p in found]

    def body(self) -> dict[str, dict]:
        """The request body's media types: {"application/json": {schema, examples…}}."""
        return resolve(self.spec, self.node.get("requestBody") or {}).get("content") or {}

    def responses(self) -> list[tuple[str, dict]]:
        """(status, response) in the spec's order, the response's $ref followed."""
        return [(str(status), resolve(self.spec, response))
                for status, response in (self.node.get("responses") or {}).items()]


def operations(spec: dict) -> Iterator[Operation]:
    """Every operation of every path, in the spec's order."""
    for path, item in (spec.get("paths") or {}).items():
        for method in METHODS:
            if item.get(method):
                yield Operation(spec, path, method, item[method], item)
