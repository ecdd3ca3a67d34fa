"""Settings: parsed once, bad values named, production refuses unsafe values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flaskllm.settings import FIELDS, Settings, SettingsError


def test_defaults_run_offline_on_sqlite():
    settings = Settings.from_env(environ={}, env_file=None)
    assert settings.llm_provider == "offline"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.max_prompt_length == 4000


def test_seed_variable_names_work():
    settings = Settings.from_env(environ={
        "ENVIRONMENT": "development", "DEBUG": "true", "API_TOKEN": "t" * 10,
        "ALLOWED_ORIGINS": "https://a.example, https://b.example", "LLM_PROVIDER": "offline",
        "OPENAI_API_KEY": "sk-test", "OPENAI_MODEL": "gpt-4o-mini", "REQUEST_TIMEOUT": "12.5",
        "MAX_PROMPT_LENGTH": "8000", "RATE_LIMIT_ENABLED": "false", "RATE_LIMIT": "100",
    }, env_file=None)
    assert settings.debug is True
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.request_timeout == 12.5
    assert settings.max_prompt_length == 8000
    assert settings.rate_limit_enabled is False


@pytest.mark.parametrize("name, value", [
    ("MAX_PROMPT_LENGTH", "lots"), ("MAX_PROMPT_LENGTH", "0"), ("REQUEST_TIMEOUT", "-1"),
    ("DEBUG", "maybe"), ("ENVIRONMENT", "staging"),
])
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(environ={name: value}, env_file=None)


def test_secret_values_are_not_echoed():
    with pytest.raises(SettingsError) as info:
        Settings.from_env(environ={"ENVIRONMENT": "production", "API_TOKEN": "short-secret"},
                          env_file=None)
    assert "short-secret" not in str(info.value)
    assert "short-secret" not in repr(Settings(api_token="short-secret"))


@pytest.mark.parametrize("environ, message", [
    ({"DEBUG": "true", "API_TOKEN": "x" * 40}, "DEBUG"),
    ({}, "API_TOKEN"),
    ({"API_TOKEN": "x" * 31}, "API_TOKEN"),
])
def test_production_refuses_unsafe_settings(environ, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(environ={"ENVIRONMENT": "production", **environ}, env_file=None)


def test_production_accepts_safe_settings():
    settings = Settings.from_env(environ={"ENVIRONMENT": "production", "API_TOKEN": "x" * 32},
                                 env_file=None)
    assert settings.production


def test_dotenv_file_is_read_and_environment_wins(tmp_path):
    env = tmp_path / ".env"
    env.write_text("MAX_PROMPT_LENGTH=1234\nREQUEST_TIMEOUT=9\n")
    settings = Settings.from_env(environ={"REQUEST_TIMEOUT": "7"}, env_file=env)
    assert settings.max_prompt_length == 1234 and settings.request_timeout == 7


def test_readme_lists_every_setting():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", readme, re.MULTILINE))
    assert {f.env for f in FIELDS} <= documented
