"""Processing types, each declared once: one ``ProcessingType`` record per type.

The list of types is the spec's ``ProcessingType`` enum (spec/openapi.yaml); this module adds
what a type needs beyond its name, and a type with nothing special (summary, custom) needs no
entry at all. Adding a type is adding it to the enum, and, if it answers typed ``data``, one
entry in ``_SPECIAL`` with its schema and the summary written for it::

    schema       the spec component of its ``data`` (None: plain text, ``{"text": ...}``)
    summary      data → the response's ``summary`` (the same for every provider, offline too)
    exact_text   its answers hold character offsets into the text: the cache keys the text
                 exactly as sent, and the offsets are checked against it
    offline      data from text, for the offline provider (None: it needs a language model)

One more type is internal: ``chat``, a conversation from the OpenAI-compatible API
(flaskllm/openai_wire.py). No webhook request may name it, so the enum does not list it; a
language model does it like any type with nothing special.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from flaskllm import resources

CHAT = "chat"  # a conversation from the OpenAI-compatible API: the Prompt is its messages
from flaskllm.settings import ROOT

SPEC_PATH = ROOT / "spec" / "openapi.yaml"  # the one app.py serves


def _text_of(data: Any) -> str:
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        return data["text"]
    return json.dumps(data, ensure_ascii=False)


def _keywords(data: list[dict]) -> str:
    return ", ".join(k["text"] for k in data)


def _sentiment(data: dict) -> str:
    return f"{data['label']} ({data['score'] + 0.0:+.2f})"  # + 0.0: no "-0.00"


def _entities(data: list[dict]) -> str:
    # One line for a spreadsheet cell: each distinct entity once, in order of appearance.
    return ", ".join(dict.fromkeys(f"{e['text']} ({e['type']})" for e in data))


@dataclass(frozen=True)
class ProcessingType:
    name: str
    schema: str | None = None
    summary: Callable[[Any], str] = _text_of
    exact_text: bool = False
    offline: str | None = None  # the name of its function in flaskllm/llm/offline.py

    @property
    def typed(self) -> bool:
        return self.schema is not None


def _special() -> dict[str, dict[str, Any]]:
    # The offline analyzers by name: llm/offline.py imports this module, so this one names
    # them instead of importing them (offline.py looks each up in its own namespace).
    return {
        "summary": {"offline": "summarize"},
        "keywords": {"schema": "KeywordsData", "summary": _keywords,
                     "offline": "extract_keywords"},
        "sentiment": {"schema": "SentimentData", "summary": _sentiment,
                      "offline": "analyze_sentiment"},
        "entities": {"schema": "EntitiesData", "summary": _entities, "exact_text": True,
                     "offline": "extract_entities"},
        "translation": {"schema": "TranslationData"},
    }


def spec_names(path: Path = SPEC_PATH) -> tuple[str, ...]:
    """The spec's ``ProcessingType`` enum, in its order."""
    spec = resources.yaml_file(path)
    return tuple(spec["components"]["schemas"]["ProcessingType"]["enum"])


@functools.cache
def catalog() -> dict[str, ProcessingType]:
    """Every type, by name, in the spec's order, then ``chat`` (read once per process)."""
    names = spec_names()
    special = _special()
    stray = sorted(set(special) - set(names))
    if stray:
        raise RuntimeError(f"flaskllm/llm/processing.py describes types the spec's "
                           f"ProcessingType enum does not list: {', '.join(stray)}")
    return {name: ProcessingType(name, **special.get(name, {})) for name in (*names, CHAT)}


def get(name: str) -> ProcessingType:
    """The record of a type the spec lists (requests are validated against the enum)."""
    return catalog()[name]


def names() -> tuple[str, ...]:
    """The spec's types (``chat`` is not one a request may name)."""
    return tuple(name for name in catalog() if name != CHAT)
