"""docs/deploy-pythonanywhere.md, run as written: every `sh` block in order, in a fresh home
directory (clone → virtualenv → install → .env → flaskllm check → tokens create), the WSGI file
it shows served by uWSGI as PythonAnywhere runs it (Python threads off, one worker, the Web
tab's virtualenv and working directory), the guide's curl requests with the token it created,
the upgrade, and the uvicorn command of its ASGI section.

What the test changes, and only that: `YOURNAME`'s paths point into the temporary home, the
clone URL is a snapshot of this work tree, the site's URL is the local uWSGI, the token is the
one `tokens create` printed, and the environment (which wins over `.env`, as the guide says)
points the openai provider at the fake OpenAI server. pip runs offline: the virtualenv sees
this test run's installed dependencies (a `.pth` file), so `pip install -e` installs only
FlaskLLM itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from fakes import OPENAI_KEY, openai_fake  # noqa: F401 (openai_fake: fixture)
from servers import free_port
from test_uwsgi import _bin
from test_wsgi import ROOT, wait_for

GUIDE = ROOT / "docs" / "deploy-pythonanywhere.md"
USER = "tester"
# Commands the test cannot run, and why (each is still checked to be in the guide).
NOT_RUN = {
    "pip install --upgrade pythonanywhere": "installs PythonAnywhere's `pa` tool, which talks "
    "to PythonAnywhere's API; the test runs the command given to `pa website create` instead",
    "curl -sS -o /dev/null -w '%{http_code}\\n' https://api.openai.com/v1/models":
        "reaches the internet through a free account's proxy",
}
BLOCK = re.compile(r"^ *```(sh|python)\n(.*?)^ *```", re.MULTILINE | re.DOTALL)


def guide_blocks() -> list[tuple[str, str]]:
    return [(kind, re.sub(r"^  ", "", text, flags=re.MULTILINE))
            for kind, text in BLOCK.findall(GUIDE.read_text())]


def snapshot(tmp: Path) -> Path:
    """A git repository of this work tree as it is now (committed or not)."""
    source = tmp / "origin" / "flaskllm.git"  # cloned as ~/flaskllm, like the guide's URL
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    for name in files:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    for step in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "snapshot"]):
        subprocess.run(git + step, cwd=source, check=True)
    return source


def share_dependencies(venv: Path, tmp: Path) -> None:
    """Let the new virtualenv import this test run's packages, FlaskLLM itself excepted."""
    here = Path(sa.__file__).resolve().parent.parent  # this run's site-packages
    deps = tmp / "deps"
    deps.mkdir()
    for entry in here.iterdir():
        if "flaskllm" not in entry.name.lower():
            (deps / entry.name).symlink_to(entry)
    (site,) = venv.glob("lib/python3*/site-packages")
    (site / "zz_test_dependencies.pth").write_text(str(deps) + "\n")
    # The console script pip would have made when it installed uvicorn (the ASGI section).
    script = venv / "bin" / "uvicorn"
    script.write_text(f"#!{venv / 'bin' / 'python'}\nfrom uvicorn.main import main\nmain()\n")
    script.chmod(0o755)


def test_the_guide_works_as_written(tmp_path, openai_fake):
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = tmp_path / "bin"  # the guide's python3.11: the interpreter of this test run
    bin_dir.mkdir()
    for name in ("python3.11", "python3"):
        (bin_dir / name).symlink_to(getattr(sys, "_base_executable", sys.executable))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    wsgi_file = home / "var" / "www" / f"{USER}_pythonanywhere_com_wsgi.py"
    # PIP_NO_BUILD_ISOLATION=0, sic: pip reads a "no-" option's 0 as "turn it on".
    env = {"HOME": str(home), "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
           "LANG": "C.UTF-8", "PIP_NO_INDEX": "1", "PIP_NO_BUILD_ISOLATION": "0",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "OPENAI_API_KEY": OPENAI_KEY, "OPENAI_BASE_URL": openai_fake.url + "/v1"}
    replacements = {"https://github.com/YOUR-ORG/flaskllm.git": str(snapshot(tmp_path)),
                    "https://YOURNAME.pythonanywhere.com": base,
                    "/home/YOURNAME": str(home), "/var/www/": f"{home}/var/www/",
                    "YOURNAME": USER}
    token = None
    uwsgi = None
    seen_not_run = set()
    try:
        for kind, text in guide_blocks():
            for old, new in replacements.items():
                text = text.replace(old, new)
            if token:
                text = text.replace("TOKEN=paste-the-token-here", f"TOKEN={token}")
            if kind == "python":  # the WSGI file of step 4: served as PythonAnywhere would
                wsgi_file.parent.mkdir(parents=True, exist_ok=True)
                wsgi_file.write_text(text)
                uwsgi = serve_wsgi_file(wsgi_file, home, port, env, tmp_path)
                wait_for(base + "/api/v1/health", timeout=120)
                continue
            lines = []
            for line in text.splitlines():
                if line.strip() in NOT_RUN:
                    seen_not_run.add(line.strip())
                elif line.startswith("pa website create"):
                    check_asgi_command(line, env, tmp_path)
                else:
                    lines.append(line)
            if not any(line.strip() for line in lines):
                continue
            loaded = _loads(tmp_path)
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", "\n".join(lines)],
                                  cwd=home, env=env, capture_output=True, text=True,
                                  timeout=600)
            assert done.returncode == 0, f"{text}\n---\n{done.stdout}\n{done.stderr}"
            if uwsgi is not None and str(wsgi_file) in text:  # touched: uWSGI reloads the app
                deadline = time.monotonic() + 180
                while _loads(tmp_path) <= loaded:
                    assert time.monotonic() < deadline, "the app did not reload"
                    time.sleep(0.3)
                wait_for(base + "/api/v1/health", timeout=120)
            if "-m venv" in text:
                share_dependencies(home / ".virtualenvs" / "flaskllm", tmp_path)
            if "flaskllm check" in text:
                assert "ok:" in done.stdout, done.stdout
                assert f"instance folder {home / 'flaskllm' / 'instance'}" in done.stdout
            if "tokens create" in text:
                token = done.stdout.strip().splitlines()[-1]
                assert token.startswith("fllm_")
            if "/api/v1/webhook" in text:
                assert '"summary"' in done.stdout and "event: done" in done.stdout
        assert seen_not_run == set(NOT_RUN)
        assert token and uwsgi is not None
        # The token the guide created (the CLI) works against the web app (uWSGI).
        answer = httpx.post(base + "/api/v1/webhook", headers={"X-API-Token": token},
                            json={"prompt": "One database for both.", "type": "summary"},
                            timeout=30)
        assert answer.status_code == 200, answer.text
    finally:
        if uwsgi is not None:
            uwsgi.terminate()
            uwsgi.wait(90)
    log = (tmp_path / "uwsgi.log").read_text(errors="replace")
    assert "Python threads support is disabled" in log
    assert "Traceback" not in log, log
    assert (home / "flaskllm" / "instance" / "flaskllm.db").is_file()


def _loads(tmp: Path) -> int:
    """How often uWSGI has loaded the app so far."""
    log = tmp / "uwsgi.log"
    return log.read_text(errors="replace").count("WSGI app 0 (mountpoint='') ready") if \
        log.is_file() else 0


def serve_wsgi_file(wsgi_file: Path, home: Path, port: int, env: dict, tmp: Path):
    """uWSGI as the Web tab configures it: the virtualenv, the working directory, the WSGI
    file (reloaded when touched), a master and one worker, no threads."""
    log = open(tmp / "uwsgi.log", "wb")
    return subprocess.Popen(
        [_bin("uwsgi"), "--master", "--processes", "1", "--http", f"127.0.0.1:{port}",
         "--virtualenv", str(home / ".virtualenvs" / "flaskllm"),
         "--chdir", str(home / "flaskllm"), "--wsgi-file", str(wsgi_file),
         "--touch-reload", str(wsgi_file), "--need-app", "--die-on-term", "--harakiri", "300"],
        env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT)


def check_asgi_command(line: str, env: dict, tmp: Path) -> None:
    """The ASGI section's site command, with a socket in place of PythonAnywhere's."""
    command = re.search(r"--command '([^']+)'", line).group(1)
    socket_path = tmp / "asgi.sock"
    proc = subprocess.Popen(["bash", "-c", "exec " + command],
                            env={**env, "DOMAIN_SOCKET": str(socket_path)}, cwd=tmp,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        transport = httpx.HTTPTransport(uds=str(socket_path))
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.communicate()[0].decode(errors="replace")
            try:
                with httpx.Client(transport=transport, base_url="http://site") as http:
                    if http.get("/api/v1/health", timeout=2).status_code == 200:
                        break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the ASGI command did not serve"
            time.sleep(0.3)
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.parametrize("kind", ["sh", "python"])
def test_the_guide_has_its_blocks(kind):
    assert any(k == kind for k, _ in guide_blocks())
