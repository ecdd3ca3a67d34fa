"""What a call cost: the price table and ``cost()``, exact to the micro-dollar.

    prices.cost("gpt-4o-mini-2024-07-18", input_tokens=1200, output_tokens=300)
        → Decimal("0.000360")       (1200 × 0.15 + 300 × 0.60) / 1e6
    prices.cost("my-own-model", 10, 10) → None, a warning and an ``unpriced_model`` alert

The table is flaskllm/data/prices.json (USD per million tokens: input, output and, where the
provider has it, cached_input); PRICES_FILE, in the same format, adds rows or replaces them.
A dated or suffixed model name uses the row with the longest prefix that ends at a ``-``, so
``claude-opus-4-1-20250805`` is ``claude-opus-4-1`` and not ``claude-opus-4``.

Costs are Decimals rounded half-up to 6 places: a float would drift when thousands of records
are added up, and a budget check compares sums.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from flaskllm.settings import Settings, SettingsError

if TYPE_CHECKING:
    from flaskllm.alerts import Alerter

log = logging.getLogger("flaskllm.prices")

BUILT_IN = Path(__file__).resolve().parent / "data" / "prices.json"
MICRO = Decimal("0.000001")
PER = Decimal(1_000_000)  # prices are per million tokens
MAX_REMEMBERED = 1000  # model names whose lookup is remembered


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None  # None: cached input costs the same as input


class Prices:
    def __init__(self, table: Mapping[str, Price], *, alerts: "Alerter | None" = None):
        self.table = {name.lower(): price for name, price in table.items()}
        # Longest first, so the first prefix that matches is the most specific row.
        self._names = sorted(self.table, key=len, reverse=True)
        self._matches: dict[str, str | None] = {}
        self._warned: set[str] = set()
        self.alerts = alerts

    @classmethod
    def load(cls, settings: Settings, *, alerts: "Alerter | None" = None) -> "Prices":
        table = read_table(BUILT_IN, "the built-in price table")
        if settings.prices_file:
            table.update(read_table(Path(settings.prices_file), "PRICES_FILE"))
        return cls(table, alerts=alerts)

    def lookup(self, model: str) -> Price | None:
        name = self.match(model)
        return None if name is None else self.table[name]

    def match(self, model: str) -> str | None:
        """The table row that prices ``model``, or None."""
        wanted = model.strip().lower()
        if wanted in self._matches:
            return self._matches[wanted]
        found = next((name for name in self._names if wanted == name
                      or wanted.startswith(name + "-")), None)
        if len(self._matches) >= MAX_REMEMBERED:
            self._matches.clear()
        self._matches[wanted] = found
        return found

    def cost(self, model: str, input_tokens: int, output_tokens: int,
             cached_input_tokens: int = 0) -> Decimal | None:
        """USD for one call, or None when the model has no price (never 0: unknown is not free).

        ``input_tokens`` counts every input token, the ``cached_input_tokens`` among them
        included (OpenAI's convention; the anthropic provider adds its cache reads in)."""
        price = self.lookup(model)
        if price is None:
            self._unpriced(model)
            return None
        cached = min(max(cached_input_tokens, 0), input_tokens)
        cached_price = price.input if price.cached_input is None else price.cached_input
        total = ((input_tokens - cached) * price.input + cached * cached_price
                 + output_tokens * price.output)
        return (total / PER).quantize(MICRO, rounding=ROUND_HALF_UP)

    def _unpriced(self, model: str) -> None:
        # Warn and alert once per model and process; the alert deduplicates across calls too.
        if model in self._warned:
            return
        self._warned.add(model)
        message = (f"The model {model!r} has no price: its usage is recorded with cost null "
                   f"and does not count against USD budgets. Add it to PRICES_FILE.")
        log.warning(message)
        if self.alerts is not None:
            self.alerts.fire("unpriced_model", model, message, model=model)


def micros(usd: Decimal | None) -> int | None:
    """Whole micro-dollars, as the database stores money."""
    return None if usd is None else int(usd.quantize(MICRO, rounding=ROUND_HALF_UP) * PER)


def usd(micro_dollars: int | None) -> Decimal | None:
    return None if micro_dollars is None else (Decimal(micro_dollars) / PER).quantize(MICRO)


def read_table(path: Path, label: str) -> dict[str, Price]:
    """The rows of one price file; a bad file raises SettingsError naming it."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal,
                         parse_int=Decimal)
        rows = raw["models"]
        if not isinstance(rows, dict):
            raise TypeError("`models` must be an object of model → prices")
        return {name: _price(name, row) for name, row in rows.items()}
    except (OSError, ValueError, KeyError, TypeError, InvalidOperation) as exc:
        raise SettingsError(f"{label} ({path}): {type(exc).__name__}: {exc}; expected "
                            '{"models": {"name": {"input": 0.15, "output": 0.6}}}') from exc


def _price(name: str, row: Any) -> Price:
    if not isinstance(row, dict) or not {"input", "output"} <= row.keys():
        raise ValueError(f"{name}: needs input and output prices")
    values = {}
    for field in ("input", "output", "cached_input"):
        if field in row:
            value = Decimal(row[field])
            if not value.is_finite() or value < 0:
                raise ValueError(f"{name}: {field} must be a number of at least 0")
            values[field] = value
    return Price(**values)
