"""GET /docs…: the documentation pages, HTML rendered from the loaded spec, the examples
generator, errors.py and the guides in docs/ (Excel, OpenAI clients). No token: they describe, they never process."""

from __future__ import annotations

import json
from http import HTTPStatus

from flaskllm import errors as problems, resources, state
from flaskllm.operations import examples as examples_op
from flaskllm.web import page, reference as spec_reference

GUIDES = resources.path("docs")
SCRIPTS = resources.path("office-scripts/excel")  # the paste-ready Office Scripts (npm run gen)


async def overview():
    spec = state.get().spec
    ops = spec_reference.operations(spec)
    return page("overview.html", title="Overview", info=spec.get("info", {}), operations=ops,
                tags=spec.get("tags", []))


async def reference():
    spec = state.get().spec
    return page("reference.html", title="API reference", info=spec.get("info", {}),
                operations=spec_reference.operations(spec), schemas=spec_reference.schemas(spec))


async def examples():
    found = []
    for example in examples_op.build(state.get().spec):
        found.append({**example,
                      "request_json": _pretty(example["request"]),
                      "response_json": _pretty(example["response"])})
    return page("examples.html", title="Examples", examples=found)


def _guide(name: str, title: str) -> str:
    """A guide of docs/ as markdown (a heading and a note when it is not installed)."""
    guide = GUIDES / name
    return guide.read_text(encoding="utf-8") if guide.is_file() else \
        f"# {title}\n\nThe guide (docs/{name}) is not installed with this server."


async def excel():
    text = _guide("excel.md", "FlaskLLM in Excel")
    scripts = [{"name": path.name, "source": path.read_text(encoding="utf-8")}
               for path in sorted(SCRIPTS.glob("*.ts"))] if SCRIPTS.is_dir() else []
    return page("guide.html", title="Excel guide", text=text, scripts=scripts)


async def openai():
    return page("guide.html", title="OpenAI clients",
                text=_guide("openai.md", "FlaskLLM for OpenAI clients"), scripts=[])


async def errors():
    return page("errors.html", title="Problem codes", problems=problem_codes())


def problem_codes() -> list[dict]:
    """Every code a problem can carry: one per APIProblem class, then the codes that connexion's
    and starlette's own errors get from their status (CODES_BY_STATUS)."""
    found: dict[str, dict] = {}
    pending = [problems.APIProblem]
    while pending:
        cls = pending.pop(0)
        pending.extend(cls.__subclasses__())
        if cls.code not in found:
            found[cls.code] = {"code": cls.code, "status": cls.status_code, "title": cls.title,
                               "detail": " ".join((cls.__doc__ or "").split())}
    for status, code in problems.CODES_BY_STATUS.items():
        found.setdefault(code, {"code": code, "status": status, "title": HTTPStatus(status).phrase,
                                "detail": HTTPStatus(status).description + "."})
    return sorted(found.values(), key=lambda p: (p["status"], p["code"]))


def _pretty(value) -> str | None:
    return None if value is None else json.dumps(value, indent=2, ensure_ascii=False)


async def root():
    """GET /: browsers land on the documentation."""
    from starlette.responses import RedirectResponse

    return RedirectResponse("/docs", status_code=308)
