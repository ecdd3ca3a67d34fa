"""The API reference as data for templates/reference.html, built from the loaded spec (the copy
this server serves, with its own limits), so the page cannot drift from the contract. The spec
is walked by flaskllm/openapi.py; this module only says how each part reads on the page."""

from __future__ import annotations

import json

from flaskllm.openapi import first_example, operations as walk, ref_name


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
    value = first_example(media)
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def operations(spec: dict) -> list[dict]:
    found = []
    for op in walk(spec):
        responses = []
        for status, response in op.responses():
            content = response.get("content") or {}
            responses.append({
                "status": status,
                "description": response.get("description", ""),
                "media": [{"type": media_type, "schema": type_of(media.get("schema")),
                           "example": _example(media)} for media_type, media in content.items()],
                "headers": sorted((response.get("headers") or {}).keys()),
            })
        found.append({
            "id": op.id,
            "anchor": op.id.replace(".", "-"),
            "method": op.method.upper(),
            "path": op.path,
            "summary": op.node.get("summary", ""),
            "description": op.node.get("description", ""),
            "tags": op.node.get("tags", []),
            "secured": op.secured,
            "parameters": [{"name": p["name"], "in": p["in"], "required": p.get("required", False),
                            "type": type_of(p.get("schema")), "description": p.get("description", ""),
                            "constraints": constraints(p.get("schema") or {})}
                           for p in op.parameters()],
            "body": [{"type": media_type, "schema": type_of(media.get("schema")),
                      "example": _example(media)} for media_type, media in op.body().items()],
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
