"""ARCHITECTURE.md stays the map of the code: every module under flaskllm/ is named in it,
nothing it names is gone, its layers are the ones .importlinter enforces, and the README
links to it (and to nothing outside the repository)."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAP = (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")


def modules() -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "flaskllm").rglob("*.py"))


def test_every_module_is_named():
    named = set(re.findall(r"`(flaskllm/[\w/]+\.py)`", MAP))
    missing = [m for m in modules() if m not in named]
    assert not missing, f"add a row to ARCHITECTURE.md's code map for: {', '.join(missing)}"


def test_every_named_module_exists():
    named = set(re.findall(r"`(flaskllm/[\w/]+\.py)`", MAP))
    gone = sorted(named - set(modules()))
    assert not gone, f"ARCHITECTURE.md names modules that are gone: {', '.join(gone)}"


def _layer_modules(lines: list[str]) -> list[set[str]]:
    layers = []
    for line in lines:
        names = [n.strip(" ()") for n in re.split(r"[|:]", line) if n.strip()]
        layers.append({n if n.startswith("flaskllm.") else f"flaskllm.{n}" for n in names})
    return layers


def test_the_layers_described_are_the_layers_enforced():
    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    enforced = [line for line in config["importlinter:contract:layers"]["layers"].splitlines()
                if line.strip()]
    block = MAP.split("## Layers", 1)[1].split("```", 2)[1]
    described = [re.split(r"\s{2,}", line.strip())[0] for line in block.splitlines()
                 if line.strip()]
    assert _layer_modules(described) == _layer_modules(enforced)


def test_the_readme_links_the_map_and_nothing_outside_the_repository():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert "ARCHITECTURE.md" in links
    for link in links:
        if re.match(r"[a-z]+:", link) or link.startswith("#"):
            continue  # a URL of a page on the web, or an anchor in the README
        target = (ROOT / link.split("#")[0]).resolve()
        assert target.is_relative_to(ROOT) and target.exists(), link


def lint_imports(package_parent: Path, contract: str) -> subprocess.CompletedProcess:
    """lint-imports with one of this repository's contracts, on the flaskllm package under a
    folder."""
    env = {**os.environ, "PYTHONPATH": str(package_parent)}
    return subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-logo",
                           "--no-cache", "--contract", contract, str(ROOT / ".importlinter")],
                          cwd=package_parent, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("module, line, contract", [
    ("ratelimit.py", "from flaskllm import state", "layers"),  # a part reaching up
    ("ratelimit.py", "from flaskllm import state", "acyclic"),  # … closes state's old circle
    ("context.py", "from flaskllm import settings", "layers"),  # a leaf stays a leaf
    ("pipeline.py", "import openai", "sdk"),
])
def test_the_contracts_catch_a_wrong_import(tmp_path, module, line, contract):
    assert lint_imports(ROOT, contract).returncode == 0  # kept as the code is
    shutil.copytree(ROOT / "flaskllm", tmp_path / "flaskllm",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "flaskllm" / module, "a", encoding="utf-8") as fh:
        fh.write(f"\n{line}  # the wrong import under test\n")
    found = lint_imports(tmp_path, contract)
    assert found.returncode == 1, found.stdout + found.stderr
    assert "BROKEN" in found.stdout
