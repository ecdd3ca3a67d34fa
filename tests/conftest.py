"""Fixture chain: settings → app → client (+ token). Provider variables are cleared for every
test, so no test can reach a real provider by accident."""

from __future__ import annotations

import os
import socket

import pytest

from flaskllm.app import create_app
from flaskllm.settings import FIELDS, Settings

PROVIDER_VARIABLES = [f.env for f in FIELDS if f.env.startswith(("OPENAI_", "ANTHROPIC_"))] + [
    "LLM_PROVIDER", "API_TOKEN", "DATABASE_URL", "REDIS_URL", "CACHE_URL", "LLM_SERVERS",
    "FALLBACK_PROVIDERS",
]
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL_SERVER = "mysql+pymysql://root@127.0.0.1:3306"  # MariaDB (.ci/run starts it)
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(autouse=True)
def _clear_provider_env(monkeypatch):
    for name in PROVIDER_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, port: int) -> None:
    """Skip without the service, unless FLASKLLM_REQUIRE_SERVICES=1 (CI), where it fails."""
    if _reachable("127.0.0.1", port):
        return
    message = f"{name} is not reachable on 127.0.0.1:{port}"
    if os.environ.get("FLASKLLM_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " and FLASKLLM_REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.fixture
def postgres_url() -> str:
    require_service("PostgreSQL", 5432)
    return POSTGRES_URL


@pytest.fixture
def mysql_url():
    """A fresh MariaDB/MySQL database of this test's own, dropped after it."""
    require_service("MariaDB", 3306)
    import uuid

    import sqlalchemy as sa

    name = f"flaskllm_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(MYSQL_SERVER + "/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    try:
        yield f"{MYSQL_SERVER}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    require_service("Redis", 6379)
    return REDIS_URL


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Test settings: offline provider, a fresh SQLite file, no .env file."""
    return Settings.from_env(environ={}, env_file=None, environment="test",
                             database_url=f"sqlite:///{tmp_path / 'flaskllm.db'}")


@pytest.fixture
def app(settings):
    return create_app(settings)


@pytest.fixture
def client(app):
    with app.test_client() as client:
        yield client


@pytest.fixture
def token(app) -> str:
    return app.state.tokens.create("tester")


@pytest.fixture
def auth(token) -> dict:
    return {"X-API-Token": token}
