"""Schemathesis over every operation in the spec, in-process, with a token and its default
checks: no 500s, responses that match the spec, problems for bad input."""

from __future__ import annotations

import tempfile

import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings

from flaskllm.app import create_app
from flaskllm.settings import Settings
from spec_tools import walk

# Schemathesis builds its tests at collection time, so this app is made at import: offline
# provider, a throwaway SQLite file, no rate limit (it sends hundreds of requests).
_DB_DIR = tempfile.mkdtemp(prefix="flaskllm-schemathesis-")
APP = create_app(Settings.from_env(environ={}, env_file=None, environment="test",
                                   database_url=f"sqlite:///{_DB_DIR}/schemathesis.db",
                                   rate_limit_enabled=False))
# An admin token: the admin operations (tokens, audit, every token's usage) are fuzzed in
# depth, not only refused; their 403 for other tokens is tests/test_admin_tokens.py's.
TOKEN = APP.state.tokens.create("schemathesis", admin=True)



def events_as_items(document: dict) -> dict:
    """The document with each event stream described event by event, as schemathesis reads an
    Open API 3.0 stream's `schema` (3.2's `itemSchema`): an event is `{event, data}`, `data`
    being JSON text of the schema the stream's `x-events` names for that event. The served
    document keeps the stream a `string` (what clients receive) with `x-events` beside it."""
    for _, node in walk(document):
        stream = node.get("text/event-stream") if isinstance(node, dict) else None
        if isinstance(stream, dict) and "x-events" in stream:
            stream["schema"] = {"oneOf": [
                {"type": "object", "required": ["event", "data"],
                 "properties": {"event": {"type": "string", "enum": [name]},
                                "data": {"type": "string", "contentMediaType": "application/json",
                                         "contentSchema": payload}}}
                for name, payload in stream["x-events"].items()]}
    return document


with APP.test_client() as _client:
    SERVED = _client.get("/api/v1/openapi.json").json()
schema = schemathesis.openapi.from_dict(events_as_items(SERVED))
schema.app, schema.location = APP, "/api/v1/openapi.json"  # what from_asgi sets


@schema.auth()
class Token:
    """The token as schemathesis' own auth, not a header added to each call: it then knows the
    token is auth, and does not report a request whose only flaw was a missing X-API-Token
    (that the call then added) as invalid data the API accepted."""

    def get(self, case, context):
        return TOKEN

    def set(self, case, data, context):
        # The OpenAI-compatible /v1 operations take the same token as a bearer token only.
        header = ("Authorization", f"Bearer {data}") if case.path.startswith("/v1/") \
            else ("X-API-Token", data)
        case.headers = {**(case.headers or {}), header[0]: header[1]}


@schema.parametrize()
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_spec(case):
    case.call_and_validate()


# The stateful phase: sequences of calls that follow the spec's OpenAPI `links` (a webhook
# answer to the same request streamed and to today's usage, a usage report to the admin report
# over the same range and back), each response checked as above.
# Its own app, database and token: the fuzzing above drives the admin operations (PATCH and
# DELETE of tokens, with the spec's example names), so state it leaves must not steer this one.
_STATEFUL_DIR = tempfile.mkdtemp(prefix="flaskllm-stateful-")
STATEFUL_APP = create_app(Settings.from_env(
    environ={}, env_file=None, environment="test", rate_limit_enabled=False,
    database_url=f"sqlite:///{_STATEFUL_DIR}/stateful.db"))
STATEFUL_TOKEN = STATEFUL_APP.state.tokens.create("stateful", admin=True)
stateful = schemathesis.openapi.from_dict(events_as_items(SERVED))
stateful.app, stateful.location = STATEFUL_APP, "/api/v1/openapi.json"


@stateful.auth()
class StatefulToken(Token):
    def get(self, case, context):
        return STATEFUL_TOKEN


Workflow = stateful.as_state_machine()
Workflow.TestCase.settings = hypothesis_settings(
    max_examples=15, stateful_step_count=4, deadline=None,
    suppress_health_check=list(HealthCheck))
TestStatefulWorkflow = Workflow.TestCase


def test_the_spec_has_links_for_the_stateful_phase():
    """Without links the state machine has no transitions and the phase tests nothing."""
    links = [name for path in schema.raw_schema["paths"].values() for op in path.values()
             if isinstance(op, dict)
             for response in op.get("responses", {}).values()
             for name in response.get("links", {})]
    assert len(links) >= 4, links
