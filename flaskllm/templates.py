"""Prompt templates: one Jinja2 file per processing type in ``flaskllm/prompts/``, plus any in
PROMPT_TEMPLATES_DIR (same name: it overrides the built-in one).

A template is ``NAME.j2``, a YAML header in a Jinja comment, and two blocks::

    {#-
    version: 2
    description: One line for GET /api/v1/templates.
    -#}
    {% block system %}Instructions for the model…{% endblock %}
    {% block user %}<text>
    {{ text }}
    </text>{% endblock %}

Templates run in Jinja's immutable sandbox, and the user's text only ever enters as the
value of a variable (``text``, ``instruction`` or one of ``variables``), never as template
source: ``{{ config }}`` in a prompt reaches the model as those very characters. Names are
looked up in the catalog built at start-up, never joined into a path, so a request cannot
reach another file. A name starting with ``_`` (``_repair``) is internal: not listed and not
requestable. Every template is compiled at start-up, so a broken one stops the server then.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import jinja2
import yaml
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from flaskllm import errors
from flaskllm.llm.base import Prompt
from flaskllm.settings import SettingsError

BUILTIN_DIR = Path(__file__).resolve().parent / "prompts"
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
INTERNAL = re.compile(r"_[a-z0-9_-]{1,63}")
HEADER = re.compile(r"\A\s*\{#-?(.*?)-?#\}", re.S)
# What the pipeline puts in every template's context; anything else a template uses is a
# variable the request supplies in `variables`.
CONTEXT = frozenset({"text", "type", "language", "source", "instruction"})
# How templates name the request's `source` ({{ sources.get(source, "a text") }}).
SOURCES = {"email": "an email", "meeting": "meeting notes", "document": "a document",
           "chat": "a chat conversation", "excel": "a spreadsheet cell"}


class _TrueEmpty(str):
    """An empty string that is true in a condition (for ``Template.static_chars``)."""

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True)
class Template:
    name: str
    version: str  # declared version + hash of the source: an edit always changes it
    description: str
    variables: tuple[str, ...]  # what the request may supply in `variables`
    builtin: bool
    # Characters of the rendered prompt besides what the request puts in (text, instruction,
    # variables), at most: what a budget holds for the template without rendering it.
    static_chars: int = 0

    def info(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "description": self.description,
                "variables": list(self.variables), "builtin": self.builtin}


class Catalog:
    """Every template of one app, compiled once."""

    def __init__(self, extra_dir: str | None = None):
        sources: dict[str, str] = {}
        builtin: set[str] = set()
        for folder, is_builtin in ((BUILTIN_DIR, True), (extra_dir, False)):
            if not folder:
                continue
            path = Path(folder)
            if not path.is_dir():
                raise SettingsError(f"PROMPT_TEMPLATES_DIR: {folder} is not a folder")
            for file in sorted(path.glob("*.j2")):
                if NAME.fullmatch(file.stem) or INTERNAL.fullmatch(file.stem):
                    sources[file.stem] = file.read_text(encoding="utf-8")
                    (builtin.add if is_builtin else builtin.discard)(file.stem)
        self.env = ImmutableSandboxedEnvironment(
            loader=jinja2.DictLoader(sources), undefined=jinja2.StrictUndefined,
            autoescape=False, trim_blocks=True, lstrip_blocks=True)
        self.env.globals["sources"] = SOURCES
        self.templates: dict[str, Template] = {}
        for name, source in sources.items():
            self.templates[name] = self._describe(name, source, name in builtin)

    def _describe(self, name: str, source: str, builtin: bool) -> Template:
        where = "built-in" if builtin else "PROMPT_TEMPLATES_DIR"
        try:
            header = HEADER.match(source)
            fields = (yaml.safe_load(header.group(1)) if header else None) or {}
            parsed = self.env.parse(source)
            compiled = self.env.get_template(name)
        except (yaml.YAMLError, jinja2.TemplateError) as exc:
            raise SettingsError(f"{where} template {name}.j2 is broken: {exc}") from exc
        if not isinstance(fields, dict) or not {"system", "user"} <= set(compiled.blocks):
            raise SettingsError(f"{where} template {name}.j2 needs a YAML header and the "
                                f"blocks 'system' and 'user'")
        digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:8]
        variables = sorted(meta.find_undeclared_variables(parsed) - CONTEXT
                           - set(self.env.globals))
        return Template(name, f"{fields.get('version', 0)}+{digest}",
                        str(fields.get("description", "")).strip(), tuple(variables), builtin,
                        self._static_chars(compiled, variables))

    @staticmethod
    def _static_chars(compiled: jinja2.Template, variables: list[str]) -> int:
        """The longest the template renders with every value empty: once with empty values
        that read as true (each ``{% if %}`` taken), once with plain ones (each ``else``)."""
        longest = 0
        for empty in (_TrueEmpty(), ""):
            ctx = compiled.new_context(dict.fromkeys([*CONTEXT, *variables], empty))
            try:
                size = sum(len("".join(compiled.blocks[b](ctx))) for b in ("system", "user"))
            except jinja2.TemplateError:  # a branch needs a real value: the other one counts
                continue
            longest = max(longest, size)
        return longest

    def list(self) -> list[Template]:
        return [t for name, t in sorted(self.templates.items()) if NAME.fullmatch(name)]

    def get(self, name: str, *, internal: bool = False) -> Template:
        template = self.templates.get(name) if (
            NAME.fullmatch(name) or (internal and INTERNAL.fullmatch(name))) else None
        if template is None:
            known = ", ".join(t.name for t in self.list())
            raise errors.TemplateNotFound(f"No prompt template is named {name[:64]!r}; "
                                          f"known: {known}.")
        return template

    def render(self, name: str, context: Mapping[str, Any],
               variables: Mapping[str, str] | None = None, *, internal: bool = False) -> Prompt:
        """The template's system and user messages for this context. The request's
        ``variables`` come first so that the pipeline's context always wins."""
        template = self.get(name, internal=internal)
        compiled = self.env.get_template(name)
        ctx = compiled.new_context({**(variables or {}), **context})
        try:
            system = "".join(compiled.blocks["system"](ctx)).strip()
            user = "".join(compiled.blocks["user"](ctx)).strip("\n")
        except jinja2.UndefinedError as exc:
            listed = ", ".join(template.variables) or "none"
            raise errors.BadRequest(
                f"The template {name!r} needs a variable the request did not supply "
                f"({exc.message}); its variables: {listed}.") from exc
        return Prompt(system=system, user=user, version=template.version)
