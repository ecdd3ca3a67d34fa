"""What an item would cost before it runs: its input tokens, the output its type usually
writes, and the USD range that makes from the price table.

    count = input_tokens("gpt-4o-mini", prompt_text)   → Count(tokens=412, tokenizer="estimate")
    guess = output_tokens("summary", text_tokens=300)  → (40, 250)
    low, high = cost_range(app.prices, model, 412, guess)     Decimal | None each

Input tokens: the provider's own tokenizer where one is installed (``tiktoken``, which knows
OpenAI's model names) and its encoding can be loaded; else the documented rule of thumb of
CHARS_PER_TOKEN characters a token. tiktoken downloads an encoding on first use, so without
a network and without TIKTOKEN_CACHE_DIR holding the file it cannot load one: that is logged
once per encoding and the estimate is used. tiktoken is not a dependency of FlaskLLM.

Output tokens: the range a type's answer usually takes (OUTPUT_GUESS), capped at what a task
may write (MAX_OUTPUT_TOKENS). The cost range is priced from those two ends.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flaskllm.llm.base import MAX_OUTPUT_TOKENS

log = logging.getLogger("flaskllm.estimate")

# OpenAI: "one token generally corresponds to ~4 characters of text for common English
# text" (help.openai.com, "What are tokens and how to count them?"). Anthropic documents a
# similar ratio. Budgets hold more (flaskllm/usage/budgets.py CHARS_PER_TOKEN = 2): a hold
# must not be short, an estimate should be close.
CHARS_PER_TOKEN = 4


@dataclass(frozen=True)
class OutputGuess:
    """Output tokens an answer of a type takes: ``low``..``high``, plus ``per_input`` times
    the text's tokens for types that rewrite the whole text (translation)."""

    low: int
    high: int
    per_input_low: float = 0.0
    per_input_high: float = 0.0


# From the built-in templates' instructions: one to three sentences (summary), up to ten
# keywords with scores, one label and score, every entity with offsets, the whole text again.
OUTPUT_GUESS: dict[str, OutputGuess] = {
    "summary": OutputGuess(40, 250),
    "keywords": OutputGuess(30, 200),
    "sentiment": OutputGuess(10, 40),
    "entities": OutputGuess(20, 400),
    "translation": OutputGuess(10, 40, per_input_low=1.0, per_input_high=2.0),
    "custom": OutputGuess(20, MAX_OUTPUT_TOKENS),
}


@dataclass(frozen=True)
class Count:
    tokens: int
    tokenizer: str  # "tiktoken" or "estimate"


def input_tokens(model: str, text: str) -> Count:
    encoding = _encoding(model)
    if encoding is not None:
        return Count(len(encoding.encode(text, disallowed_special=())), "tiktoken")
    return Count(estimated_tokens(text), "estimate")


def estimated_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


@functools.lru_cache(maxsize=64)
def _encoding(model: str) -> Any:
    """tiktoken's encoding for ``model``, or None: tiktoken missing, a model it does not know
    (any non-OpenAI model), or an encoding file it cannot load (no network, no cache)."""
    try:
        import tiktoken
    except ImportError:
        return None
    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        return None
    return _load(name)


@functools.lru_cache(maxsize=8)
def _load(name: str) -> Any:
    import tiktoken

    try:
        return tiktoken.get_encoding(name)
    except Exception as exc:  # tiktoken raises requests' and OSError's errors, and ValueError
        log.warning("tiktoken cannot load the %s encoding (%s: %s); input tokens are "
                    "estimated at %d characters a token. Set TIKTOKEN_CACHE_DIR to a folder "
                    "holding the file to count exactly.", name, type(exc).__name__, exc,
                    CHARS_PER_TOKEN)
        return None


def output_tokens(type_: str, text_tokens: int) -> tuple[int, int]:
    guess = OUTPUT_GUESS[type_]
    low = guess.low + round(guess.per_input_low * text_tokens)
    high = guess.high + round(guess.per_input_high * text_tokens)
    return min(low, MAX_OUTPUT_TOKENS), min(high, MAX_OUTPUT_TOKENS)


def cost_range(prices: Any, model: str, input_count: int,
               output: tuple[int, int]) -> tuple[Decimal | None, Decimal | None]:
    """USD for the low and the high output guess; (None, None) for a model without a price."""
    return (prices.cost(model, input_count, output[0]),
            prices.cost(model, input_count, output[1]))


def usd(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
