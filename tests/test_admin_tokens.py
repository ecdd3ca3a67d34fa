"""Token management over HTTP (/api/v1/admin/tokens, /api/v1/admin/audit): admin scope only,
the token shown once, revocation at once in the process that handled it and within a second
in another process sharing Redis, purge so that a name can be used again, the audit log."""

from __future__ import annotations

import secrets
import time
import uuid

import httpx
import pytest
import sqlalchemy as sa

from flaskllm import db
from flaskllm.tokens import TOKEN_PREFIX
from servers import clean_env, serve_processes

TOKENS = "/api/v1/admin/tokens"
PROMPT = {"prompt": "Revoked tokens stop at once.", "type": "summary"}


@pytest.fixture
def admin(app) -> dict:
    return {"X-API-Token": app.state.tokens.create("ops", admin=True)}


def test_every_admin_operation_is_refused_to_other_tokens(app, client, token):
    plain = {"X-API-Token": token}
    calls = [("GET", TOKENS, None), ("POST", TOKENS, {"name": "x"}),
             ("PATCH", TOKENS + "/tester", {"admin": True}), ("DELETE", TOKENS + "/tester", None),
             ("GET", "/api/v1/admin/audit", None)]
    for method, path, body in calls:
        refused = client.request(method, path, json=body, headers=plain)
        assert refused.status_code == 403, (method, path, refused.text)
        assert refused.json()["code"] == "FORBIDDEN"
        assert client.request(method, path, json=body).status_code == 401
    assert app.state.tokens.get("tester").admin is False  # the PATCH did nothing
    assert app.state.tokens.get("x") is None


def test_create_use_revoke_over_http(app, client, admin):
    created = client.post(TOKENS, json={"name": "sheet", "limits": {"daily_requests": 100}},
                          headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    token = body["token"]
    assert token.startswith(TOKEN_PREFIX) and body["budget"]["limits"]["daily_requests"] == 100
    with app.state.engine.connect() as conn:  # only the hash is stored
        assert token not in str(conn.execute(sa.select(db.tokens)).all())

    assert client.post("/api/v1/webhook", json=PROMPT,
                       headers={"X-API-Token": token}).status_code == 200
    listed = {t["name"]: t for t in client.get(TOKENS, headers=admin).json()["tokens"]}
    assert "token" not in listed["sheet"] and listed["sheet"]["last_used_at"] is not None
    assert listed["sheet"]["budget"]["day"]["requests"] == 1
    assert listed["sheet"]["budget"]["day"]["remaining_requests"] == 99

    revoked = client.delete(TOKENS + "/sheet", headers=admin)
    assert revoked.json() == {"name": "sheet", "revoked": True, "purged": False,
                              "others_told": None}
    # The very next request, though the token's verification was cached a moment ago.
    again = client.post("/api/v1/webhook", json=PROMPT, headers={"X-API-Token": token})
    assert again.status_code == 401
    taken = client.post(TOKENS, json={"name": "sheet"}, headers=admin)
    assert taken.status_code == 409 and taken.json()["code"] == "TOKEN_EXISTS"
    # A revoked token cannot be changed (schemathesis's use-after-free check found a 200).
    changed = client.patch(TOKENS + "/sheet", json={"admin": True}, headers=admin)
    assert changed.status_code == 404 and changed.json()["code"] == "TOKEN_NOT_FOUND"

    purged = client.delete(TOKENS + "/sheet", params={"purge": "true"}, headers=admin)
    assert purged.json()["purged"] is True
    fresh = client.post(TOKENS, json={"name": "sheet"}, headers=admin).json()
    assert fresh["budget"]["limits"]["daily_requests"] is None  # the old limits went with it
    assert client.post("/api/v1/webhook", json=PROMPT,
                       headers={"X-API-Token": fresh["token"]}).status_code == 200
    missing = client.delete(TOKENS + "/nobody", headers=admin)
    assert missing.status_code == 404 and missing.json()["code"] == "TOKEN_NOT_FOUND"

    audit = client.get("/api/v1/admin/audit", params={"token": "sheet"}, headers=admin).json()
    assert [(e["action"], e["actor"]) for e in audit["entries"]] == [
        ("create", "ops"), ("purge", "ops"), ("revoke", "ops"), ("create", "ops")]
    assert audit["entries"][-1]["details"] == {"admin": False, "daily_requests": 100}
    assert token not in str(audit) and fresh["token"] not in str(audit)


def test_patch_changes_the_scope_and_limits_at_once(app, client, admin):
    token = client.post(TOKENS, json={"name": "sheet"}, headers=admin).json()["token"]
    mine = {"X-API-Token": token}
    assert client.get(TOKENS, headers=mine).status_code == 403  # verified, and cached
    changed = client.patch(TOKENS + "/sheet", json={"admin": True, "limits": {
        "daily_usd": 2.5, "monthly_usd": None}}, headers=admin).json()
    assert changed["admin"] is True and changed["budget"]["limits"]["daily_usd"] == 2.5
    assert client.get(TOKENS, headers=mine).status_code == 200  # the new scope, at once
    cleared = client.patch(TOKENS + "/sheet", json={"limits": {"daily_usd": None}},
                           headers=admin).json()
    assert cleared["budget"]["limits"] == {"daily_usd": None, "monthly_usd": None,
                                           "daily_requests": None}
    assert client.patch(TOKENS + "/nobody", json={}, headers=admin).status_code == 404
    bad = client.post(TOKENS, json={"name": "no spaces"}, headers=admin)
    assert bad.status_code == 400


def test_the_cli_writes_the_same_audit_log(app, client, admin, monkeypatch):
    from servers import cli

    env = clean_env(DATABASE_URL=app.state.settings.database_url)
    cli(env, "tokens", "create", "from-shell", "--quota-daily", "5")
    cli(env, "tokens", "update", "from-shell", "--admin", "yes")
    printed = cli(env, "tokens", "revoke", "from-shell", "--purge")
    assert "within 5 seconds" in printed  # the rule, said where the command is used
    entries = client.get("/api/v1/admin/audit", headers=admin).json()["entries"]
    assert [e["action"] for e in entries] == ["purge", "update", "create"]
    assert all(e["actor"].startswith("cli:") for e in entries)
    assert entries[1]["details"] == {"admin": True}


@pytest.mark.services
def test_revocation_reaches_another_process_within_a_second(redis_url, tmp_path):
    """Two `flaskllm serve` processes on one database and one Redis: the token is cached in
    both; revoked over HTTP on the first, the second refuses it within a second (its cache
    would keep it for 5)."""
    api_token = secrets.token_urlsafe(32)
    env = clean_env(ENVIRONMENT="production", API_TOKEN=api_token, LOG_LEVEL="warning",
                    DATABASE_URL=f"sqlite:///{tmp_path / 'shared.db'}", REDIS_URL=redis_url,
                    REDIS_KEY_PREFIX=f"flaskllm-test-{uuid.uuid4().hex[:12]}",
                    RATE_LIMIT_ENABLED="false", CACHE_TTL="0",
                    USAGE_SPOOL_FILE=str(tmp_path / "spool.jsonl"))
    admin = {"X-API-Token": api_token}
    with serve_processes(env, 2, tmp_path, timeout=180) as (first, second):
        token = httpx.post(first + TOKENS, json={"name": "sheet"}, headers=admin).json()["token"]
        mine = {"X-API-Token": token}
        for url in (first, second, first, second):
            assert httpx.post(url + "/api/v1/webhook", json=PROMPT, headers=mine,
                              timeout=30).status_code == 200
        revoked = httpx.delete(first + TOKENS + "/sheet", headers=admin).json()
        assert revoked["others_told"] is True
        told = time.monotonic()
        assert httpx.post(first + "/api/v1/webhook", json=PROMPT,
                          headers=mine).status_code == 401
        while True:
            status = httpx.post(second + "/api/v1/webhook", json=PROMPT, headers=mine).status_code
            if status == 401:
                break
            assert time.monotonic() - told < 1.0, "the second process still accepts it"
            time.sleep(0.05)
