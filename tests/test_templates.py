"""Prompt templates: the built-in ones, PROMPT_TEMPLATES_DIR, GET /api/v1/templates, names,
variables and the sandbox."""

from __future__ import annotations

import pytest

from fakes import Step, openai_fake, provider_settings  # noqa: F401
from flaskllm import errors
from flaskllm.app import create_app
from flaskllm.llm.processing import names
from flaskllm.settings import SettingsError
from flaskllm.templates import Catalog

WEBHOOK = "/api/v1/webhook"
TEMPLATES = "/api/v1/templates"
REVIEW = """{#-
version: 3
description: Pros and cons of a product review, for an audience.
-#}
{% block system %}
List the pros and cons for {{ audience }}.{% if tone is defined %} Tone: {{ tone }}.{% endif %}
{% endblock %}
{% block user %}
<text>
{{ text }}
</text>
{% endblock %}
"""
OVERRIDE = """{#- version: 9 -#}
{% block system %}House style summary.{% endblock %}
{% block user %}<text>
{{ text }}
</text>{% endblock %}
"""


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "prompts"
    path.mkdir()
    (path / "product-review.j2").write_text(REVIEW)
    (path / "summary.j2").write_text(OVERRIDE)
    (path / "notes.txt").write_text("not a template")
    return path


@pytest.fixture
def api(settings, openai_fake, folder):
    app = create_app(provider_settings(settings, "openai", openai_fake,
                                       prompt_templates_dir=str(folder)))
    with app.test_client() as client:
        client.headers["X-API-Token"] = app.state.tokens.create("tester")
        yield app, client, openai_fake


def system_sent(fake) -> str:
    return fake.last.json["messages"][0]["content"]


def test_templates_lists_every_type_and_nothing_internal(client, auth):
    response = client.get(TEMPLATES, headers=auth)
    assert response.status_code == 200
    listed = {t["name"]: t for t in response.json()["templates"]}
    assert set(listed) == set(names())
    assert all(t["builtin"] and t["version"].startswith("1+") for t in listed.values())


def test_templates_needs_a_token(client):
    response = client.get(TEMPLATES)
    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"


def test_a_folder_adds_and_overrides_templates(api):
    app, client, fake = api
    listed = {t["name"]: t for t in client.get(TEMPLATES).json()["templates"]}
    assert listed["product-review"]["variables"] == ["audience", "tone"]
    assert listed["product-review"]["version"].startswith("3+") and \
        not listed["product-review"]["builtin"]
    assert listed["summary"]["version"].startswith("9+") and not listed["summary"]["builtin"]
    response = client.post(WEBHOOK, json={"prompt": "Great keys.", "type": "summary"})
    assert response.status_code == 200
    assert system_sent(fake) == "House style summary."
    assert response.json()["template_version"] == listed["summary"]["version"]


def test_custom_with_a_named_template_and_variables(api):
    app, client, fake = api
    response = client.post(WEBHOOK, json={
        "prompt": "Great keys, weak battery.", "type": "custom", "template": "product-review",
        "variables": {"audience": "engineers", "tone": "{{ 6 * 7 }}"}})
    assert response.status_code == 200, response.text
    assert system_sent(fake) == "List the pros and cons for engineers. Tone: {{ 6 * 7 }}."
    assert response.json()["template_version"] == app.state.templates.get(
        "product-review").version


def test_a_missing_variable_is_400_naming_the_template(api):
    _, client, fake = api
    response = client.post(WEBHOOK, json={"prompt": "x", "type": "custom",
                                          "template": "product-review"})
    assert response.status_code == 400
    assert "product-review" in response.json()["detail"] and "audience" in \
        response.json()["detail"]
    assert fake.calls == 0


def test_request_variables_cannot_replace_the_text(api):
    _, client, fake = api
    response = client.post(WEBHOOK, json={"prompt": "the real text", "type": "summary",
                                          "variables": {"text": "injected"}})
    assert response.status_code == 200
    assert "the real text" in fake.last.json["messages"][1]["content"]
    assert "injected" not in str(fake.last.json)


def test_an_edit_changes_the_version(folder):
    before = Catalog(str(folder)).get("product-review").version
    (folder / "product-review.j2").write_text(REVIEW.replace("pros and cons", "pros & cons"))
    after = Catalog(str(folder)).get("product-review").version
    assert before != after and before.split("+")[0] == after.split("+")[0] == "3"


@pytest.mark.parametrize("name", ["nope", "missing-one"])
def test_an_unknown_template_is_422(client, auth, name):
    response = client.post(WEBHOOK, json={"prompt": "x", "template": name}, headers=auth)
    assert response.status_code == 422
    assert response.json()["code"] == "TEMPLATE_NOT_FOUND"


@pytest.mark.parametrize("name", ["../summary", "/etc/passwd", "summary.j2", "_repair",
                                  "Summary", "a" * 65, "..%2fsummary"])
def test_template_names_are_validated(client, auth, name):
    response = client.post(WEBHOOK, json={"prompt": "x", "template": name}, headers=auth)
    assert response.status_code == 400


def test_names_never_reach_the_file_system():
    catalog = Catalog()
    for name in ("../summary", "summary/../summary", "_repair", "summary.j2"):
        with pytest.raises(errors.TemplateNotFound):
            catalog.get(name)
    assert catalog.get("_repair", internal=True).name == "_repair"


def test_templates_run_in_the_sandbox(tmp_path):
    (tmp_path / "evil.j2").write_text(
        "{#- version: 1 -#}{% block system %}{{ text.__class__.__mro__ }}{% endblock %}"
        "{% block user %}{{ text }}{% endblock %}")
    catalog = Catalog(str(tmp_path))
    from jinja2.exceptions import SecurityError

    with pytest.raises(SecurityError):
        catalog.render("evil", {"text": "x"})


@pytest.mark.parametrize("source, message", [
    ("{% block system %}{{ unclosed {% endblock %}", "broken"),
    ("{#- version: 1 -#}{% block user %}x{% endblock %}", "blocks"),
])
def test_a_broken_template_stops_start_up(settings, tmp_path, source, message):
    (tmp_path / "bad.j2").write_text(source)
    with pytest.raises(SettingsError, match=f"bad.j2.*{message}"):
        create_app(settings.replace(prompt_templates_dir=str(tmp_path)))


def test_a_missing_templates_folder_stops_start_up(settings, tmp_path):
    with pytest.raises(SettingsError, match="PROMPT_TEMPLATES_DIR"):
        create_app(settings.replace(prompt_templates_dir=str(tmp_path / "nowhere")))
