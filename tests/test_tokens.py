"""Tokens: stored hashed, checked in constant time, managed from the command line — on SQLite
and on the real PostgreSQL."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from flaskllm import cli, db, tokenadmin
from flaskllm.app import create_app
from flaskllm.tokens import TokenStore, hash_token


SERVER_URL_FIXTURES = {"postgresql": "postgres_url", "mysql": "mysql_url"}


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tokens.db'}"
    else:
        url = request.getfixturevalue(SERVER_URL_FIXTURES[request.param])
    engine = db.create_engine(url)
    yield TokenStore(engine)
    engine.dispose()


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def test_create_stores_only_the_hash(store):
    name = unique("alice")
    token = store.create(name)
    with store.engine.connect() as conn:
        row = conn.execute(sa.select(db.tokens).where(db.tokens.c.name == name)).one()
    assert row.token_hash == hash_token(token)
    assert token not in [str(v) for v in row]
    assert store.lookup(token).name == name


def test_names_are_unique(store):
    name = unique("bob")
    store.create(name)
    with pytest.raises(ValueError, match="already exists"):
        store.create(name)


def test_list_and_revoke(store):
    name = unique("carol")
    token = store.create(name, admin=True)
    listed = {row.name: row for row in store.list()}
    assert listed[name].admin and not listed[name].revoked
    assert store.revoke(name)
    assert store.lookup(token) is None
    assert {row.name: row for row in store.list()}[name].revoked
    assert not store.revoke(unique("nobody"))


def test_unknown_token_is_none(store):
    assert store.lookup("fllm_" + "x" * 43) is None


def test_last_used_is_recorded(store, tmp_path):
    name = unique("dave")
    token = store.create(name)
    store.touch(name)
    assert {row.name: row for row in store.list()}[name].last_used_at is not None
    assert store.lookup(token) is not None


@pytest.mark.parametrize("backend", SERVER_URL_FIXTURES)
def test_app_on_a_database_server(request, backend, settings):
    app = create_app(settings.replace(database_url=request.getfixturevalue(
        SERVER_URL_FIXTURES[backend])))
    name = unique(f"{backend}-app")
    token = app.state.tokens.create(name)
    with app.test_client() as client:
        ok = client.post("/api/v1/webhook", json={"prompt": f"{backend} holds this token."},
                         headers={"X-API-Token": token})
        assert ok.status_code == 200
        assert client.get("/api/v1/health").json()["checks"]["database"]["status"] == "ok"
    app.state.tokens.revoke(name)


def test_cli_create_list_revoke(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert cli.main(["tokens", "create", "excel", "--admin"]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("fllm_") and len(token) > 40
    assert cli.main(["tokens", "list"]) == 0
    listing = capsys.readouterr().out
    assert "excel" in listing and token not in listing
    assert cli.main(["tokens", "create", "excel"]) == 1
    assert cli.main(["tokens", "revoke", "excel"]) == 0
    assert cli.main(["tokens", "revoke", "nope"]) == 1
    store = TokenStore(db.create_engine(f"sqlite:///{tmp_path / 'cli.db'}"))
    assert store.lookup(token) is None


def test_cli_check(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'check.db'}")
    assert cli.main(["check"]) == 0
    assert "ok:" in capsys.readouterr().out
    monkeypatch.setenv("LLM_PROVIDER", "nonesuch")
    assert cli.main(["check"]) == 2
    assert "LLM_PROVIDER" in capsys.readouterr().out


def test_dev_token_is_stable_across_restarts(tmp_path):
    from flaskllm.settings import Settings

    settings = Settings.from_env(environ={}, env_file=None, instance_path=str(
        tmp_path / "instance"), database_url=f"sqlite:///{tmp_path / 'dev.db'}")
    first = tokenadmin.dev_token(settings)
    assert tokenadmin.dev_token(settings) == first
    assert tokenadmin.dev_token_file(settings).stat().st_mode & 0o077 == 0
    assert tokenadmin.dev_token_file(settings).is_relative_to(tmp_path / "instance")
