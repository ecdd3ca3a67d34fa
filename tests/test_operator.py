"""What an operator meets first, through the real `flaskllm` command in a subprocess: failures
said in a line or two with the setting and the fix (exit code 2, the traceback only with
--debug), --version and defaults in --help, `usage --until` including its day, the
development token of each database; and in-process: a refused provider is one warning line,
refusals are counted in /metrics, `/` leads to the docs, the console's server list is filled."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from fakes import closed_port, provider_config
from flaskllm import tokenadmin
from flaskllm.app import create_app
from flaskllm.settings import ROOT, Settings
from flaskllm.usage import UsageRecord
from servers import clean_env, serve_processes

PROMPT = {"prompt": "The operator reads one line, not two hundred.", "type": "summary"}


def flaskllm(env: dict, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flaskllm.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def said(done: subprocess.CompletedProcess) -> str:
    return done.stdout + done.stderr


@pytest.fixture
def env(tmp_path) -> dict:
    return clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'op.db'}", ENVIRONMENT="test")


# Failures that say what to do -------------------------------------------------------------


@pytest.mark.parametrize("command", [["check"], ["tokens", "list"], ["usage"],
                                     ["tokens", "create", "x"]])
def test_an_unreachable_database_is_two_lines_naming_it_with_the_password_masked(
        tmp_path, command):
    env = clean_env(DATABASE_URL=f"postgresql://ops:s3cret-pw@127.0.0.1:{closed_port()}/app")
    done = flaskllm(env, *command, cwd=tmp_path)
    text = said(done)
    assert done.returncode == 2, text
    assert "Traceback" not in text and "s3cret-pw" not in text
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) <= 2, text
    assert "DATABASE_URL=postgresql://ops:***@127.0.0.1" in text and "fix" in text

    debug = flaskllm(env, *command[:1], "--debug", *command[1:], cwd=tmp_path)
    assert debug.returncode == 2 and "Traceback" in said(debug)
    assert "s3cret-pw" not in said(debug).split("Traceback")[0]


def test_a_database_that_does_not_exist_is_named(postgres_url, tmp_path):
    missing = postgres_url.rsplit("/", 1)[0] + f"/no_such_db_{uuid.uuid4().hex[:8]}"
    done = flaskllm(clean_env(DATABASE_URL=missing), "check", cwd=tmp_path)
    assert done.returncode == 2, said(done)
    assert "does not exist" in done.stdout and "DATABASE_URL=" in done.stdout
    assert "Traceback" not in said(done) and "INTERNAL_ERROR" not in said(done)


def test_a_sqlite_folder_that_does_not_exist_is_an_error_not_created(tmp_path):
    folder = tmp_path / "typo"
    env = clean_env(DATABASE_URL=f"sqlite:///{folder / 'flaskllm.db'}")
    for command in (["check"], ["tokens", "list"], ["serve", "--port", str(closed_port())]):
        done = flaskllm(env, *command, cwd=tmp_path)
        assert done.returncode == 2, said(done)
        assert f"DATABASE_URL: the folder {folder} does not exist" in said(done)
        assert "Traceback" not in said(done)
    assert not folder.exists()


def test_a_bad_setting_is_named_with_exit_code_2(tmp_path):
    done = flaskllm(clean_env(RATE_LIMIT="lots"), "tokens", "list", cwd=tmp_path)
    assert done.returncode == 2 and "RATE_LIMIT" in done.stderr and "Traceback" not in done.stderr
    done = flaskllm(clean_env(LLM_PROVIDER="nonesuch"), "check", cwd=tmp_path)
    assert done.returncode == 2 and "LLM_PROVIDER" in done.stdout


def test_version_and_the_defaults_in_help(env):
    from flaskllm import __version__

    done = flaskllm(env, "--version")
    assert done.returncode == 0 and done.stdout.strip() == f"flaskllm {__version__}"
    serve = flaskllm(env, "serve", "--help").stdout
    assert "(default: 8000)" in serve and "(default: 127.0.0.1)" in serve
    assert "(default: 1)" in serve
    assert "(default: 7d)" in flaskllm(env, "usage", "--help").stdout


def test_usage_until_a_day_includes_that_day(env, tmp_path):
    app = create_app(Settings.from_env(environ={}, env_file=None, environment="test",
                                       database_url=env["DATABASE_URL"],
                                       usage_spool_file=str(tmp_path / "spool.jsonl")))
    day = datetime.now(timezone.utc).replace(hour=12) - timedelta(days=2)
    app.state.usage.record(UsageRecord(
        request_id=uuid.uuid4().hex, token="sheet", operation="webhook.create", type="summary",
        provider="offline", model="offline-1", input_tokens=10, output_tokens=5, cost_usd=Decimal(0),
        latency=0.1, upstream_latency=0.05, status=200, error_code=None, cached=False,
        created_at=day))
    date = day.strftime("%Y-%m-%d")
    done = flaskllm(env, "usage", "--since", date, "--until", date, "--format", "json")
    assert done.returncode == 0, said(done)
    assert json.loads(done.stdout)["totals"]["requests"] == 1  # before: 0 (the day left out)


# The development token --------------------------------------------------------------------


def _printed_token(log: Path) -> str:
    lines = log.read_text().splitlines()
    at = lines.index(next(line for line in lines if line.startswith("Development token")))
    return next(line.strip() for line in lines[at + 1:] if line.strip())


def test_each_database_keeps_its_own_admin_dev_token(tmp_path):
    """Two development servers on two databases at once: each prints its own admin token,
    which works on /metrics and /dashboard's API, and neither disturbs the other's; a restart
    prints the same token again."""
    urls = [f"sqlite:///{tmp_path / f'db{n}.db'}" for n in range(2)]
    env = clean_env(ENVIRONMENT="development", LOG_LEVEL="warning")
    made = [tokenadmin.dev_token_file(Settings.from_env(environ={}, env_file=None, database_url=url))
            for url in urls]
    try:
        with serve_processes(env, 2, tmp_path, timeout=180,
                             env_of=lambda n: {"DATABASE_URL": urls[n]}) as bases:
            tokens = [_printed_token(tmp_path / f"server{n}.log") for n in range(2)]
            assert tokens[0] != tokens[1]
            for base, token, n in zip(bases, tokens, range(2)):
                log = (tmp_path / f"server{n}.log").read_text()
                assert f"Dashboard: {base}/dashboard#token={token}" in log
                for _ in range(2):
                    assert httpx.get(base + "/metrics",
                                     headers={"X-API-Token": token}).status_code == 200
                listed = httpx.get(base + "/api/v1/admin/tokens",
                                   headers={"X-API-Token": token}).json()["tokens"]
                assert [(t["name"], t["admin"]) for t in listed] == [("dev", True)]
            first = tokens[0]
        # Restarted with two workers (which once deleted the token): the same token, and
        # both workers take it.
        with serve_processes(env, 1, tmp_path, timeout=180, args=["--workers", "2"],
                             env_of=lambda n: {"DATABASE_URL": urls[0]}) as (base,):
            assert _printed_token(tmp_path / "server0.log") == first
            for _ in range(4):
                assert httpx.get(base + "/metrics",
                                 headers={"X-API-Token": first}).status_code == 200
    finally:
        for path in made:
            path.unlink(missing_ok=True)


def test_the_dev_token_file_is_private_and_keyed_by_database(tmp_path):
    one, two = (Settings.from_env(environ={}, env_file=None, instance_path=str(tmp_path),
                                  database_url=f"sqlite:///{tmp_path / name}")
                for name in ("one.db", "two.db"))
    first = tokenadmin.dev_token(one)
    assert tokenadmin.dev_token(two) != first
    assert tokenadmin.dev_token(one) == first
    assert tokenadmin.dev_token_file(one).stat().st_mode & 0o077 == 0
    tokenadmin.dev_token_file(one).unlink()  # the file is lost: `dev` gets a new token, still admin
    again = tokenadmin.dev_token(one)
    assert again != first
    from flaskllm.tokens import TokenStore
    from flaskllm.db import create_engine

    store = TokenStore(create_engine(one.database_url))
    assert store.lookup(first) is None and store.lookup(again).admin


def test_make_run_takes_a_port_and_says_where_flaskllm_is():
    makefile = (ROOT / "Makefile").read_text()
    done = subprocess.run(["make", "-n", "run", "PORT=8080"], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "flaskllm serve --host 127.0.0.1 --port 8080" in done.stdout
    assert "PORT ?= 8000" in makefile
    readme = (ROOT / "README.md").read_text()
    assert ". .venv/bin/activate" in readme


# In-process ------------------------------------------------------------------------------


def test_a_refused_provider_connection_is_one_warning_line(settings, caplog, tmp_path):
    prices = tmp_path / "prices.json"  # priced: no "unpriced model" warning in the way
    prices.write_text('{"models": {"llama-test": {"input": 0, "output": 0}}}')
    app = create_app(settings.replace(
        llm_provider="local", cache_ttl=0, rate_limit_enabled=False, prices_file=str(prices),
        **provider_config("server", f"http://127.0.0.1:{closed_port()}")))
    token = app.state.tokens.create("tester")
    with caplog.at_level(logging.INFO, logger="flaskllm"), app.test_client() as client:
        response = client.post("/api/v1/webhook", json=PROMPT, headers={"X-API-Token": token})
    assert response.status_code == 502 and response.json()["code"] == "PROVIDER_ERROR"
    told = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(told) == 1, [r.getMessage() for r in told]
    assert told[0].levelno == logging.WARNING and told[0].exc_info is None
    message = told[0].getMessage()
    assert "PROVIDER_ERROR" in message and "local" in message and "refused" in message
    assert "timeout" not in message.lower()


def test_refusals_are_counted_by_code_in_metrics(app, client):
    admin = app.state.tokens.create("ops", admin=True)
    plain = app.state.tokens.create("sheet")
    client.post("/api/v1/webhook", json=PROMPT, headers={"X-API-Token": "fllm_wrong"})
    client.post("/api/v1/webhook", json=PROMPT)
    client.get("/api/v1/admin/tokens", headers={"X-API-Token": plain})
    text = client.get("/metrics", headers={"X-API-Token": admin}).text
    assert 'flaskllm_refused_total{code="UNAUTHORIZED",status="401"} 2.0' in text
    assert 'flaskllm_refused_total{code="FORBIDDEN",status="403"} 1.0' in text


def test_the_root_leads_to_the_docs_and_the_console_lists_this_server(client):
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 308 and root.headers["location"] == "/docs"
    # The console's server list: the server the document is served from (a relative URL, so
    # it is right behind any host or proxy; tests/test_contract.py checks a path prefix).
    spec = client.get("/api/v1/openapi.json", headers={"Host": "excel.example.com:8443"}).json()
    assert [server["url"] for server in spec["servers"]] == ["/"]
    assert "/" in spec["paths"] and spec["paths"]["/"]["get"]["operationId"] == "docs.root"


def test_the_readme_links_nothing_outside_the_repository():
    import re

    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(([^)]+)\)", readme):
        if target.startswith("#"):
            continue
        assert "://" not in target, target
        path = (ROOT / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), target
