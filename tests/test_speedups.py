"""flaskllm/speedups.py: connexion's per-request rebuilding done once — every patch applies to
the installed connexion, and validation answers exactly as before."""

from __future__ import annotations

from flaskllm import speedups

WEBHOOK = "/api/v1/webhook"


def test_every_patch_applies_to_the_installed_connexion(app):
    # A patch that no longer matches connexion is skipped (the app still works, slower):
    # this test is where an upgrade of connexion that needs a look shows up.
    assert speedups.applied() == ["_decorate_once", "_inspect_once", "_body_definition_once",
                                  "validator_map"]


def test_validation_is_unchanged_and_per_operation(client, auth):
    ok = client.post(WEBHOOK, json={"prompt": "A fine day for a test.", "type": "sentiment"},
                     headers=auth)
    assert ok.status_code == 200
    for _ in range(3):  # the same answer from the compiled validator, every time
        bad = client.post(WEBHOOK, json={"prompt": "x", "type": "poetry"}, headers=auth)
        assert bad.status_code == 400
        assert "poetry" in bad.json()["detail"]
    # Another operation has its own schema: no validator leaks from /webhook to /batch.
    batch = client.post(WEBHOOK + "/batch", json={"texts": ["a"], "prompt": "x"}, headers=auth)
    assert batch.status_code == 400
    assert client.post(WEBHOOK + "/batch", json={"texts": ["Fine."], "type": "sentiment"},
                       headers=auth).status_code == 200


def test_memos_stay_bounded_by_what_clients_send(client, auth):
    for n in range(100):  # content types are the client's choice: none of them is kept
        response = client.post(WEBHOOK, content=b"{}", headers={
            **auth, "Content-Type": f"application/x-made-up-{n}+json"})
        assert response.status_code in (400, 415)
    body_map = speedups.validator_map()["body"]
    for n in range(100):
        body_map.get(f"application/x-made-up-{n}+json")
    assert len(body_map._memo) <= 64


def test_concurrent_requests_to_one_operation_each_see_their_own_body_and_token(app):
    """The patched decorators are built once per operation and shared by every request: two
    tokens sending different bodies at once must each reach the handler as themselves."""
    import asyncio

    import httpx

    tokens = {name: app.state.tokens.create(name) for name in ("alice", "bob")}
    sent = [(name, f"{name.title()} wrote note number {i} about the quarterly plan.")
            for i in range(20) for name in tokens]

    async def burst():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(*(http.post(
                WEBHOOK, json={"prompt": text, "type": "summary"},
                headers={"X-API-Token": tokens[name], "Cache-Control": "no-cache"})
                for name, text in sent))

    responses = asyncio.run(burst())
    assert [r.status_code for r in responses] == [200] * len(sent)
    for (name, text), response in zip(sent, responses):
        assert response.json()["summary"] == text  # its own body
    # Its own token: each token's rate-limit window counted exactly its own 20 requests.
    for name in tokens:
        left = sorted(int(r.headers["x-ratelimit-remaining"])
                      for (who, _), r in zip(sent, responses) if who == name)
        limit = int(responses[0].headers["x-ratelimit-limit"])
        assert left == list(range(limit - 20, limit))
