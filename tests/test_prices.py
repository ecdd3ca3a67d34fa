"""Prices: the shipped table, dated model names, PRICES_FILE, exact Decimal costs, and the
null cost (never 0) plus one alert for a model without a price."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import pytest

from flaskllm.prices import BUILT_IN, Prices, micros, usd
from flaskllm.settings import Settings, SettingsError
from fakes.alerts import FakeAlerts


@pytest.fixture
def prices() -> Prices:
    return Prices.load(Settings.from_env(environ={}, env_file=None))


def test_known_models_cost_their_list_price(prices):
    # (1200 × 0.15 + 300 × 0.60) / 1e6
    assert prices.cost("gpt-4o-mini", 1200, 300) == Decimal("0.000360")
    assert prices.cost("gpt-4o", 1_000_000, 1_000_000) == Decimal("12.500000")
    assert prices.cost("claude-opus-4", 1000, 1000) == Decimal("0.090000")
    assert prices.cost("offline-1", 10_000, 10_000) == Decimal("0")


@pytest.mark.parametrize("model, row", [
    ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"),
    ("gpt-4.1-2025-04-14", "gpt-4.1"),
    ("claude-opus-4-1-20250805", "claude-opus-4-1"),
    ("claude-opus-4-20250514", "claude-opus-4"),
    ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
    ("Claude-Sonnet-4-20250514", "claude-sonnet-4"),
    ("gpt-4omega", None),  # a prefix must end at a dash: this is not gpt-4o
    ("o4", None),
])
def test_dated_names_use_the_longest_prefix(prices, model, row):
    assert prices.match(model) == row


def test_cached_input_has_its_own_price(prices):
    # 1000 input of which 800 cached: 200 × 0.15 + 800 × 0.075 + 0 output
    assert prices.cost("gpt-4o-mini", 1000, 0, cached_input_tokens=800) == Decimal("0.000090")
    # More cached than input is read as all input cached, never a negative count.
    assert prices.cost("gpt-4o-mini", 100, 0, cached_input_tokens=500) == Decimal("0.000008")


def test_rounding_is_half_up_to_the_micro_dollar(prices):
    # 50 × 0.05 / 1e6 = 0.0000025 exactly: half-up gives 3 micro-dollars (half-even: 2).
    assert prices.cost("gpt-5-nano", 50, 0) == Decimal("0.000003")
    assert prices.cost("gpt-5-nano", 10, 0) == Decimal("0.000001")  # 0.5 µ$ → 1
    assert prices.cost("gpt-5-nano", 9, 0) == Decimal("0.000000")  # 0.45 µ$ → 0


def test_many_small_costs_add_up_exactly(prices):
    total = sum(prices.cost("gpt-4.1-mini", 333, 77) for _ in range(10_000))
    # each: (333 × 0.40 + 77 × 1.60) / 1e6 = 0.0002564 → 0.000256
    assert total == Decimal("2.560000")
    assert micros(total) == 2_560_000 and usd(2_560_000) == total


def test_unpriced_model_is_null_with_one_warning_and_one_alert(caplog):
    alerts = FakeAlerts()
    prices = Prices.load(Settings.from_env(environ={}, env_file=None), alerts=alerts)
    with caplog.at_level(logging.WARNING, logger="flaskllm.prices"):
        assert prices.cost("my-own-model", 10, 10) is None
        assert prices.cost("my-own-model", 20, 20) is None
    assert len([r for r in caplog.records if "my-own-model" in r.getMessage()]) == 1
    assert [(kind, key) for kind, key, *_ in alerts.fired] == [("unpriced_model", "my-own-model")]


def test_prices_file_adds_and_overrides(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"models": {
        "llama3.2": {"input": 0, "output": 0},
        "gpt-4o-mini": {"input": "0.10", "output": 0.50},
    }}))
    settings = Settings.from_env(environ={"PRICES_FILE": str(path)}, env_file=None)
    prices = Prices.load(settings)
    assert prices.cost("llama3.2", 1000, 1000) == Decimal("0")
    assert prices.cost("gpt-4o-mini", 1_000_000, 0) == Decimal("0.100000")
    assert prices.cost("gpt-4o-mini", 1000, 0, 1000) == Decimal("0.000100")  # no cached row
    assert prices.cost("gpt-4o", 1_000_000, 0) == Decimal("2.500000")  # built-in row kept


@pytest.mark.parametrize("content", [
    "not json",
    json.dumps({"rows": {}}),
    json.dumps({"models": {"m": {"input": 1}}}),
    json.dumps({"models": {"m": {"input": -1, "output": 1}}}),
    json.dumps({"models": {"m": {"input": "cheap", "output": 1}}}),
])
def test_a_bad_prices_file_names_itself(tmp_path, content):
    path = tmp_path / "prices.json"
    path.write_text(content)
    with pytest.raises(SettingsError, match="PRICES_FILE"):
        Prices.load(Settings.from_env(environ={"PRICES_FILE": str(path)}, env_file=None))


def test_a_missing_prices_file_is_refused_at_start():
    with pytest.raises(SettingsError, match="PRICES_FILE"):
        Settings.from_env(environ={"PRICES_FILE": "/nonexistent/prices.json"}, env_file=None)


def test_the_shipped_table_prices_the_default_models(prices):
    defaults = Settings()
    for model in (defaults.openai_model, defaults.anthropic_model, "offline-1"):
        assert prices.lookup(model) is not None, model
    assert json.loads(BUILT_IN.read_text())["models"]["gpt-4o-mini"]["cached_input"] == 0.075
