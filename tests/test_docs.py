"""The /docs pages: served without a token, HTML, and built from the spec, the examples
generator, errors.py and docs/excel.md, so a change to any of them shows up here."""

from __future__ import annotations

import html

from markupsafe import escape
import re

import pytest

from flaskllm import errors
from flaskllm.operations import examples
from flaskllm.operations.docs import problem_codes

PAGES = ["/docs", "/docs/reference", "/docs/examples", "/docs/excel", "/docs/openai",
         "/docs/errors"]


@pytest.mark.parametrize("path", PAGES)
def test_page_is_html_without_a_token(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>" in response.text
    for link in PAGES[1:]:
        assert f'href="{link}"' in response.text  # every page links to every other one


def test_unknown_query_parameter_is_a_problem(client):
    response = client.get("/docs/reference", params={"x": "1"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_reference_lists_every_operation_and_schema(app, client):
    text = client.get("/docs/reference").text
    spec = app.state.spec
    for path, item in spec["paths"].items():
        for method, op in item.items():
            anchor = op["operationId"].replace(".", "-")
            assert f'id="{anchor}"' in text, op["operationId"]
            assert f"<code>{html.escape(path)}</code>" in text
            for status in op["responses"]:
                assert f'id="{anchor}-{status}"' in text, (op["operationId"], status)
            for param in op.get("parameters", []):
                name = param.get("name") or param["$ref"].rsplit("/", 1)[-1]
                assert "Idempotency-Key" in text if name == "IdempotencyKey" else name in text
    for name, schema in spec["components"]["schemas"].items():
        assert f'id="schema-{name}"' in text, name
        for prop in schema.get("properties", {}):
            assert f"<code>{prop}</code>" in text, (name, prop)
    # The served spec's limits, not the file's: the page renders what this server enforces.
    assert "maxLength 4000" in text


def test_reference_follows_the_served_limits(tmp_path):
    from flaskllm.app import create_app
    from flaskllm.settings import Settings

    app = create_app(Settings.from_env(environ={}, env_file=None, environment="test",
                                       database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                                       max_prompt_length=1234))
    with app.test_client() as client:
        assert "maxLength 1234" in client.get("/docs/reference").text


def test_examples_page_shows_every_generated_example(app, client):
    text = client.get("/docs/examples").text
    found = list(examples.build(app.state.spec))
    assert found
    for example in found:
        assert str(escape(example["curl"])) in text
        assert str(escape(example["summary"])) in text


def test_errors_page_has_an_anchor_for_every_problem_type(client):
    text = client.get("/docs/errors").text
    codes = {p["code"] for p in problem_codes()}
    classes = set()
    pending = [errors.APIProblem]
    while pending:
        cls = pending.pop()
        classes.add(cls.code)
        pending.extend(cls.__subclasses__())
    assert classes <= codes
    assert set(errors.CODES_BY_STATUS.values()) <= codes
    for code in codes:
        assert f'<tr id="{code}">' in text, code


def test_problem_type_links_resolve_to_an_entry(client):
    problem = client.post("/api/v1/webhook", json={"prompt": "x"}).json()  # no token: 401
    page, anchor = problem["type"].split("#")
    assert page == "/docs/errors"
    assert f'<tr id="{anchor}">' in client.get(page).text


def test_excel_guide_is_rendered_markdown_with_the_scripts(client):
    text = client.get("/docs/excel").text
    assert re.search(r"<h1>.*Excel.*</h1>", text)
    assert "<h2" in text and "<ol>" in text  # headings and numbered steps, rendered
    assert "FLASKLLM.SENTIMENT" in text
    assert 'id="script-ProcessSelection.ts"' in text
    assert "async function main(workbook: ExcelScript.Workbook)" in text
    assert "&lt;script" not in text.split("<main>")[0]  # the guide's HTML stays escaped text


def test_openai_guide_gives_the_base_url_and_the_sdk_examples(client):
    text = client.get("/docs/openai").text
    assert re.search(r"<h1>.*OpenAI.*</h1>", text)
    assert "http://HOST:8000/v1" in text and "Authorization: Bearer" in text
    assert "from openai import OpenAI" in text  # Python
    assert "new OpenAI({ baseURL:" in text  # JavaScript
    assert "Cellm" in text and "MODEL_ALIASES" in text


def test_markdown_keeps_raw_html_out():
    from flaskllm.web import markdown

    rendered = str(markdown("Hello <script>alert(1)</script> **bold**"))
    assert "<script>" not in rendered
    assert "<strong>bold</strong>" in rendered
