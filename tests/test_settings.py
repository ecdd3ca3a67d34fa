"""Settings: parsed once, bad values named, production refuses unsafe values."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from flaskllm import cli, settings as settings_module
from flaskllm.settings import FIELDS, Field, Settings, SettingsError


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


def test_readme_settings_table_is_generated_from_the_fields():
    """The table is FIELDS rendered (flaskllm settings --markdown --write-readme fixes it)."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert settings_module.with_table(readme) == readme, \
        "README.md's settings table is stale: run `flaskllm settings --markdown --write-readme`"
    documented = re.findall(r"^\| `([A-Z0-9_]+)` \|", readme.split(settings_module.TABLE_START)[1],
                            re.MULTILINE)
    assert documented[:len(FIELDS)] == [f.env for f in FIELDS]


def test_a_stale_table_is_rewritten():
    fresh = settings_module.with_table(
        f"# x\n{settings_module.TABLE_START}\n| `OLD` | — | gone |\n{settings_module.TABLE_END}\nend\n")
    assert "`OLD`" not in fresh and "| `REQUEST_TIMEOUT` | `30.0` |" in fresh
    assert fresh.endswith(f"{settings_module.TABLE_END}\nend\n")
    with pytest.raises(ValueError, match="markers"):
        settings_module.with_table("no table here")


def test_settings_are_derived_from_the_fields():
    """One attribute per row, of the parser's type, with the row's default; nothing else."""
    attributes = {f.name: f for f in dataclasses.fields(Settings)}
    assert set(attributes) == {f.name for f in FIELDS} | {"server_keys"}
    defaults = Settings.from_env(environ={}, env_file=None)
    for row in FIELDS:
        assert attributes[row.name].type == row.type
        # Unset, these two are derived: the instance folder and the SQLite file in it.
        if row.env not in ("DATABASE_URL", "INSTANCE_PATH"):
            assert getattr(defaults, row.name) == row.default
    assert attributes["max_prompt_length"].type is int


def test_a_row_is_four_positional_values_and_keyword_options():
    row = Field("SOME_KEY", str.strip, "", "A key", secret=True)
    assert (row.env, row.default, row.help, row.secret, row.name) == (
        "SOME_KEY", "", "A key", True, "some_key")
    assert Field("OTHER", str.strip, "x", "help", name="other_name").name == "other_name"
    with pytest.raises(TypeError):
        Field("SOME_KEY", str.strip, "", "A key", True)  # options are keywords only


def test_shown_settings_mask_secrets_and_url_passwords():
    settings = Settings.from_env(environ={
        "API_TOKEN": "tok-secret-1", "OPENAI_API_KEY": "sk-secret-2",
        "REDIS_URL": "redis://user:pw-secret-3@127.0.0.1:6379/0",
        "DATABASE_URL": "postgresql+psycopg://app:pw-secret-4@db/flaskllm",
        "LLM_SERVERS": "name=groq,base_url=https://api.groq.com/openai/v1,model=m,models=a|b",
    }, env_file=None)
    shown = settings.shown()
    text = repr(settings) + str(shown)
    for secret in ("tok-secret-1", "sk-secret-2", "pw-secret-3", "pw-secret-4"):
        assert secret not in text
    assert shown["API_TOKEN"] == "(set, hidden)" and shown["ANTHROPIC_API_KEY"] == ""
    assert shown["REDIS_URL"] == "redis://user:***@127.0.0.1:6379/0"
    assert shown["LLM_SERVERS"] == "name=groq,base_url=https://api.groq.com/openai/v1,model=m,models=a|b"
    assert shown["ALLOWED_ORIGINS"] == "*" and shown["RATE_LIMIT_ENABLED"] == "true"
    with pytest.raises(SettingsError) as info:
        Settings.from_env(environ={"REDIS_URL": "http://u:pw-secret-5@h"}, env_file=None)
    assert "pw-secret-5" not in str(info.value)


def test_the_commands_show_settings_masked(tmp_path, monkeypatch, capsys):
    for row in FIELDS:
        monkeypatch.delenv(row.env, raising=False)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("API_TOKEN", "tok-secret-" + "x" * 30)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'c.db'}")
    monkeypatch.setenv("MAX_PROMPT_LENGTH", "1234")
    assert cli.main(["settings"]) == 0
    listed = capsys.readouterr().out
    assert "API_TOKEN=(set, hidden)\n" in listed and "MAX_PROMPT_LENGTH=1234\n" in listed
    assert cli.main(["check"]) == 0
    checked = capsys.readouterr().out
    assert checked.startswith("ok:") and "  API_TOKEN=(set, hidden)\n" in checked
    assert "  MAX_PROMPT_LENGTH=1234\n" in checked and "REQUEST_TIMEOUT" not in checked
    assert "tok-secret" not in listed + checked
    assert cli.main(["settings", "--markdown"]) == 0
    assert capsys.readouterr().out == settings_module.markdown_table()
