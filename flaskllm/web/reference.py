"""The API reference as data for templates/reference.html, built from the loaded spec (the copy
this server serves, with its own limits), so the page cannot drift from the contract."""

from __future__ import annotations

import json
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")


def ref_name(ref: str) -> str:
    """'#/components/schemas/Prompt' → 'Prompt'."""
    return ref.rsplit("/", 1)[-1]


def resolve(spec: dict, node: dict) -> dict:
    """Follow one $ref (parameters and responses are often references)."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def type_of(schema: dict | None) -> str:
    """A short, readable type: `Prompt`, `array of KeywordsItem`, `string (summary | keywords)`."""
    if not schema:
        return "any"
    if "$ref" in schema:
        return ref_name(schema["$ref"])
    for combinator, word in (("oneOf", " or "), ("anyOf", " or "), ("allOf", " and ")):
        if combinator in schema:
            return word.join(type_of(s) for s in schema[combinator])
    kind = schema.get("type", "any")
    if kind == "array":
        text = f"array of {type_of(schema.get('items'))}"
    elif "enum" in schema:
        text = f"{kind} ({' | '.join(str(v) for v in schema['enum'])})"
    else:
        text = kind
    if schema.get("nullable"):
        text += " or null"
    return text


def constraints(schema: dict) -> str:
    """minLength, maximum, pattern… as one line."""
    keys = ("minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems",
            "maxProperties", "pattern", "default")
    return ", ".join(f"{k} {schema[k]}" for k in keys if k in schema)


def properties(schema: dict) -> list[dict]:
    required = set(schema.get("required", []))
    return [{"name": name, "type": type_of(prop), "required": name in required,
             "description": prop.get("description", ""), "constraints": constraints(prop)}
            for name, prop in (schema.get("properties") or {}).items()]


def _example(media: dict) -> str | None:
    if "example" in media:
        value = media["example"]
    elif media.get("examples"):
        value = next(iter(media["examples"].values())).get("value")
    else:
        return None
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def operations(spec: dict) -> list[dict]:
    default_security = spec.get("security", [])
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            params = [resolve(spec, p) for p in item.get("parameters", []) + op.get("parameters", [])]
            body = resolve(spec, op.get("requestBody") or {})
            responses = []
            for status, response in op.get("responses", {}).items():
                response = resolve(spec, response)
                content = response.get("content") or {}
                responses.append({
                    "status": str(status),
                    "description": response.get("description", ""),
                    "media": [{"type": media_type, "schema": type_of(media.get("schema")),
                               "example": _example(media)} for media_type, media in content.items()],
                    "headers": sorted((response.get("headers") or {}).keys()),
                })
            found.append({
                "id": op["operationId"],
                "anchor": op["operationId"].replace(".", "-"),
                "method": method.upper(),
                "path": path,
                "summary": op.get("summary", ""),
                "description": op.get("description", ""),
                "tags": op.get("tags", []),
                "secured": bool(op.get("security", default_security)),
                "parameters": [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                                "type": type_of(p.get("schema")), "description": p.get("description", ""),
                                "constraints": constraints(p.get("schema") or {})} for p in params],
                "body": [{"type": media_type, "schema": type_of(media.get("schema")),
                          "example": _example(media)}
                         for media_type, media in (body.get("content") or {}).items()],
                "responses": responses,
            })
    return found


def schemas(spec: dict) -> list[dict]:
    return [{"name": name, "type": type_of(schema) if "properties" not in schema else "object",
             "description": schema.get("description", ""), "properties": properties(schema),
             "variants": [type_of(s) for s in schema.get("oneOf", schema.get("anyOf", []))],
             "items": type_of(schema["items"]) if schema.get("type") == "array" else None,
             "constraints": constraints(schema)}
            for name, schema in spec.get("components", {}).get("schemas", {}).items()]
