"""Files FlaskLLM reads that live outside the package in the source tree: the spec, the guides,
the Office Scripts. A wheel carries copies of them in ``flaskllm/_bundled/`` (setup.py copies
them at build time), so an installed package works on its own; a source checkout (or an
editable install) reads the originals, which stay the single source.

    resources.path("spec/openapi.yaml")   the source tree's file if there, else the wheel's copy
"""

from __future__ import annotations

from pathlib import Path

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
