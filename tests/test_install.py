"""Where FlaskLLM keeps its files, however it was installed: INSTANCE_PATH (beside the `.env`
that was read, else the working directory), reported by `flaskllm check`; and a wheel that
works on its own (it carries the spec and the guides: flaskllm/resources.py)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from flaskllm.settings import Settings
from servers import clean_env
from test_deploy_guide import share_dependencies
from test_wsgi import ROOT


def test_instance_path_is_beside_the_env_file_read(tmp_path, monkeypatch):
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    (project / ".env").write_text("LLM_PROVIDER=offline\n")
    monkeypatch.chdir(elsewhere)
    beside = Settings.from_env(environ={}, env_file=project / ".env")
    assert beside.instance == project / "instance"
    assert beside.database_url == f"sqlite:///{project / 'instance' / 'flaskllm.db'}"
    assert Settings.from_env(environ={}, env_file=None).instance == elsewhere / "instance"
    relative = Settings.from_env(environ={"INSTANCE_PATH": "data"}, env_file=project / ".env")
    assert relative.instance == project / "data"
    absolute = Settings.from_env(environ={"INSTANCE_PATH": str(tmp_path / "abs")},
                                 env_file=project / ".env")
    assert absolute.instance == tmp_path / "abs"


def test_a_wheel_works_on_its_own(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "--no-index", "-w", str(tmp_path / "dist"),
                            str(ROOT)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp_path / "dist").glob("flaskllm-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for bundled in ("flaskllm/_bundled/spec/openapi.yaml", "flaskllm/_bundled/docs/excel.md"):
        assert bundled in names
    assert not any(name.startswith(("spec/", "tests/", "instance/")) for name in names)

    venv = tmp_path / "venv"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv",
                    str(venv)], check=True, timeout=300)
    share_dependencies(venv, tmp_path)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=300)
    site = next(venv.glob("lib/python3*/site-packages"))
    assert (site / "flaskllm" / "_bundled" / "spec" / "openapi.yaml").is_file()
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text("ENVIRONMENT=development\n")
    env = {k: v for k, v in clean_env().items() if k != "PYTHONPATH"}  # the wheel, not ROOT
    flaskllm = str(venv / "bin" / "flaskllm")
    check = subprocess.run([flaskllm, "check"], cwd=project, env=env, capture_output=True,
                           text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"instance folder {project / 'instance'}" in check.stdout
    created = subprocess.run([flaskllm, "tokens", "create", "wheel"], cwd=project, env=env,
                             capture_output=True, text=True, timeout=300)
    assert created.returncode == 0, created.stderr
    assert (project / "instance" / "flaskllm.db").is_file()
    assert not (site / "instance").exists()
