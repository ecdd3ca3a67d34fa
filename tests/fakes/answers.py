"""What the fake models answer: plausible, valid output derived from the request itself.

The fakes read the user's text from between the ``<text>`` tags that FlaskLLM's templates put
around it, and recognise the kind of answer wanted from the JSON schema the request carries
(the property names), so they answer any type the way a well-behaved model would.
"""

from __future__ import annotations

import json
import re
from typing import Any

TEXT = re.compile(r"<text>\n(.*)\n</text>", re.S)
SCHEMA = re.compile(r"<schema>\n?(.*?)\n?</schema>", re.S)
WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
ENTITY = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|\b[A-Z][a-z]+(?: [A-Z][a-z]+)+|\b[A-Z][a-z]{2,}\b")
LANGUAGE = re.compile(r"Target language: ([a-z]{2})")


def user_text(message: str) -> str:
    match = TEXT.search(message)
    return match.group(1) if match else message


def schema_in(message: str) -> dict | None:
    match = SCHEMA.search(message)
    return json.loads(match.group(1)) if match else None


def kind(schema: dict | None) -> str:
    """summary (plain text), keywords, sentiment, entities or translation."""
    if not schema:
        return "text"
    data = schema.get("properties", {}).get("data", schema)
    props = data.get("items", data).get("properties", {})
    if "start" in props:
        return "entities"
    if "label" in props:
        return "sentiment"
    if "target_language" in props:
        return "translation"
    if "score" in props:
        return "keywords"
    return "text"


def data_for(what: str, text: str, system: str = "") -> Any:
    if what == "keywords":
        words = sorted(set(WORD.findall(text)), key=lambda w: (-len(w), w))[:3] or ["text"]
        return [{"text": w, "score": round(0.9 - i * 0.1, 2)} for i, w in enumerate(words)]
    if what == "sentiment":
        negative = any(w in text.lower() for w in ("hate", "awful", "bad", "broken"))
        return {"label": "negative", "score": -0.7} if negative else {"label": "positive",
                                                                      "score": 0.8}
    if what == "entities":
        found = []
        for match in ENTITY.finditer(text):
            value = match.group(0)
            label = "EMAIL" if "@" in value else "PERSON" if " " in value else "OTHER"
            found.append({"text": value, "type": label, "start": match.start(),
                          "end": match.end()})
        return found
    if what == "translation":
        target = LANGUAGE.search(system)
        return {"text": f"[translated] {text}", "source_language": "en",
                "target_language": target.group(1) if target else "en"}
    return None


def plain(text: str) -> str:
    """A 'summary': the fake echoes the text, so tests can see exactly what reached it."""
    return f"Summary: {text}"


def usage_for(messages: list[str], answer: str) -> tuple[int, int]:
    """Token counts the fake reports: words in, words out (deterministic, so tests can check)."""
    return sum(len(m.split()) for m in messages), max(1, len(answer.split()))
