"""The contract's linters (spec/lint.mjs, run by `make lint-spec` before the suite): every rule
turned off says why, and the linters do catch what they are there for. Needs spec/node_modules
(`make lint-spec` installs it); skips without it unless FLASKLLM_REQUIRE_SERVICES=1."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import yaml

from flaskllm.app import SPEC_PATH

SPEC_DIR = SPEC_PATH.parent
RULESET = SPEC_DIR / ".spectral.yaml"


def test_every_rule_turned_off_says_why():
    """A rule is off only under a comment: right above it, above the group of `off` lines it
    is in, or above the override (`- files: ...`, `rules:`) it belongs to."""
    off = re.compile(r"\s+[\w:.-]+: off")
    between = re.compile(r"\s+(- files:|files:|rules:|- \"[^\"]+\")")
    lines = RULESET.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if off.fullmatch(line):
            above = number - 1
            while off.fullmatch(lines[above]) or between.fullmatch(lines[above]):
                above -= 1
            assert lines[above].strip().startswith("#"), f".spectral.yaml:{number + 1}: {line}"
    ruleset = yaml.safe_load(RULESET.read_text(encoding="utf-8"))
    assert {"spectral:oas", "@stoplight/spectral-owasp-ruleset"} <= set(ruleset["extends"])
    assert yaml.safe_load((SPEC_DIR / "redocly.yaml").read_text())["extends"] == ["recommended"]


def lint(spec_path) -> subprocess.CompletedProcess:
    if not (SPEC_DIR / "node_modules" / ".bin" / "spectral").exists() or not shutil.which("node"):
        message = "spec/node_modules is not installed (make lint-spec installs it)"
        if os.environ.get("FLASKLLM_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return subprocess.run(["node", str(SPEC_DIR / "lint.mjs"), str(spec_path)],
                          capture_output=True, text=True, timeout=300)


def test_the_linters_fail_an_unbounded_input_and_a_nullable_without_type(tmp_path):
    spec = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    del spec["components"]["schemas"]["Instruction"]["maxLength"]
    usage = spec["components"]["schemas"]["Usage"]["properties"]["cost_usd"]
    del usage["type"]
    broken = tmp_path / "openapi.yaml"
    broken.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    done = lint(broken)
    printed = done.stdout + done.stderr
    assert done.returncode != 0, printed
    assert "flaskllm-request-string-limit" in printed  # Spectral: a string a client sends
    assert "nullable-type-sibling" in printed  # Redocly
