"""Typed outputs: the JSON schema of each type's ``data``, taken from the spec, and the checks
of what a model answers against it.

The schemas are never restated here: ``data_schema`` resolves the spec's component (e.g.
``KeywordsData``) into a self-contained JSON schema. Providers ask for an object ``{"data":
…}`` (OpenAI structured outputs and Anthropic tool inputs need an object at the root) built
by ``envelope``; ``unwrap`` takes the answer apart and ``check`` validates it against the very
same schema, with entity offsets checked against the prompt text.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Mapping

import jsonschema

from flaskllm.llm import processing
from flaskllm.llm.base import Result

# OpenAPI 3.0 keywords that are not JSON Schema.
_OPENAPI_ONLY = {"example", "examples", "nullable", "xml", "externalDocs", "discriminator",
                 "readOnly", "writeOnly", "deprecated"}
# What OpenAI's strict structured outputs accept; everything else is dropped from the copy
# sent there (the full schema is still enforced by ``check``).
_STRICT_KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum",
                    "const", "anyOf", "description", "minimum", "maximum", "exclusiveMinimum",
                    "exclusiveMaximum", "multipleOf", "pattern", "format", "minItems",
                    "maxItems", "$defs", "$ref"}
REPORTED_ERRORS = 3  # validation errors quoted back to the model in a repair attempt


class BadOutput(Exception):
    """The model's answer is not valid typed output. ``raw`` is what it wrote (quoted back to
    it in the repair attempt); ``result`` carries the usage of the call, when there was one."""

    def __init__(self, reason: str, raw: str, result: Result | None = None):
        super().__init__(reason)
        self.reason = reason
        self.raw = raw
        self.result = result


def data_schema(spec: Mapping[str, Any], type_: str) -> dict | None:
    """The JSON schema of ``data`` for ``type_``, from the spec; None for untyped types."""
    name = processing.get(type_).schema
    return None if name is None else component_schema(spec, name)


def component_schema(spec: Mapping[str, Any], name: str) -> dict:
    """The spec's ``components.schemas[name]`` as a self-contained JSON schema."""
    components = spec["components"]["schemas"]
    return _to_json_schema(components[name], components)


def _to_json_schema(node: Any, components: Mapping[str, Any], depth: int = 0) -> Any:
    """Inline ``#/components/schemas/…`` refs and turn OpenAPI's ``nullable`` into JSON
    Schema's type union."""
    if depth > 32:
        raise ValueError("schema nesting too deep (a recursive $ref?)")
    if isinstance(node, list):
        return [_to_json_schema(item, components, depth + 1) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = node["$ref"].rsplit("/", 1)[-1]
        return _to_json_schema(components[target], components, depth + 1)
    out = {k: _to_json_schema(v, components, depth + 1) for k, v in node.items()
           if k not in _OPENAPI_ONLY}
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def envelope(schema: Mapping[str, Any], *, strict: bool = False) -> dict:
    """``{"data": <schema>}`` as an object schema; ``strict`` makes it acceptable to OpenAI's
    strict structured outputs (every property required, no additional properties, only the
    supported keywords; optional properties become nullable)."""
    wrapped = {"type": "object", "properties": {"data": copy.deepcopy(dict(schema))},
               "required": ["data"], "additionalProperties": False}
    return _strict(wrapped) if strict else wrapped


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()
           if k in _STRICT_KEYWORDS and k not in ("properties", "$defs")}
    for key in ("properties", "$defs"):  # maps of names to schemas, not keywords
        if isinstance(node.get(key), dict):
            out[key] = {name: _strict(sub) for name, sub in node[key].items()}
    if "properties" in out:
        required = set(node.get("required", ()))
        for key, prop in out["properties"].items():
            if key not in required and isinstance(prop.get("type"), str):
                prop["type"] = [prop["type"], "null"]
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out


def unwrap(raw: str | Mapping[str, Any], schema: Mapping[str, Any],
           result: Result | None = None) -> Any:
    """``data`` from a model's ``{"data": …}`` answer (JSON text or already parsed)."""
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise BadOutput("the answer is not JSON", text, result) from None
    if not isinstance(raw, dict) or "data" not in raw:
        raise BadOutput('the answer is not an object with a "data" property', text, result)
    return _drop_nulls(raw["data"], schema)


def _drop_nulls(value: Any, schema: Mapping[str, Any]) -> Any:
    """Remove the nulls that strict mode makes models write for optional properties."""
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_drop_nulls(item, schema["items"]) for item in value]
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        required = set(schema.get("required", ()))
        props = schema["properties"]
        return {k: _drop_nulls(v, props.get(k, {})) for k, v in value.items()
                if v is not None or k in required}
    return value


def check(type_: str, data: Any, schema: Mapping[str, Any], text: str) -> Any:
    """``data`` if it matches the schema (entity offsets put right where the entity's text
    is in the prompt); raises ``BadOutput`` listing what is wrong."""
    raw = json.dumps({"data": data}, ensure_ascii=False)
    validator = jsonschema.Draft7Validator(schema)
    problems = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if problems:
        listed = "; ".join(f"{_where(e)}: {e.message[:160]}" for e in problems[:REPORTED_ERRORS])
        raise BadOutput(f"the answer does not match the schema ({listed})", raw)
    if processing.get(type_).exact_text:  # its answers hold offsets into the text
        data = _fix_offsets(data, text, raw)
    return data


def _where(error: jsonschema.ValidationError) -> str:
    return "data" + "".join(f"[{p!r}]" for p in error.absolute_path)


def _fix_offsets(entities: list[dict], text: str, raw: str) -> list[dict]:
    """Keep offsets where ``text[start:end]`` is the entity; otherwise use the occurrence of
    the entity's text nearest to the offset given (models count characters badly). An entity
    that does not occur in the text at all is invalid output."""
    used: set[tuple[int, int]] = set()
    fixed = []
    for entity in entities:
        value, start = entity["text"], entity["start"]
        if text[start:entity["end"]] != value:
            spots = [i for i in _occurrences(text, value) if (i, i + len(value)) not in used]
            if not spots:
                raise BadOutput(f"the entity {value[:80]!r} does not occur in the text", raw)
            start = min(spots, key=lambda i: abs(i - start))
        used.add((start, start + len(value)))
        fixed.append({**entity, "start": start, "end": start + len(value)})
    return sorted(fixed, key=lambda e: (e["start"], e["end"]))


def _occurrences(text: str, value: str) -> list[int]:
    found, at = [], text.find(value)
    while at != -1:
        found.append(at)
        at = text.find(value, at + 1)
    return found


def summary_of(type_: str, data: Any) -> str:
    """The response's ``summary`` text for typed data (the model wrote only JSON)."""
    return processing.get(type_).summary(data)
