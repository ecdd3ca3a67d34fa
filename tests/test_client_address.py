"""The client's address behind a proxy (flaskllm/clientip.py): TRUSTED_PROXIES and
CLIENT_IP_HEADER, from `.env`, the same under uvicorn (`flaskllm serve`) and WSGI (gunicorn
here; uWSGI in tests/test_pythonanywhere.py). The wrong-token throttle (AUTH_FAIL_LIMIT, 20 a
minute by default) counts per client address."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import httpx
import pytest

from flaskllm.clientip import ClientAddressMiddleware
from flaskllm.settings import Settings, SettingsError
from servers import cli, clean_env, free_port, serve_processes
from test_uwsgi import _bin
from test_wsgi import wait_for

WEBHOOK = "/api/v1/webhook"
BODY = {"prompt": "Who is asking?", "type": "summary"}
WRONG = "fllm_" + "x" * 43


def rule(**settings) -> ClientAddressMiddleware:
    return ClientAddressMiddleware(None, Settings.from_env(environ={}, env_file=None,
                                                           **settings))


def test_forwarded_for_is_read_from_the_right_past_trusted_proxies():
    mw = rule(trusted_proxies=("127.0.0.1", "10.0.0.0/8"))
    assert mw.client("127.0.0.1", [b"203.0.113.9"]) == "203.0.113.9"
    # The client's own claim (leftmost) is not believed past an untrusted hop.
    assert mw.client("127.0.0.1", [b"1.1.1.1, 203.0.113.9, 10.0.0.7"]) == "203.0.113.9"
    assert mw.client("127.0.0.1", [b"1.1.1.1", b"203.0.113.9"]) == "203.0.113.9"
    assert mw.client("127.0.0.1", [b"[2001:db8::5]:443"]) == "2001:db8::5"
    assert mw.client("127.0.0.1", [b"garbage"]) is None
    assert mw.client("192.0.2.1", [b"203.0.113.9"]) is None  # not a trusted peer


def test_real_ip_is_one_address_set_by_the_proxy():
    mw = rule(trusted_proxies=("127.0.0.1",), client_ip_header="X-Real-IP")
    assert mw.header == b"x-real-ip"
    assert mw.client("127.0.0.1", [b"203.0.113.9"]) == "203.0.113.9"
    assert mw.client("127.0.0.2", [b"203.0.113.9"]) is None


def test_unix_trusts_connections_over_a_unix_socket():
    """uvicorn --uds (PythonAnywhere's ASGI hosting): the scope has no client address."""
    assert rule(trusted_proxies=("unix",), client_ip_header="X-Real-IP").client(
        None, [b"203.0.113.9"]) == "203.0.113.9"
    assert rule(trusted_proxies=("127.0.0.1",)).client(None, [b"203.0.113.9"]) is None


def test_bad_settings_name_the_variable():
    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        Settings.from_env(environ={"TRUSTED_PROXIES": "10.0.0.0/8,proxy.example"},
                          env_file=None)
    with pytest.raises(SettingsError, match="CLIENT_IP_HEADER"):
        Settings.from_env(environ={"CLIENT_IP_HEADER": "X Real IP"}, env_file=None)


def _wsgi(env, folder: Path):
    port = free_port()
    log = open(folder / "gunicorn.log", "wb")
    proc = subprocess.Popen([_bin("gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{port}",
                             "wsgi:application"], env=env, cwd=folder, stdout=log,
                            stderr=subprocess.STDOUT)
    return proc, log, f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def server(kind: str, env: dict, folder: Path):
    if kind == "uvicorn":
        with serve_processes(env, 1, folder) as urls:
            yield urls[0]
        return
    proc, log, url = _wsgi(env, folder)
    try:
        wait_for(url + "/api/v1/health")
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _statuses(url: str, token: str, real_ips, source: str = "127.0.0.1",
              header: str = "X-Real-IP") -> list[int]:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=url, transport=transport, timeout=30) as http:
        return [http.post(WEBHOOK, json=BODY, headers={"X-API-Token": token, header: ip}
                          ).status_code for ip in real_ips]


@pytest.mark.parametrize("kind", ["uvicorn", "wsgi"])
def test_behind_pythonanywheres_proxy_each_client_is_throttled_alone(kind, tmp_path):
    (tmp_path / ".env").write_text(
        "ENVIRONMENT=test\nCLIENT_IP_HEADER=X-Real-IP\nTRUSTED_PROXIES=127.0.0.1\n"
        "RATE_LIMIT=1000\n")
    env = clean_env()
    token = cli(env, "tokens", "create", "proxied", cwd=tmp_path).strip().splitlines()[-1]
    with server(kind, env, tmp_path) as url:
        # 25 wrong tokens, each from its own client: none is locked out, nor anyone else.
        many = _statuses(url, WRONG, [f"203.0.113.{n}" for n in range(25)])
        assert many == [401] * 25
        assert _statuses(url, token, ["198.51.100.1"]) == [200]
        # 25 from one client: it is throttled after AUTH_FAIL_LIMIT (20), even with the
        # right token, and only it.
        one = _statuses(url, WRONG, ["192.0.2.7"] * 25)
        assert one == [401] * 20 + [429] * 5
        assert _statuses(url, token, ["192.0.2.7"]) == [429]
        assert _statuses(url, token, ["192.0.2.8"]) == [200]
        # A connection that is not a trusted proxy cannot name another client: its guesses
        # all count against its own address, whatever the header says.
        spoofed = _statuses(url, WRONG, [f"203.0.113.{100 + n}" for n in range(21)],
                            source="127.0.0.2")
        assert spoofed == [401] * 20 + [429]


@pytest.mark.parametrize("kind", ["uvicorn", "wsgi"])
def test_without_trusted_proxies_forwarded_for_is_ignored(kind, tmp_path):
    """Issue 14, item 9: rotating X-Forwarded-For from 127.0.0.1 escaped the throttle under
    `flaskllm serve` (uvicorn trusted it by itself). Now no server believes the header unless
    TRUSTED_PROXIES says so."""
    (tmp_path / ".env").write_text("ENVIRONMENT=test\n")
    with server(kind, clean_env(), tmp_path) as url:
        rotating = _statuses(url, WRONG, [f"203.0.113.{n}" for n in range(25)],
                             header="X-Forwarded-For")
    assert rotating == [401] * 20 + [429] * 5
