"""Schemathesis over every operation in the spec, in-process, with a token and its default
checks: no 500s, responses that match the spec, problems for bad input."""

from __future__ import annotations

import tempfile

import schemathesis
from hypothesis import HealthCheck, settings as hypothesis_settings

from flaskllm.app import create_app
from flaskllm.settings import Settings

# Schemathesis builds its tests at collection time, so this app is made at import: offline
# provider, a throwaway SQLite file, no rate limit (it sends hundreds of requests).
_DB_DIR = tempfile.mkdtemp(prefix="flaskllm-schemathesis-")
APP = create_app(Settings.from_env(environ={}, env_file=None, environment="test",
                                   database_url=f"sqlite:///{_DB_DIR}/schemathesis.db",
                                   rate_limit_enabled=False))
TOKEN = APP.state.tokens.create("schemathesis")

schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)


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
