"""One typed settings object, read once from the environment and a `.env` file.

Every setting is declared once, as one row of ``FIELDS``: ``Field(env, parse, default, help)``
plus keyword options (``secret=True``: never shown, only "set" or not; ``name=``: the attribute,
by default the variable in lower case); the parsers are flaskllm/setting_values.py's.
Everything else is derived from those rows: the ``Settings`` class (one typed, frozen
attribute per row), reading the environment, the masked display (``flaskllm settings``,
``flaskllm check``, error messages) and the README's settings table (``flaskllm settings
--markdown``; tests/test_settings.py fails when it is stale).
Nothing else in FlaskLLM reads the environment.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from dotenv import dotenv_values

from flaskllm import servers as _servers
# The parsers the rows name; SettingsError stays importable from here, where most modules
# already take Settings.
from flaskllm.setting_values import (
    SettingsError, aliases, boolean, choice, comma_list, header_key, non_negative_int,
    parse_limits, parse_networks, positive_float, positive_int, stripped)

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Field:
    """One setting. The positional four are the row; the options after them are keywords."""

    env: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    _: KW_ONLY
    secret: bool = False  # never shown: displays say only whether it is set
    name: str = ""  # the Settings attribute; "" means env.lower()

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.env.lower())

    @property
    def type(self) -> Any:
        """The attribute's type: what the parser returns (Any for a parser without hints)."""
        try:
            return typing.get_type_hints(self.parse).get("return", Any)
        except (NameError, TypeError):
            return Any

    def shown(self, value: Any) -> str:
        """The value as a person may see it: secrets masked, URL passwords hidden."""
        if self.secret:
            return "(set, hidden)" if value not in ("", None) else ""
        return _PASSWORD_IN_URL.sub(r"\1***@", env_text(value))


FIELDS: tuple[Field, ...] = (
    Field("ENVIRONMENT", choice("development", "production", "test"), "development",
          "development, production or test; production refuses unsafe settings"),
    Field("DEBUG", boolean, False, "Verbose errors in logs; refused in production"),
    Field("API_TOKEN", stripped, "", "A token from the environment, with admin scope; "
          "at least 32 characters in production", secret=True),
    Field("ALLOWED_ORIGINS", comma_list, ("*",), "Comma-separated CORS origins (`*` for any)"),
    Field("LLM_PROVIDER", stripped, "offline", "The default provider: offline, openai, anthropic, "
          "or the name of a server in LLM_SERVERS"),
    Field("OPENAI_API_KEY", stripped, "", "Key for the openai provider", secret=True),
    Field("OPENAI_MODEL", stripped, "gpt-4.1-mini", "Model for the openai provider"),
    Field("OPENAI_MODELS", comma_list, (), "Other models a request may choose for openai, "
          "comma-separated (OPENAI_MODEL is always allowed)"),
    Field("OPENAI_BASE_URL", stripped, "", "Base URL for the openai provider (default: OpenAI's)"),
    Field("ANTHROPIC_API_KEY", stripped, "", "Key for the anthropic provider", secret=True),
    Field("ANTHROPIC_MODEL", stripped, "claude-haiku-4-5", "Model for the anthropic provider"),
    Field("ANTHROPIC_MODELS", comma_list, (), "Other models a request may choose for anthropic, "
          "comma-separated (ANTHROPIC_MODEL is always allowed)"),
    Field("ANTHROPIC_BASE_URL", stripped, "", "Base URL for the anthropic provider"),
    Field("LLM_SERVERS", _servers.parse, (), "OpenAI-compatible servers (Ollama, vLLM, …), "
          "one row each: `name=…,base_url=…,model=…[,models=a|b][,key_setting=VAR]`, "
          "rows separated by `;`"),
    Field("FALLBACK_PROVIDERS", comma_list, (), "Providers to try in order when the chosen one "
          "fails with a 5xx, a timeout or a connection error, comma-separated"),
    Field("MODEL_ALIASES", aliases, (), "Model names for the OpenAI-compatible API, "
          "comma-separated `alias=provider/model` pairs (`fast=openai/gpt-4.1-mini`)"),
    Field("REQUEST_TIMEOUT", positive_float, 30.0,
          "Overall deadline in seconds for one LLM call, retries included"),
    Field("PROMPT_TEMPLATES_DIR", stripped, "", "A folder of `*.j2` prompt templates that add to "
          "or override the built-in ones"),
    Field("MAX_PROMPT_LENGTH", positive_int, 4000, "Longest accepted prompt, in characters"),
    Field("MAX_BODY_BYTES", positive_int, 1_048_576,
          "Largest accepted request body, in bytes (413 beyond)"),
    Field("REQUEST_READ_TIMEOUT", positive_float, 15.0, "Seconds a client may take to send "
          "a request's head and its whole body (408 or a closed connection beyond)"),
    Field("RATE_LIMIT_ENABLED", boolean, True, "Turn rate limiting on or off"),
    Field("RATE_LIMIT", stripped, "60", "Requests a minute per token (`60`), or limits such as "
          "`100/minute;2000/day`"),
    Field("AUTH_FAIL_LIMIT", stripped, "20/minute", "Requests with a wrong token allowed per "
          "client address (same forms as RATE_LIMIT); then 429, even for a right token"),
    Field("TRUSTED_PROXIES", comma_list, (), "Addresses or CIDRs of the proxies in front (e.g. "
          "`127.0.0.1,10.0.0.0/8`; `unix`: a Unix socket): only a connection from one of them "
          "may name the client's address in CLIENT_IP_HEADER; unset: every connection is its "
          "own client"),
    Field("CLIENT_IP_HEADER", stripped, "X-Forwarded-For", "The header a trusted proxy names the "
          "client in: `X-Forwarded-For` (nginx, most load balancers) or `X-Real-IP` "
          "(PythonAnywhere)"),
    Field("RATE_LIMIT_FAIL_OPEN", boolean, False, "When Redis is unreachable: false refuses "
          "requests with 503, true lets them through unlimited"),
    Field("REDIS_URL", stripped, "", "Redis for state shared by workers (rate limits, cache), "
          "e.g. `redis://localhost:6379/0`; unset: in memory, per worker process"),
    Field("REDIS_KEY_PREFIX", stripped, "flaskllm", "Prefix of every Redis key this server writes"),
    Field("CACHE_URL", stripped, "", "Redis for the result cache only (default: REDIS_URL); "
          "`memory://` keeps the cache in memory even with REDIS_URL"),
    Field("CACHE_TTL", non_negative_int, 86400, "Seconds a cached result is kept; 0 turns "
          "the cache off"),
    Field("CACHE_MAX_ENTRIES", positive_int, 10000, "Most results the in-memory cache "
          "keeps (least recently used go first)"),
    Field("CACHE_SCOPE", choice("token", "global"), "token", "`token`: each token has its "
          "own cache entries; `global`: identical requests share them across tokens"),
    Field("DATABASE_URL", stripped, "", "Database for tokens, usage and budgets: "
          "`sqlite:///path`, `postgresql://…` or `mysql+pymysql://user:password@host/name` "
          "(MySQL, MariaDB); default: SQLite file flaskllm.db in INSTANCE_PATH"),
    Field("INSTANCE_PATH", stripped, "", "Folder of the SQLite database, the dev token and the "
          "usage journal (default: `instance/` beside the `.env` that was read, else in the "
          "working directory); `flaskllm check` prints it"),
    Field("STALE_TOKEN_TTL", non_negative_int, 600, "Seconds a token or its limits, last "
          "read from the database, keep serving while the database is unreachable (0: none)"),
    Field("LOG_LEVEL", choice("debug", "info", "warning", "error"), "info", "Log level"),
    Field("LOG_FORMAT", choice("auto", "json", "plain"), "auto", "`json`: one JSON object a "
          "line; `plain`: readable lines; `auto`: json when ENVIRONMENT=production, else plain"),
    Field("LOG_PROMPTS", boolean, False, "Store each request's prompt and response text in its "
          "usage record (off: only counts, cost and timing are stored)"),
    Field("PRICES_FILE", stripped, "", "A JSON price table (USD per million tokens) that adds to "
          "or overrides the built-in flaskllm/data/prices.json"),
    Field("USAGE_SPOOL_FILE", stripped, "", "The usage journal: every usage record is appended "
          "here before its response ends, then moved into the database in batches (default: "
          "usage-spool-<id of DATABASE_URL>.jsonl in INSTANCE_PATH)"),
    Field("ALERT_WEBHOOK_URL", stripped, "", "Webhook that receives alerts as Slack-compatible "
          "JSON (`{\"text\": …}` plus fields)", secret=True),
    Field("ALERT_SMTP_HOST", stripped, "", "SMTP server for alert e-mails (unset: no e-mail)"),
    Field("ALERT_SMTP_PORT", positive_int, 587, "SMTP port (465 means TLS from the start)"),
    Field("ALERT_SMTP_USER", stripped, "", "SMTP login (unset: no login)"),
    Field("ALERT_SMTP_PASSWORD", stripped, "", "SMTP password", secret=True),
    Field("ALERT_SMTP_FROM", stripped, "", "Sender of alert e-mails (default: ALERT_SMTP_USER)"),
    Field("ALERT_SMTP_TO", comma_list, (), "Recipients of alert e-mails, comma-separated"),
    Field("ALERT_SMTP_STARTTLS", boolean, True, "Upgrade the SMTP connection with STARTTLS"),
    Field("ALERT_COOLDOWN", non_negative_int, 900, "Seconds before an alert that was sent "
          "may be sent again; repeats in between are counted, not sent"),
    Field("ALERT_ERROR_RATE", positive_float, 0.2, "Share of 5xx or provider-error answers "
          "(0–1) over ALERT_WINDOW that raises the error-rate alert"),
    Field("ALERT_WINDOW", positive_int, 300, "Seconds of answers the error rate is taken over"),
    Field("ALERT_MIN_REQUESTS", positive_int, 20, "Fewest answers in the window before the "
          "error rate is judged"),
    Field("METRICS_PUBLIC", boolean, False, "Serve GET /metrics without a token (off: an admin "
          "token is required)"),
    Field("METRICS_DIR", stripped, "", "Folder where worker processes share Prometheus metrics "
          "(multiprocess mode); `flaskllm serve --workers N` makes one when unset"),
    Field("BATCH_MAX_ITEMS", positive_int, 500, "Most items in one batch request"),
    Field("UPSTREAM_CONCURRENCY", positive_int, 16,
          "Most items of one batch sent to the provider at once"),
    Field("IDEMPOTENCY_TTL", positive_int, 86400,
          "Seconds a batch response is kept for replay by its Idempotency-Key"),
)

_BY_ATTR = {f.name: f for f in FIELDS}
# scheme://user:password@host → scheme://user:***@host (REDIS_URL, DATABASE_URL may hold one)
_PASSWORD_IN_URL = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@", re.IGNORECASE)


def env_text(value: Any) -> str:
    """A typed value written back the way the environment spells it (`true`, `a,b`, rows of
    `k=v,…` separated by `;`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        if value and isinstance(value[0], tuple):  # MODEL_ALIASES' (alias, target) pairs
            return ",".join("=".join(pair) for pair in value)
        rows = [env_text(v) for v in value]
        return (";" if value and dataclasses.is_dataclass(value[0]) else ",").join(rows)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        parts = []
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if item not in (None, "", ()):
                text = "|".join(item) if isinstance(item, tuple) else str(item)
                parts.append(f"{f.name}={text}")
        return ",".join(parts)
    return "" if value is None else str(value)


class _Settings:
    """What ``Settings`` does besides holding one attribute per row of FIELDS."""

    def __post_init__(self) -> None:
        if not self.instance_path:
            object.__setattr__(self, "instance_path", str(Path.cwd() / "instance"))
        if not self.database_url:
            default = "sqlite:///" + str(self.instance / "flaskllm.db")
            object.__setattr__(self, "database_url", default)
        self.validate()

    @property
    def instance(self) -> Path:
        """INSTANCE_PATH, absolute (a relative one is taken from the working directory)."""
        return Path(self.instance_path).expanduser().resolve()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 env_file: str | os.PathLike | None = "", **overrides: Any) -> "Settings":
        """Read settings: the `.env` file first (the working directory's, else the project's),
        the process environment over it, then keyword overrides (already typed) over both.
        ``env_file=None`` reads no file."""
        raw: dict[str, str] = {}
        if env_file == "":
            env_file = next((p for p in (Path(".env"), ROOT / ".env") if p.is_file()), None)
        if env_file and Path(env_file).is_file():
            raw.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        else:
            env_file = None
        raw.update(os.environ if environ is None else environ)
        values: dict[str, Any] = {}
        for attr, spec in _BY_ATTR.items():
            if spec.env in raw:
                try:
                    values[attr] = spec.parse(raw[spec.env])
                except ValueError as exc:
                    raise SettingsError(f"{spec.env}: {exc} (got {_shown(spec, raw[spec.env])})")
        # Beside the .env that was read (a relative INSTANCE_PATH too), so that the CLI and the
        # web app, started from different folders or installed differently, find one database.
        base = Path(env_file).resolve().parent if env_file else Path.cwd()
        values["instance_path"] = str(base / (values.get("instance_path") or "instance"))
        values.update(overrides)
        if "server_keys" not in values:
            values["server_keys"] = {s.key_setting: raw.get(s.key_setting, "").strip()
                                     for s in values.get("llm_servers", ()) if s.key_setting}
        return cls(**values)

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    def validate(self) -> None:
        if self.environment == "production":
            if self.debug:
                raise SettingsError("DEBUG: must be off when ENVIRONMENT=production")
            if not self.api_token:
                raise SettingsError("API_TOKEN: required when ENVIRONMENT=production")
            if len(self.api_token) < 32:
                raise SettingsError("API_TOKEN: must be at least 32 characters in production")
        if not self.llm_provider:
            raise SettingsError("LLM_PROVIDER: must name a provider")
        parse_networks(self.trusted_proxies)  # each raises SettingsError naming the setting
        header_key(self.client_ip_header)
        parse_limits(self.rate_limit, "RATE_LIMIT")
        parse_limits(self.auth_fail_limit, "AUTH_FAIL_LIMIT")
        redis_schemes = ("redis://", "rediss://", "unix://")
        if self.redis_url and not self.redis_url.startswith(redis_schemes):
            raise SettingsError("REDIS_URL: expected redis://, rediss:// or unix://")
        if self.cache_url and not self.cache_url.startswith(redis_schemes + ("memory://",)):
            raise SettingsError("CACHE_URL: expected redis://, rediss://, unix:// or memory://")
        if self.prices_file and not Path(self.prices_file).is_file():
            raise SettingsError(f"PRICES_FILE: no such file: {self.prices_file}")
        web_schemes = ("http://", "https://")
        if self.alert_webhook_url and not self.alert_webhook_url.startswith(web_schemes):
            raise SettingsError("ALERT_WEBHOOK_URL: expected an http:// or https:// URL")
        if self.alert_error_rate > 1:
            raise SettingsError("ALERT_ERROR_RATE: expected a share between 0 and 1, e.g. 0.2")
        if self.alert_smtp_host and not (self.alert_smtp_to and
                                         (self.alert_smtp_from or self.alert_smtp_user)):
            raise SettingsError("ALERT_SMTP_HOST: also set ALERT_SMTP_TO and ALERT_SMTP_FROM")

    @property
    def production(self) -> bool:
        return self.environment == "production"

    def shown(self) -> dict[str, str]:
        """Every setting by its variable, as ``Field.shown`` displays it."""
        return {f.env: f.shown(getattr(self, f.name)) for f in FIELDS}

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in self.shown().items()) + ")"


# server_keys is no row: from_env fills it with the keys LLM_SERVERS rows name (key_setting).
Settings = dataclasses.make_dataclass(
    "Settings",
    [(f.name, f.type, field(default=f.default)) for f in FIELDS]
    + [("server_keys", Mapping[str, str], field(default_factory=dict))],
    bases=(_Settings,), frozen=True, repr=False)
Settings.__module__ = __name__  # for pickling and readable tracebacks (Python 3.11 has no module=)
Settings.__doc__ = "The settings, one typed attribute per row of FIELDS (read-only)."


def _shown(spec: Field, raw: str) -> str:
    return "a hidden value" if spec.secret else repr(spec.shown(raw))


# The README's settings table, generated from FIELDS between these two lines.
TABLE_START = ("<!-- settings table: generated from flaskllm/settings.py by "
               "`flaskllm settings --markdown --write-readme`; edit the rows there -->")
TABLE_END = "<!-- end of settings table -->"


def markdown_table() -> str:
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for f in FIELDS:
        default = env_text(f.default)
        default = f"`{default}`" if default else "—"
        meaning = f.help.replace("|", r"\|")  # a | inside a cell would end it
        lines.append(f"| `{f.env}` | {default} | {meaning} |")
    return "\n".join(lines) + "\n"


def with_table(readme: str) -> str:
    """The README's text with the settings table between the markers made anew."""
    head, start, rest = readme.partition(TABLE_START)
    _old, end, tail = rest.partition(TABLE_END)
    if not start or not end:
        raise ValueError(f"the README has no {TABLE_START!r} … {TABLE_END!r} markers")
    return f"{head}{TABLE_START}\n{markdown_table()}{TABLE_END}{tail}"
