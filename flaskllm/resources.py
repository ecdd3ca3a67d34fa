"""Files FlaskLLM reads that live outside the package in the source tree: the spec, the guides,
the Office Scripts. A wheel carries copies of them in ``flaskllm/_bundled/`` (setup.py copies
them at build time), so an installed package works on its own; a source checkout (or an
editable install) reads the originals, which stay the single source.

    resources.path("spec/openapi.yaml")   the source tree's file if there, else the wheel's copy
    resources.yaml_file(path)              its YAML, parsed once per process and change
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent
SOURCE_TREE = PACKAGE.parent
BUNDLED = PACKAGE / "_bundled"
# What setup.py copies into the wheel, as globs relative to the source tree.
BUNDLE = ("spec/openapi.yaml", "docs/*.md", "office-scripts/excel/*.ts")


def path(relative: str) -> Path:
    source = SOURCE_TREE / relative
    if source.exists() or not (BUNDLED / relative).exists():
        return source
    return BUNDLED / relative


def yaml_file(file: Path) -> Any:
    """A YAML file's content (a fresh copy: callers may change it), parsed by libyaml's C
    parser when PyYAML has it: the spec took 0.42 s with the pure-Python parser here, 0.04 s
    with the C one, on every start-up and twice (the app and the processing types)."""
    return copy.deepcopy(_parsed(Path(file), Path(file).stat().st_mtime))


@functools.lru_cache(maxsize=8)
def _parsed(file: Path, mtime: float) -> Any:
    import yaml

    with open(file, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
