"""The typed request context (flaskllm/context.py): one per request, shared by the tasks the
request starts, written through methods, read by the access line and the response headers."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal

from flaskllm import context
from flaskllm.context import RequestContext


def test_outside_a_request_writes_go_nowhere():
    async def main():
        context.current().refused("RATE_LIMITED")
        context.current().set_header("X-RateLimit-Limit", "5")
        return context.current()

    detached = asyncio.run(main())
    assert detached.code is None and detached.response_headers == {}
    assert detached.request_id == "-"


def test_tasks_of_one_request_share_its_context():
    async def item(name: str) -> None:
        context.current().set_header(f"X-{name}", name)

    async def main():
        ctx = context.begin("rid-7")
        await asyncio.gather(item("a"), item("b"))
        return ctx, context.current()

    ctx, seen = asyncio.run(main())
    assert seen is ctx and ctx.request_id == "rid-7"
    assert ctx.response_headers == {"X-a": "a", "X-b": "b"}


def test_requests_do_not_share_a_context():
    async def request(rid: str) -> RequestContext:
        ctx = context.begin(rid)
        await asyncio.sleep(0)
        context.current().authenticated(f"token-of-{rid}")
        return ctx

    async def main():
        return await asyncio.gather(request("one"), request("two"))

    one, two = asyncio.run(main())
    assert (one.token, two.token) == ("token-of-one", "token-of-two")


def test_used_records_one_item_in_the_access_lines_units():
    ctx = RequestContext("r")
    ctx.used(type="summary", provider="openai", model="gpt-4.1-mini", cached=True,
             input_tokens=None, output_tokens=None, cost_usd=Decimal("0.001761"),
             upstream_seconds=0.01234, status=200)
    assert (ctx.cache, ctx.cost_usd, ctx.upstream_ms, ctx.outcome) == ("HIT", 0.001761, 12.3, 200)
    assert ctx.input_tokens is None and ctx.code is None  # unknown stays unknown
    ctx.refused("PROVIDER_TIMEOUT")
    ctx.used(type="summary", provider="openai", model="m", cached=False, input_tokens=3,
             output_tokens=1, cost_usd=None, upstream_seconds=None, status=504)
    assert ctx.code == "PROVIDER_TIMEOUT" and ctx.cost_usd is None and ctx.cache == "MISS"


def test_the_access_line_reads_the_context(client, token, caplog):
    caplog.set_level(logging.INFO, logger="flaskllm.access")
    response = client.post("/api/v1/webhook", headers={"X-API-Token": token,
                                                       "X-Request-ID": "ctx-line-1"},
                           json={"prompt": "Budgets are due on Friday.", "type": "keywords"})
    assert response.status_code == 200 and response.headers["x-request-id"] == "ctx-line-1"
    assert "X-RateLimit-Remaining" in response.headers  # written through the context
    (record,) = [r for r in caplog.records if r.name == "flaskllm.access"]
    line = record.fields
    assert line["request_id"] == "ctx-line-1" and line["operation"] == "webhook.create"
    assert line["token"] == "tester" and token not in json.dumps(line)
    assert (line["type"], line["provider"], line["cache"]) == ("keywords", "offline", "MISS")
