"""The HTML side of FlaskLLM: the /docs pages, rendered with Jinja2 from templates/ (autoescaped)
and, for prose, Markdown rendered by markdown-it-py. Handlers live in flaskllm/operations/docs.py;
what is built from the spec lives in reference.py."""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.responses import HTMLResponse

from flaskllm import __version__


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("flaskllm", "web/templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["markdown"] = markdown
    env.globals["version"] = __version__
    return env


@functools.lru_cache(maxsize=1)
def _markdown() -> "MarkdownIt":
    # Imported on the first page that renders Markdown, not at start-up (31 ms of it).
    from markdown_it import MarkdownIt

    # Raw HTML stays off: descriptions in the spec and the guides are text, never markup to trust.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def markdown(text: str | None) -> Markup:
    return Markup(_markdown().render(text or ""))


def page(template: str, **context) -> HTMLResponse:
    return HTMLResponse(environment().get_template(template).render(**context))
